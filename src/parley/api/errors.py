"""One JSON error shape for every failure over HTTP.

    {"error": {"code": "email_taken", "message": "…", "fields": [...], "request_id": "…"}}

`code` is stable (see `parley.errors`); `fields` appears on validation errors and names each
offending field with a dotted path; nothing ever carries a stack trace.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Route

from parley.errors import (
    MalformedRequest,
    NotSupported,
    ParleyError,
    Unauthenticated,
    ValidationFailed,
)

log = structlog.get_logger(__name__)

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def error_response(
    request: Request, status: int, code: str, message: str, **extra: Any
) -> JSONResponse:
    body: dict[str, Any] = {"code": code, "message": message, **extra}
    _remember(request, code)
    request_id = getattr(request.state, "request_id", None)
    if request_id:
        body["request_id"] = request_id
    headers: dict[str, str] = {}
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    retry_after = (extra.get("details") or {}).get("retry_after")
    if status in (429, 503) and retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    return JSONResponse({"error": body}, status_code=status, headers=headers or None)


def _remember(request: Request, code: str) -> None:
    """Into the instance's recent errors (the admin dashboard), by route template."""
    runtime = getattr(request.app.state, "runtime", None)
    if runtime is None:
        return
    route = request.scope.get("route")
    path = getattr(route, "path", None) or "(no route)"
    runtime.recent_errors.record(code, f"rest {request.method} {path}")


def _field_path(location: tuple[Any, ...]) -> str:
    parts = [str(p) for p in location if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or str(location[0] if location else "body")


async def _on_parley_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ParleyError)
    if exc.http_status >= 500 and not isinstance(exc, NotSupported):  # 501: by design
        log.error("request.failed", code=exc.code, error=exc.message)
    extra = {"details": exc.details} if exc.details else {}
    return error_response(request, exc.http_status, exc.code, exc.message, **extra)


async def _on_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors):
        malformed = MalformedRequest()
        return error_response(request, malformed.http_status, malformed.code, malformed.message)
    fields = [
        {"field": _field_path(tuple(e.get("loc", ()))), "message": e.get("msg", "invalid")}
        for e in errors
    ]
    names = ", ".join(dict.fromkeys(f["field"] for f in fields))
    failed = ValidationFailed(f"Invalid or missing: {names}.")
    return error_response(request, failed.http_status, failed.code, failed.message, fields=fields)


async def _on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    code = _HTTP_CODES.get(status, "http_error")
    message = exc.detail if isinstance(exc.detail, str) else HTTPStatus(status).phrase
    if status == 401:
        message = Unauthenticated.default_message
    response = error_response(request, status, code, message)
    if status == 405:
        response.headers["Allow"] = ", ".join(allowed_methods(request))
    return response


def allowed_methods(request: Request) -> list[str]:
    """Every method some route takes at this path (Starlette names only the first route's)."""
    methods: set[str] = set()
    for context in iter_route_contexts(request.app.router.routes):
        route: Any = context
        if not isinstance(context.original_route, Route) or not route.methods:
            continue
        if route.path_regex.match(request.scope["path"]):
            methods |= route.methods
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("request.crashed", error_type=type(exc).__name__)
    internal = ParleyError()
    return error_response(request, internal.http_status, internal.code, internal.message)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ParleyError, _on_parley_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(Exception, _on_unexpected)

"""The OpenAPI document as the server really answers: Bearer sign-in and the error shape.

FastAPI documents every route's 422 as its own `{detail}` and nothing else. Here each
route's failures are read from what it depends on, so a new route is documented right
without a hand list:

- signed in (`get_principal` among its dependencies) → the `bearer` scheme, 401, and 403
  (a disabled account; a role, or membership, the route checks);
- path parameters → 404 (and 422 when one does not parse);
- a request body → 400 (malformed JSON), 413 (over MAX_REQUEST_BODY_BYTES), 422;
- query parameters → 422;
- the client's address (`Client`: the sign-in limits key on it) → 429;
- the runtime (every route that reaches the database) → 503 (`database_busy`);
- what only the route's service knows (409 `room_exists`, 429 `send_rate_limited`, …) the
  route states with `responses=errors(409, 429)`.

Every such answer is the envelope of README "Errors" (`#/components/schemas/Error`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute, iter_route_contexts

from parley.api.deps import get_client_info, get_principal, get_runtime

ERROR_REF = {"$ref": "#/components/schemas/Error"}
BEARER = "bearer"
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "title": "Error",
    "description": "Every failure's one shape; branch on `code` (README, Errors).",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "description": "Stable: what to branch on."},
                "message": {"type": "string", "description": "For people; may change."},
                "details": {"type": "object", "description": "The code's own facts."},
                "fields": {
                    "type": "array",
                    "description": "On `validation_error`: each offending field.",
                    "items": {
                        "type": "object",
                        "required": ["field", "message"],
                        "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
                    },
                },
                "request_id": {"type": "string", "description": "This request's X-Request-ID."},
            },
        }
    },
}

STATUSES: dict[int, tuple[str, str, dict[str, Any]]] = {
    400: ("Malformed JSON.", "malformed_request", {}),
    401: (
        "No valid credentials: `unauthenticated`, `invalid_token`, `token_expired`, "
        "`session_revoked`, `invalid_credentials`, `refresh_token_reused`.",
        "unauthenticated",
        {},
    ),
    403: (
        "Not allowed: `forbidden`, `role_required`, `account_disabled`.",
        "forbidden",
        {},
    ),
    404: ("Nothing there, or nothing you may see: `not_found`.", "not_found", {}),
    409: ("A conflict: `conflict`, `email_taken`, `room_exists`, …", "conflict", {}),
    413: (
        "Too large: `payload_too_large`, `message_too_large`.",
        "payload_too_large",
        {},
    ),
    422: (
        "Invalid input: `validation_error`, with `fields`.",
        "validation_error",
        {"fields": [{"field": "password", "message": "Field required"}]},
    ),
    429: (
        "Over a limit (README, Limits and abuse); `details.retry_after` in seconds.",
        "rate_limited",
        {"details": {"retry_after": 12}},
    ),
    503: (
        "A service is busy or down: `database_busy` (retry at once), `service_unavailable`.",
        "database_busy",
        {},
    ),
}
HEADERS: dict[int, dict[str, Any]] = {
    401: {"WWW-Authenticate": {"schema": {"type": "string"}, "description": "`Bearer`."}},
    429: {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}},
    503: {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}},
}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """A route's failures that its dependencies do not show, for `responses=`."""
    return {status: {"description": STATUSES[status][0]} for status in statuses}


def _error_response(status: int) -> dict[str, Any]:
    description, code, extra = STATUSES[status]
    example = {"error": {"code": code, "message": description.split(":")[0], **extra}}
    answer: dict[str, Any] = {
        "description": description,
        "content": {"application/json": {"schema": ERROR_REF, "example": example}},
    }
    if status in HEADERS:
        answer["headers"] = HEADERS[status]
    return answer


def _dependants(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for child in dependant.dependencies:
        yield from _dependants(child)


def _calls(route: Any) -> set[Callable[..., Any]]:
    return {d.call for d in _dependants(route.dependant) if d.call is not None}


def _statuses(route: Any) -> tuple[set[int], bool]:
    """The error statuses a route can answer, and whether it needs the bearer token."""
    calls = _calls(route)
    every = list(_dependants(route.dependant))
    signed_in = get_principal in calls
    found: set[int] = set()
    if signed_in:
        found |= {401, 403}
    if any(d.path_params for d in every):
        found |= {404, 422}
    if route.body_field is not None:
        found |= {400, 413, 422}
    elif (route.methods or set()) & BODY_METHODS:
        found.add(413)
    if any(d.query_params or d.header_params for d in every):
        found.add(422)
    if get_client_info in calls:
        found.add(429)
    if get_runtime in calls:
        found.add(503)
    return found, signed_in


def describe(schema: dict[str, Any], routes: list[Any]) -> None:
    """Add the security scheme and every route's error answers to FastAPI's document."""
    components = schema.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    for fastapi_own in ("HTTPValidationError", "ValidationError"):
        schemas.pop(fastapi_own, None)
    schemas["Error"] = ERROR_SCHEMA
    components["securitySchemes"] = {
        BEARER: {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "An access token from `POST /api/v1/auth/login` (or `/refresh`).",
        },
        "apiKey": {
            "type": "apiKey",
            "in": "header",
            "name": "X-API-Key",
            "description": "API_KEY: the broadcast API's trusted callers.",
        },
    }
    for context in iter_route_contexts(routes):
        # The route as the app serves it: its full path, with its router's dependencies.
        route: Any = context
        if not isinstance(context.original_route, APIRoute) or not route.include_in_schema:
            continue
        statuses, signed_in = _statuses(route)
        for method in route.methods or ():
            operation = schema["paths"].get(route.path_format, {}).get(method.lower())
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            declared = {int(s) for s in responses if s.isdigit() and int(s) >= 400}
            for status in sorted(statuses | declared):
                if status in STATUSES:
                    responses[str(status)] = _error_response(status)
            if signed_in:
                operation["security"] = [{BEARER: []}]


TAGS = [
    {"name": "auth", "description": "Accounts, tokens and device sessions."},
    {"name": "phone sign-in", "description": "One-time codes by SMS (the GOSOCKET seed)."},
    {"name": "users", "description": "Profiles and presence."},
    {"name": "friends and blocks", "description": "Friend requests, friends, blocks."},
    {"name": "rooms", "description": "Open and private rooms, the public directory."},
    {"name": "conversations", "description": "Direct, group and support chats; messages."},
    {"name": "notifications", "description": "Mutes and push tokens."},
    {"name": "search", "description": "Full-text message search."},
    {"name": "uploads", "description": "Files: multipart, presigned, downloads."},
    {"name": "broadcast", "description": "Server-sent messages (API key or admin)."},
    {"name": "operations", "description": "Health and version."},
]


def install_openapi(app: FastAPI) -> None:
    """`app.openapi()` (and so `/openapi.json`) with the errors and security described."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                description=(
                    "REST under `/api/v1`. Send `Authorization: Bearer <access token>` "
                    "(Swagger UI: Authorize). Every failure is `{error: {code, message, ...}}`. "
                    "The socket protocols: `/asyncapi.json` (and the page `/asyncapi`)."
                ),
                routes=app.routes,
                tags=TAGS,
            )
            describe(schema, app.routes)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

"""ASGI middleware: request ids, access log and metrics; the request body size limit.

Plain ASGI rather than Starlette's BaseHTTPMiddleware, which would buffer and copy every
request through an extra task.
"""

from __future__ import annotations

import time

import orjson
import structlog
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from parley.api.metrics import Metrics
from parley.errors import PayloadTooLarge
from parley.logs import REQUEST_ID_HEADER, request_id_of

log = structlog.get_logger("parley.access")


class ObservabilityMiddleware:
    """Gives every HTTP request an id (the caller's `X-Request-ID` when it is sane), binds it to
    the log context, echoes it in the response, and records one access line and the metrics."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (REQUEST_ID_HEADER, request_id.encode())]
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await self.app(scope, receive, send_with_id)
            finally:
                elapsed = time.perf_counter() - started
                template = route_label(scope)
                self.metrics.observe_request(scope["method"], template, status, elapsed)
                log.info(
                    "http.request",
                    method=scope["method"],
                    path=scope["path"],
                    route=template,
                    status=status,
                    duration_ms=round(elapsed * 1000, 2),
                )


OWN_LABELS = frozenset(
    {
        # Starlette's own routes (the docs FastAPI adds), which leave no route in the scope
        "/docs",
        "/docs/oauth2-redirect",
        "/redoc",
        "/openapi.json",
        "/swagger",
        # the socket endpoints, asked over plain HTTP (no upgrade)
        "/ws",
        "/ws/gameplay",
        "/api/ws",
        "/api/ws/gameplay",
    }
)
SOCKETIO_LABEL = "/socket.io/"
UNMATCHED = "<unmatched>"


def route_label(scope: Scope) -> str:
    """The metrics' and access log's `route`: the matched route's template; for what no API
    route matched, its own fixed label (Socket.IO's polling and handshakes, the docs, the
    socket paths), and `<unmatched>` for the rest (any other path would grow the labels
    without bound)."""
    template = getattr(scope.get("route"), "path", None)
    if template:
        return str(template)
    path: str = scope["path"]
    if path.startswith("/socket.io"):
        return SOCKETIO_LABEL
    trimmed = path.rstrip("/") or "/"
    return trimmed if trimmed in OWN_LABELS else UNMATCHED


class BodySizeLimitMiddleware:
    """Refuses bodies over the limit: at once when Content-Length says so, otherwise as soon
    as the streamed body crosses it (chunked uploads cannot sneak past)."""

    def __init__(
        self, app: ASGIApp, max_bytes: int, bounded_by_route: frozenset[str] = frozenset()
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.bounded_by_route = bounded_by_route
        """POST paths whose route bounds the body itself (uploads, with their own limit)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (
            scope["method"] == "POST" and scope["path"].rstrip("/") in self.bounded_by_route
        ):
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes
        for name, value in scope["headers"]:
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                await _send_too_large(send, limit)
                return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # An HTTPException, because FastAPI turns anything else raised while it
                    # reads the body into a 400.
                    raise HTTPException(413, _too_large_message(limit))
            return message

        await self.app(scope, counting_receive, send)


def _too_large_message(max_bytes: int) -> str:
    return f"The request body is larger than {max_bytes} bytes."


async def _send_too_large(send: Send, max_bytes: int) -> None:
    error = PayloadTooLarge(_too_large_message(max_bytes))
    await send_error(
        send, error.http_status, {"code": error.code, "message": error.message}, close=True
    )


async def send_error(
    send: Send,
    status: int,
    error: dict[str, object],
    *,
    close: bool = False,
    extra_headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    """The error shape, answered by a middleware before any route runs."""
    body = orjson.dumps({"error": error})
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    headers += extra_headers or []
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})

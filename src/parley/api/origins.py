"""Which browser pages may open Parley's sockets: a cross-site page must not ride on a
user's credentials (cookies today or tomorrow, a token it found) to open a socket in their
name — the WebSocket counterpart of CORS, which browsers do not apply to WebSockets.

A socket request (WebSocket upgrade on any socket path, Socket.IO long-polling) is allowed
when it carries no `Origin` (not a browser: native apps, servers, the CLI clients), when its
`Origin` is the server's own (same scheme-less host as `Host`), or when CORS_ALLOWED_ORIGINS
lists it (or is `*`). Anything else is refused with 403 before the handshake.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from parley.api.middleware import send_error

SOCKET_PREFIXES = ("/socket.io", "/ws", "/api/ws")


class SocketOrigins:
    def __init__(self, allowed: list[str]) -> None:
        self.any = "*" in allowed
        self.allowed = frozenset(origin.rstrip("/").lower() for origin in allowed)

    def allows(self, scope: Scope) -> bool:
        origin = host = None
        for name, value in scope["headers"]:
            if name == b"origin":
                origin = value
            elif name == b"host":
                host = value
        if origin is None or self.any:
            return True
        try:
            text = origin.decode("ascii").rstrip("/").lower()
        except UnicodeDecodeError:
            return False
        if text in self.allowed:
            return True
        if host is None:
            return False
        return bool(urlsplit(text).netloc == host.decode("latin-1").lower())


def is_socket_path(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in SOCKET_PREFIXES)


class SocketOriginMiddleware:
    """Long-polling requests from a page that may not open sockets: 403 `origin_not_allowed`.
    (WebSocket upgrades are checked where they are served: `with_socket_fast_path`.)"""

    def __init__(self, app: ASGIApp, origins: SocketOrigins) -> None:
        self.app = app
        self.origins = origins

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and is_socket_path(scope["path"])
            and not self.origins.allows(scope)
        ):
            await send_error(send, 403, ORIGIN_REFUSAL)
            return
        await self.app(scope, receive, send)


ORIGIN_REFUSAL: dict[str, object] = {
    "code": "origin_not_allowed",
    "message": "This page's origin may not open sockets here (CORS_ALLOWED_ORIGINS).",
}

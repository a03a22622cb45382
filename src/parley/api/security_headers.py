"""Safe defaults on every HTTP response: what browsers should not guess, send on, frame or
cache, and HTTPS pinned once a request came over it.

- `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer`, `X-Frame-Options: DENY`;
- a Content-Security-Policy: nothing at all for data (JSON, files), and for Parley's own
  pages (the interactive docs) only what they load;
- `Cache-Control: no-store` unless the route chose its own (responses carry tokens and
  personal data; downloads say `private`);
- `Strict-Transport-Security` when the request's scheme is https (the ASGI scope's, which a
  trusted proxy's `X-Forwarded-Proto` sets; see FORWARDED_ALLOW_IPS).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

DATA_POLICY = b"default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# Parley's own pages (Swagger UI, ReDoc, the AsyncAPI page): everything from Parley itself,
# no CDN. Scripts are files only (no inline script); styles may be inline, as Swagger UI's
# and ReDoc's components set them; ReDoc runs a worker from a blob.
PAGE_POLICY = (
    b"default-src 'self'; "
    b"script-src 'self'; "
    b"style-src 'self' 'unsafe-inline'; "
    b"font-src 'self'; "
    b"img-src 'self' data:; "
    b"worker-src 'self' blob:; "
    b"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
# The browser chat and admin dashboard (`/app/`, `/admin`): this origin's own files and
# sockets, nothing inline, nothing from elsewhere.
APP_POLICY = (
    b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    b"connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; "
    b"form-action 'none'"
)
ALWAYS = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
)


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, hsts_max_age_secs: int) -> None:
        self.app = app
        self.hsts = (
            (b"strict-transport-security", f"max-age={hsts_max_age_secs}".encode())
            if hsts_max_age_secs
            else None
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        over_https = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = self._headers(list(message.get("headers", [])), over_https)
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _headers(
        self, headers: list[tuple[bytes, bytes]], over_https: bool
    ) -> list[tuple[bytes, bytes]]:
        present = {name.lower() for name, _ in headers}
        content_type = next((v for n, v in headers if n.lower() == b"content-type"), b"")
        added = [pair for pair in ALWAYS if pair[0] not in present]
        if b"content-security-policy" not in present:
            page = content_type.startswith(b"text/html")
            added.append((b"content-security-policy", PAGE_POLICY if page else DATA_POLICY))
        if b"cache-control" not in present:
            added.append((b"cache-control", b"no-store"))
        if over_https and self.hsts is not None:
            added.append(self.hsts)
        return headers + added

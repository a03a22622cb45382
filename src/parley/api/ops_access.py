"""Who may read the operator pages: `/metrics`, and the interactive docs with the OpenAPI
and AsyncAPI documents they read (and their files under `/docs/static/`). Each is `public`,
`token` (`Authorization: Bearer <OPS_TOKEN>`) or `off` (404, as if it were not there); see
DOCS_ACCESS and METRICS_ACCESS."""

from __future__ import annotations

import hmac

from starlette.types import ASGIApp, Receive, Scope, Send

from parley.api.middleware import send_error
from parley.config import OpsAccess

DOCS_PATHS = ("/docs", "/redoc", "/openapi.json", "/swagger", "/asyncapi", "/asyncapi.json")
METRICS_PATHS = ("/metrics",)


class OpsAccessMiddleware:
    def __init__(self, app: ASGIApp, docs: OpsAccess, metrics: OpsAccess, token: str) -> None:
        self.app = app
        self.rules = [(DOCS_PATHS, docs), (METRICS_PATHS, metrics)]
        self.expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        access = self._access(scope) if scope["type"] == "http" else OpsAccess.PUBLIC
        if access is OpsAccess.OFF:
            error: dict[str, object] = {"code": "not_found", "message": "Not found."}
            await send_error(send, 404, error)
            return
        if access is OpsAccess.TOKEN and not self._has_token(scope):
            refusal: dict[str, object] = {
                "code": "not_authenticated",
                "message": "This page needs Authorization: Bearer <OPS_TOKEN>.",
            }
            await send_error(send, 401, refusal, extra_headers=[(b"www-authenticate", b"Bearer")])
            return
        await self.app(scope, receive, send)

    def _access(self, scope: Scope) -> OpsAccess:
        path = scope["path"]
        for prefixes, access in self.rules:
            if any(path == p or path.startswith(p + "/") for p in prefixes):
                return access
        return OpsAccess.PUBLIC

    def _has_token(self, scope: Scope) -> bool:
        for name, value in scope["headers"]:
            if name == b"authorization":
                return hmac.compare_digest(value, self.expected)
        return False

"""The browser chat (`/app/`) and the admin dashboard (`/admin`): static files from
`parley/web`, under a policy that allows this origin's own scripts, styles and sockets only.

`/app/vendor/socket.io.min.js` is the official socket.io-client build, fetched at setup
(`scripts/fetch-web-vendor`); without it the chat says so and offers its WebSocket view.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, RedirectResponse
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from parley.api.security_headers import APP_POLICY

WEB_DIR = Path(__file__).resolve().parent.parent.parent / "web"
HEADERS = {"content-security-policy": APP_POLICY.decode(), "cache-control": "no-cache"}

router = APIRouter(include_in_schema=False)


@router.get("/")
async def home() -> RedirectResponse:
    return RedirectResponse("/app/")


@router.get("/admin")
@router.get("/admin/")
async def admin_page() -> FileResponse:
    return FileResponse(WEB_DIR / "admin.html", headers=HEADERS)


class WebFiles:
    """StaticFiles with the pages' policy and revalidation on every load."""

    def __init__(self) -> None:
        self.files: ASGIApp = StaticFiles(directory=WEB_DIR, html=True)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers += [(k.encode(), v.encode()) for k, v in HEADERS.items()]
                message["headers"] = headers
            await send(message)

        await self.files(scope, receive, with_headers)

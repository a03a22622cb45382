"""The interactive API documents, served by Parley alone: no CDN, so they work offline.

- `/docs`: Swagger UI, `/redoc`: ReDoc, both reading `/openapi.json`. Their scripts and
  styles are the files the `fastapi-offline` package ships (swagger-ui-dist 5, ReDoc 2),
  served under `/docs/static/`; the script that starts Swagger UI is Parley's own file
  there too, so the pages run no inline script (see the page policy in security_headers).
- `/asyncapi.json`: the AsyncAPI 3 document of both socket protocols, and `/asyncapi`, a
  page Parley renders from it on the server (no script at all).

All of them sit behind DOCS_ACCESS (api/ops_access.py).
"""

from __future__ import annotations

import html
from importlib.resources import files
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response

from parley.asyncapi.document import asyncapi_document
from parley.asyncapi.page import render_asyncapi
from parley.errors import NotFound

STATIC_PREFIX = "/docs/static"
ASSETS = Path(str(files("fastapi_offline") / "static"))
ASSET_FILES = frozenset(
    {"swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js", "favicon.png"}
)

SWAGGER_INIT = """\
(function () {
  var holder = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    url: holder.dataset.openapiUrl,
    dom_id: "#swagger-ui",
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
    layout: "BaseLayout",
    deepLinking: true,
    showExtensions: true,
    showCommonExtensions: true
  });
})();
"""

router = APIRouter(include_in_schema=False)


def _root(request: Request) -> str:
    root: str = request.scope.get("root_path", "")
    return root.rstrip("/")


@router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    root = _root(request)
    static = f"{root}{STATIC_PREFIX}"
    openapi_url = html.escape(f"{root}{request.app.openapi_url}")
    return HTMLResponse(f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Parley — Swagger UI</title>
<link rel="icon" href="{static}/favicon.png">
<link rel="stylesheet" href="{static}/swagger-ui.css">
</head>
<body>
<div id="swagger-ui" data-openapi-url="{openapi_url}"></div>
<script src="{static}/swagger-ui-bundle.js"></script>
<script src="{static}/swagger-init.js"></script>
</body>
</html>
""")


@router.get(STATIC_PREFIX + "/{name}")
async def asset(name: str) -> Response:
    """The pages' files: the package's, named one by one, and the script starting Swagger UI."""
    if name == "swagger-init.js":
        return Response(SWAGGER_INIT, media_type="text/javascript")
    if name not in ASSET_FILES:
        raise NotFound("No such file.")
    return FileResponse(ASSETS / name, headers={"Cache-Control": "public, max-age=86400"})


@router.get("/redoc")
async def redoc(request: Request) -> HTMLResponse:
    root = _root(request)
    static = f"{root}{STATIC_PREFIX}"
    openapi_url = html.escape(f"{root}{request.app.openapi_url}")
    return HTMLResponse(f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Parley — ReDoc</title>
<link rel="icon" href="{static}/favicon.png">
</head>
<body>
<redoc spec-url="{openapi_url}"></redoc>
<script src="{static}/redoc.standalone.js"></script>
</body>
</html>
""")


@router.get("/asyncapi.json")
async def asyncapi_json(request: Request) -> JSONResponse:
    return JSONResponse(_asyncapi(request))


@router.get("/asyncapi")
async def asyncapi_page(request: Request) -> HTMLResponse:
    return HTMLResponse(render_asyncapi(_asyncapi(request)))


def _asyncapi(request: Request) -> dict[str, Any]:
    """Built once per app: the document depends only on the code and the app's version."""
    cached: dict[str, Any] | None = getattr(request.app.state, "asyncapi", None)
    if cached is None:
        cached = asyncapi_document(version=request.app.version)
        request.app.state.asyncapi = cached
    return cached

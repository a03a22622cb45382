"""Health, version and metrics: what load balancers and operators poll."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse

from parley import __version__
from parley.api.deps import RuntimeDep
from parley.clock import now_iso

router = APIRouter(tags=["operations"])

PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@router.get("/health")
@router.get("/api/v1/health")
async def health(runtime: RuntimeDep) -> JSONResponse:
    """Each component's state; 200 when all are up, 503 (status `degraded`) otherwise."""
    services: dict[str, str] = {}
    try:
        await runtime.db.ping()
        services["database"] = "ok"
    except Exception as exc:  # any failure means down; the reason is for the operator
        services["database"] = f"error: {type(exc).__name__}"
    try:
        await runtime.broker.ping()
        services["broker"] = "ok"
    except Exception as exc:
        services["broker"] = f"error: {type(exc).__name__}"
    healthy = all(state == "ok" for state in services.values())
    body = {"status": "ok" if healthy else "degraded", "timestamp": now_iso(), "services": services}
    return JSONResponse(body, status_code=200 if healthy else 503)


@router.get("/api/v1/version")
@router.get("/api/version")
async def version() -> dict[str, str]:
    return {"version": __version__, "name": "Parley", "timestamp": now_iso()}


@router.get("/swagger/index.html", include_in_schema=False)
@router.get("/swagger", include_in_schema=False)
async def swagger() -> RedirectResponse:
    """Where the Realtime Chat App seed kept its API docs."""
    return RedirectResponse("/docs")


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    return Response(request.app.state.metrics.render(), media_type=PROMETHEUS_CONTENT_TYPE)

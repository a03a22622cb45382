"""`/api/v1/admin`: what the admin dashboard reads (admins only). Users are changed through
the users routes (`PUT /api/v1/users/{id}/role`, `/status`)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from parley.api.deps import AdminUser, RuntimeDep
from parley.domain.dashboard import LiveCounts

router = APIRouter(prefix="/api/v1/admin", tags=["admin"])


@router.get("/overview")
async def overview(user: AdminUser, runtime: RuntimeDep, request: Request) -> dict[str, Any]:
    """Connections and Socket.IO sessions on this instance, live instances, rooms, messages
    per second (the last 10 s), conversations and support chats by status, users by status,
    and the last error codes this instance answered."""
    engine = getattr(request.app.state, "engine", None)
    live = LiveCounts(
        connections=runtime.hub.connection_count,
        socketio_sessions=len(engine.sessions) if engine is not None else 0,
    )
    return await runtime.dashboard.overview(user, live)

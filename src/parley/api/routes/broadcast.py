"""Server-side broadcast: `POST /api/v1/broadcast`, and the WebSocket Chat Server seed's
`POST /messages`. For trusted callers only: `X-API-Key: $PARLEY_API_KEY`, or an admin token;
each key (each admin) at most BROADCASTS_PER_KEY a minute (429 `broadcast_rate_limited`)."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import APIRouter, Depends, Request, status

from parley.api.deps import RuntimeDep, get_principal
from parley.api.openapi_doc import errors
from parley.domain.broadcast_limit import key_id
from parley.domain.conversations.schemas import BroadcastSend, MessagePublic
from parley.domain.roles import Role
from parley.errors import Unauthenticated

router = APIRouter(tags=["broadcast"])


async def require_trusted_caller(request: Request, runtime: RuntimeDep) -> None:
    key = request.headers.get("x-api-key")
    expected = runtime.settings.api_key
    if key is not None:
        if expected and hmac.compare_digest(key.encode(), expected.encode()):
            await runtime.broadcasts.take(key_id(key))
            return
        raise Unauthenticated("That API key is not valid.", code="invalid_api_key")
    principal = await get_principal(request, runtime)
    principal.require_role(Role.ADMIN)
    await runtime.broadcasts.take(f"user:{principal.user_id}")


Trusted = Annotated[None, Depends(require_trusted_caller)]


@router.post(
    "/api/v1/broadcast",
    status_code=status.HTTP_201_CREATED,
    responses=errors(401, 403),
    openapi_extra={"security": [{"apiKey": []}, {"bearer": []}]},
)
@router.post("/messages", status_code=status.HTTP_201_CREATED, include_in_schema=False)
async def broadcast(body: BroadcastSend, _: Trusted, runtime: RuntimeDep) -> MessagePublic:
    """Store a message in the conversation or open room (`room_id`: id or name) and deliver it
    to every member's live connections."""
    return await runtime.messages.broadcast(body)

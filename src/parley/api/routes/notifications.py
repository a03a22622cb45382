"""Push notifications: muting a conversation, and the calling device's push token."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from parley.api.deps import CurrentUser, RuntimeDep
from parley.domain.accounts.schemas import PushTokenSet, SessionPublic
from parley.domain.notifications.schemas import MuteSet, MuteState

router = APIRouter(prefix="/api/v1", tags=["notifications"])


@router.put("/conversations/{conversation_id}/mute")
async def mute_conversation(
    conversation_id: uuid.UUID,
    user: CurrentUser,
    runtime: RuntimeDep,
    body: MuteSet | None = None,
) -> MuteState:
    """No pushes for this conversation to your devices, for good or `until` a moment (with a
    time zone). Members only; live delivery to open connections goes on."""
    until = body.until if body is not None else None
    return await runtime.mutes.mute(user, conversation_id, until=until)


@router.delete("/conversations/{conversation_id}/mute")
async def unmute_conversation(
    conversation_id: uuid.UUID, user: CurrentUser, runtime: RuntimeDep
) -> MuteState:
    """Pushes for this conversation again (idempotent)."""
    return await runtime.mutes.unmute(user, conversation_id)


@router.put("/auth/sessions/current/push-token")
async def set_push_token(
    body: PushTokenSet, user: CurrentUser, runtime: RuntimeDep
) -> SessionPublic:
    """The calling device's push token (FCM registration token), for apps that get it after
    signing in or whose token changed. Taken off any other session that had it."""
    return await runtime.auth.set_push_token(user, body.fcm_token)


@router.delete("/auth/sessions/current/push-token")
async def clear_push_token(user: CurrentUser, runtime: RuntimeDep) -> SessionPublic:
    """No more pushes to the calling device (idempotent)."""
    return await runtime.auth.set_push_token(user, None)

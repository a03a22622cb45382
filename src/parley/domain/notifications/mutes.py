"""Muting a conversation: its new messages are pushed to none of the member's devices.

A mute is the member's own: it changes nothing for the others, and live delivery to open
connections goes on (a muted conversation still shows its messages; only pushes stop).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from parley.db.types import utcnow
from parley.domain.accounts.principal import Principal
from parley.domain.conversations import access
from parley.domain.conversations.views import mute_of
from parley.domain.events import Audience, Event, user_channel
from parley.domain.notifications.schemas import MuteState
from parley.domain.unit_of_work import UnitOfWork
from parley.errors import Forbidden, ValidationFailed

MUTE_CHANGED = "mute.changed"


class MuteService:
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def mute(
        self, principal: Principal, ref: str | uuid.UUID, *, until: datetime | None = None
    ) -> MuteState:
        if until is not None and until <= utcnow():
            raise ValidationFailed(
                "A mute ends in the future; leave `until` out to mute for good.",
                code="mute_until_past",
                field="until",
            )
        return await self._set(principal, ref, muted=True, until=until)

    async def unmute(self, principal: Principal, ref: str | uuid.UUID) -> MuteState:
        return await self._set(principal, ref, muted=False, until=None)

    async def _set(
        self, principal: Principal, ref: str | uuid.UUID, *, muted: bool, until: datetime | None
    ) -> MuteState:
        async with self._uow() as work:
            conversation, member = await access.load(work.tx, ref, principal)
            if member is None:
                raise Forbidden("Only members mute a conversation.", code="not_a_member")
            member.muted = muted
            member.muted_until = until
            await work.tx.flush()
            now_muted, now_until = mute_of(member)
            state = MuteState(
                conversation_id=conversation.id, muted=now_muted, muted_until=now_until
            )
            # The user's other devices show the conversation muted too (`mute_changed`).
            work.emit(
                Event(
                    user_channel(principal.user_id),
                    MUTE_CHANGED,
                    state.model_dump(mode="json"),
                    Audience.USER,
                )
            )
        return state

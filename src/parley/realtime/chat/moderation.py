"""The moderation commands on sockets (both protocols): the same calls as
`/api/v1/rooms/{ref}/mutes` and `/bans`."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import AliasChoices, Field
from typing_extensions import TypedDict

from parley.domain.accounts.schemas import Lenient
from parley.domain.conversations.schemas import CONVERSATION_REF, ConversationRef
from parley.domain.moderation.schemas import RestrictionKind, RestrictionList, RestrictionSet
from parley.realtime.chat.live import LiveService
from parley.realtime.connection import Connection
from parley.realtime.signin import principal_of


class RoomCommand(Lenient):
    conversation: ConversationRef = Field(validation_alias=CONVERSATION_REF)


class RestrictCommand(RoomCommand, RestrictionSet):
    pass


class LiftCommand(RoomCommand):
    user_id: uuid.UUID = Field(validation_alias=AliasChoices("user_id", "userId", "id"))


class LiftAnswer(TypedDict):
    user_id: str
    kind: RestrictionKind
    lifted: bool


class ModerationCommands:
    live: LiveService

    async def mute_member(self, connection: Connection, data: dict[str, Any]) -> dict[str, Any]:
        return await self._restrict(connection, data, RestrictionKind.MUTE)

    async def ban_member(self, connection: Connection, data: dict[str, Any]) -> dict[str, Any]:
        return await self._restrict(connection, data, RestrictionKind.BAN)

    async def unmute_member(self, connection: Connection, data: dict[str, Any]) -> LiftAnswer:
        return await self._lift(connection, data, RestrictionKind.MUTE)

    async def unban_member(self, connection: Connection, data: dict[str, Any]) -> LiftAnswer:
        return await self._lift(connection, data, RestrictionKind.BAN)

    async def list_mutes(self, connection: Connection, data: dict[str, Any]) -> dict[str, Any]:
        return await self._list(connection, data, RestrictionKind.MUTE)

    async def list_bans(self, connection: Connection, data: dict[str, Any]) -> dict[str, Any]:
        return await self._list(connection, data, RestrictionKind.BAN)

    async def _restrict(
        self, connection: Connection, data: dict[str, Any], kind: RestrictionKind
    ) -> dict[str, Any]:
        command = RestrictCommand.model_validate(data)
        restriction = await self.live.restrictions.restrict(
            principal_of(connection), command.conversation, kind, command
        )
        return restriction.model_dump(mode="json")

    async def _lift(
        self, connection: Connection, data: dict[str, Any], kind: RestrictionKind
    ) -> LiftAnswer:
        command = LiftCommand.model_validate(data)
        await self.live.restrictions.lift(
            principal_of(connection), command.conversation, kind, command.user_id
        )
        return {"user_id": str(command.user_id), "kind": kind, "lifted": True}

    async def _list(
        self, connection: Connection, data: dict[str, Any], kind: RestrictionKind
    ) -> dict[str, Any]:
        command = RoomCommand.model_validate(data)
        found = await self.live.restrictions.list(
            principal_of(connection), command.conversation, kind
        )
        return RestrictionList(items=found).model_dump(mode="json")

"""The moderation commands on sockets (both protocols): the same calls as
`/api/v1/rooms/{ref}/mutes` and `/bans`, `/api/v1/messages/{id}/reports` and
`/api/v1/reports`."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from pydantic import AliasChoices, Field, StringConstraints
from typing_extensions import TypedDict

from parley.domain.accounts.schemas import Lenient
from parley.domain.conversations.schemas import CONVERSATION_REF, ConversationRef
from parley.domain.moderation.reports import MAX_REPORT_PAGE
from parley.domain.moderation.schemas import (
    ReportCreate,
    ReportPublic,
    ReportResolve,
    ReportStatus,
    RestrictionKind,
    RestrictionList,
    RestrictionSet,
)
from parley.realtime.chat.live import LiveService
from parley.realtime.connection import Connection
from parley.realtime.signin import principal_of


class RoomCommand(Lenient):
    conversation: ConversationRef = Field(validation_alias=CONVERSATION_REF)


class RestrictCommand(RoomCommand, RestrictionSet):
    pass


class LiftCommand(RoomCommand):
    user_id: uuid.UUID = Field(validation_alias=AliasChoices("user_id", "userId", "id"))


class ReportCommand(ReportCreate):
    message_id: uuid.UUID = Field(validation_alias=AliasChoices("message_id", "messageId", "id"))


class ReportList(Lenient):
    status: ReportStatus | None = None
    limit: int = Field(50, ge=1, le=MAX_REPORT_PAGE)
    cursor: Annotated[str, StringConstraints(max_length=200)] | None = None


class ReportClose(ReportResolve):
    report_id: uuid.UUID = Field(validation_alias=AliasChoices("report_id", "reportId", "id"))


class ReportAnswer(ReportPublic):
    """`report_message`'s answer: the open report, and whether this call made it."""

    created: bool


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

    async def report_message(self, connection: Connection, data: dict[str, Any]) -> dict[str, Any]:
        """The open report, and `created`: false when it was yours already (REST's 200)."""
        command = ReportCommand.model_validate(data)
        report, created = await self.live.reports.report(
            principal_of(connection), command.message_id, command
        )
        return ReportAnswer(**dict(report), created=created).model_dump(mode="json")

    async def list_reports(self, connection: Connection, data: dict[str, Any]) -> dict[str, Any]:
        command = ReportList.model_validate(data)
        page = await self.live.reports.list(
            principal_of(connection),
            status=command.status,
            limit=command.limit,
            cursor=command.cursor,
        )
        return page.model_dump(mode="json")

    async def resolve_report(self, connection: Connection, data: dict[str, Any]) -> dict[str, Any]:
        command = ReportClose.model_validate(data)
        report = await self.live.reports.resolve(
            principal_of(connection), command.report_id, command
        )
        return report.model_dump(mode="json")

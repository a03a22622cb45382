"""Reports of messages: any member reports one (a reason, maybe a few words); staff list the
reports and close them as `resolved` or `dismissed`. A reporter has at most one open report
per message (reporting again returns it), and sees no one else's."""

from __future__ import annotations

import uuid

from sqlalchemy.exc import IntegrityError

from parley.db import messages as message_queries
from parley.db import moderation as queries
from parley.db.models import MessageReport
from parley.db.types import utcnow
from parley.domain.accounts.principal import Principal
from parley.domain.conversations import access
from parley.domain.cursors import decode_cursor, encode_cursor, not_ours
from parley.domain.ids import uuid7
from parley.domain.moderation.schemas import (
    ReportCreate,
    ReportPage,
    ReportPublic,
    ReportReason,
    ReportResolve,
    ReportStatus,
)
from parley.domain.roles import STAFF_ROLES
from parley.domain.unit_of_work import UnitOfWork
from parley.errors import Conflict, NotFound, ValidationFailed

MAX_REPORT_PAGE = 100
STAFF = tuple(sorted(STAFF_ROLES, key=lambda r: r.value))


def report_public(row: MessageReport) -> ReportPublic:
    return ReportPublic(
        id=row.id,
        message_id=row.message_id,
        conversation_id=row.conversation_id,
        reporter_id=row.reporter_id,
        reason=ReportReason(row.reason),
        text=row.text,
        status=ReportStatus(row.status),
        created_at=row.created_at,
        resolved_by=row.resolved_by,
        resolved_at=row.resolved_at,
    )


def _open_key(message_id: uuid.UUID, reporter_id: uuid.UUID) -> str:
    return f"{message_id.hex}:{reporter_id.hex}"


class ReportService:
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def report(
        self, principal: Principal, message_id: uuid.UUID, command: ReportCreate
    ) -> tuple[ReportPublic, bool]:
        """The open report, and whether it is new (a second report of the same message by
        the same member returns the first, unchanged)."""
        try:
            return await self._report(principal, message_id, command)
        except IntegrityError:  # the same report, at the same moment, on another request
            return await self._report(principal, message_id, command)

    async def _report(
        self, principal: Principal, message_id: uuid.UUID, command: ReportCreate
    ) -> tuple[ReportPublic, bool]:
        async with self._uow() as work:
            message = await message_queries.find_message(work.tx, message_id)
            if message is None:
                raise NotFound("No message with that id.", code="message_not_found")
            await access.load(work.tx, message.conversation_id, principal)  # readers only
            if message.sender_id == principal.user_id:
                raise ValidationFailed("You cannot report your own message.", code="own_message")
            key = _open_key(message.id, principal.user_id)
            existing = await queries.find_open_report(work.tx, key)
            if existing is not None:
                return report_public(existing), False
            row = MessageReport(
                id=uuid7(),
                message_id=message.id,
                conversation_id=message.conversation_id,
                reporter_id=principal.user_id,
                reason=command.reason.value,
                text=command.text or None,
                status=ReportStatus.OPEN.value,
                open_key=key,
                created_at=utcnow(),
            )
            work.tx.add(row)
            await work.tx.flush()
            return report_public(row), True

    async def list(
        self,
        principal: Principal,
        *,
        status: ReportStatus | None,
        limit: int,
        cursor: str | None,
    ) -> ReportPage:
        """Staff only; newest first; pass `next_cursor` back as `cursor`."""
        principal.require_role(*STAFF)
        before = None
        if cursor is not None:
            (raw,) = decode_cursor(cursor, 1)
            try:
                before = uuid.UUID(str(raw))
            except ValueError as exc:
                raise not_ours() from exc
        async with self._uow() as work:
            rows = await queries.page_reports(
                work.tx,
                status=status.value if status is not None else None,
                before=before,
                limit=limit + 1,
            )
        page = [report_public(row) for row in rows[:limit]]
        has_more = len(rows) > limit
        next_cursor = encode_cursor([str(page[-1].id)]) if has_more and page else None
        return ReportPage(reports=page, next_cursor=next_cursor, has_more=has_more)

    async def resolve(
        self, principal: Principal, report_id: uuid.UUID, command: ReportResolve
    ) -> ReportPublic:
        """Close an open report as `resolved` or `dismissed`, by whom and when."""
        principal.require_role(*STAFF)
        if command.status is ReportStatus.OPEN:
            raise ValidationFailed(
                "A report is closed as `resolved` or `dismissed`.", field="status"
            )
        async with self._uow() as work:
            row = await work.tx.get(MessageReport, report_id, with_for_update=True)
            if row is None:
                raise NotFound("No report with that id.", code="report_not_found")
            if row.status != ReportStatus.OPEN.value:
                raise Conflict("That report is closed already.", code="report_closed")
            row.status = command.status.value
            row.open_key = None
            row.resolved_by = principal.user_id
            row.resolved_at = utcnow()
            await work.tx.flush()
            return report_public(row)

"""Reports of messages: `POST /api/v1/messages/{id}/reports` (members), `GET /api/v1/reports`
and `PATCH /api/v1/reports/{id}` (staff: agents, super-agents, admins)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from parley.api.deps import CurrentUser, RuntimeDep
from parley.domain.moderation.reports import MAX_REPORT_PAGE
from parley.domain.moderation.schemas import (
    ReportCreate,
    ReportPage,
    ReportPublic,
    ReportResolve,
    ReportStatus,
)

router = APIRouter(prefix="/api/v1", tags=["moderation"])


@router.post("/messages/{message_id}/reports", status_code=status.HTTP_201_CREATED)
async def report_message(
    message_id: uuid.UUID,
    body: ReportCreate,
    user: CurrentUser,
    runtime: RuntimeDep,
    response: Response,
) -> ReportPublic:
    """Report a message you can read (`reason`: spam, abuse, harassment, illegal, other).
    201; reporting it again while your report is open returns that report (200)."""
    report, created = await runtime.reports.report(user, message_id, body)
    response.status_code = status.HTTP_201_CREATED if created else status.HTTP_200_OK
    return report


@router.get("/reports")
async def list_reports(
    user: CurrentUser,
    runtime: RuntimeDep,
    report_status: Annotated[ReportStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_REPORT_PAGE)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> ReportPage:
    """Staff: reports newest first, of one `status` or all; pass `next_cursor` back as
    `cursor`."""
    return await runtime.reports.list(user, status=report_status, limit=limit, cursor=cursor)


@router.patch("/reports/{report_id}")
async def resolve_report(
    report_id: uuid.UUID, body: ReportResolve, user: CurrentUser, runtime: RuntimeDep
) -> ReportPublic:
    """Staff: close an open report as `resolved` or `dismissed` (409 `report_closed` if it
    is closed already)."""
    return await runtime.reports.resolve(user, report_id, body)

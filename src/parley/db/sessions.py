"""Queries on device sessions."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from parley.db.database import Database
from parley.db.models import DeviceSession, User


async def add_session(tx: AsyncSession, **fields: Any) -> DeviceSession:
    session = DeviceSession(**fields)
    tx.add(session)
    await tx.flush()
    return session


SESSION_STATUS = (
    select(
        DeviceSession.user_id,
        DeviceSession.revoked_at,
        DeviceSession.expires_at,
        User.role,
        User.username,
        User.name,
        User.status,
    )
    .join(User, User.id == DeviceSession.user_id)
    .where(DeviceSession.id == bindparam("session_id"))
)
"""Built once: on every connect, building the statement cost as much as running it."""


async def session_status(db: Database, session_id: uuid.UUID) -> Any:
    """What authenticating a token needs of its session and user, in one Core query."""
    rows = await db.read_rows(SESSION_STATUS, {"session_id": session_id})
    return rows[0] if rows else None


async def find_session_with_user(
    tx: AsyncSession, session_id: uuid.UUID
) -> tuple[DeviceSession, User] | None:
    query = select(DeviceSession, User).join(User).where(DeviceSession.id == session_id)
    row = (await tx.execute(query)).one_or_none()
    return None if row is None else (row[0], row[1])


async def rotate_refresh(
    tx: AsyncSession,
    session_id: uuid.UUID,
    *,
    old_jti: str,
    new_jti: str,
    now: datetime,
    expires_at: datetime,
) -> bool:
    """Swap the refresh token id, only if `old_jti` is still the current one.

    The compare-and-swap makes two concurrent refreshes with the same token end with exactly
    one winner; the loser is treated as a replay.
    """
    result = await tx.execute(
        update(DeviceSession)
        .where(
            DeviceSession.id == session_id,
            DeviceSession.refresh_jti == old_jti,
            DeviceSession.revoked_at.is_(None),
        )
        .values(refresh_jti=new_jti, last_used_at=now, expires_at=expires_at)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def revoke_sessions(
    tx: AsyncSession,
    *,
    user_id: uuid.UUID,
    session_id: uuid.UUID | None,
    now: datetime,
    reason: str,
) -> list[uuid.UUID]:
    """Revoke one session of the user, or all of them when `session_id` is None; returns the
    ids of the sessions this ended (their live connections are to be closed)."""
    # Read, then update by id: MariaDB has no UPDATE … RETURNING. The rows stay locked until
    # commit, so two revocations of one session cannot both report it.
    query = select(DeviceSession.id).where(
        DeviceSession.user_id == user_id, DeviceSession.revoked_at.is_(None)
    )
    if session_id is not None:
        query = query.where(DeviceSession.id == session_id)
    ended = list((await tx.execute(query.with_for_update())).scalars().all())
    if ended:
        await tx.execute(
            update(DeviceSession)
            .where(DeviceSession.id.in_(ended))
            .values(revoked_at=now, revoked_reason=reason)
            .execution_options(synchronize_session=False)
        )
    return ended


async def list_active_sessions(
    tx: AsyncSession, user_id: uuid.UUID, now: datetime
) -> Sequence[DeviceSession]:
    query = (
        select(DeviceSession)
        .where(
            DeviceSession.user_id == user_id,
            DeviceSession.revoked_at.is_(None),
            DeviceSession.expires_at > now,
        )
        .order_by(DeviceSession.created_at)
    )
    return (await tx.execute(query)).scalars().all()


async def delete_expired_sessions(tx: AsyncSession, *, now: datetime) -> int:
    """Remove sessions past their expiry; revoked ones stay until then, for the audit trail."""
    result = await tx.execute(delete(DeviceSession).where(DeviceSession.expires_at <= now))
    return int(result.rowcount)  # type: ignore[attr-defined]


def push_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def set_push_token(
    tx: AsyncSession, session_id: uuid.UUID, token: str | None, *, now: datetime
) -> bool:
    """Give a live session its push token (None clears it); the same token on any other
    session is cleared, since a device's token reaches whoever signed in on it last.
    False when the session is not live."""
    digest = push_token_hash(token) if token else None
    if digest is not None:
        await tx.execute(
            update(DeviceSession)
            .where(DeviceSession.fcm_token_hash == digest, DeviceSession.id != session_id)
            .values(fcm_token=None, fcm_token_hash=None)
            .execution_options(synchronize_session=False)
        )
    result = await tx.execute(
        update(DeviceSession)
        .where(
            DeviceSession.id == session_id,
            DeviceSession.revoked_at.is_(None),
            DeviceSession.expires_at > now,
        )
        .values(fcm_token=token, fcm_token_hash=digest)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def push_targets(user_id: uuid.UUID, now: datetime) -> Select[uuid.UUID, str | None]:
    """(session id, token) of every live session of the user that has a push token."""
    return select(DeviceSession.id, DeviceSession.fcm_token).where(
        DeviceSession.user_id == user_id,
        DeviceSession.fcm_token.is_not(None),
        DeviceSession.fcm_token != "",
        DeviceSession.revoked_at.is_(None),
        DeviceSession.expires_at > now,
    )


async def forget_push_token(tx: AsyncSession, session_id: uuid.UUID, token: str) -> bool:
    """Clear a token the push service says is dead, unless the session has a new one since."""
    result = await tx.execute(
        update(DeviceSession)
        .where(DeviceSession.id == session_id, DeviceSession.fcm_token == token)
        .values(fcm_token=None, fcm_token_hash=None)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]

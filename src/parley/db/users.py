"""Queries on users."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import case, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from parley.db.models import User
from parley.domain.roles import STAFF_ROLES


async def count_users(tx: AsyncSession) -> int:
    return int(await tx.scalar(select(func.count()).select_from(User)) or 0)


async def find_by_external_id(tx: AsyncSession, external_id: str) -> User | None:
    result = await tx.execute(select(User).where(User.external_id == external_id))
    return result.scalar_one_or_none()


async def find_user(tx: AsyncSession, user_id: uuid.UUID) -> User | None:
    return await tx.get(User, user_id)


async def find_user_by_login(tx: AsyncSession, login: str) -> User | None:
    """By lower-cased username or email."""
    column = User.email if "@" in login else User.username
    return (await tx.execute(select(User).where(column == login))).scalar_one_or_none()


async def taken_fields(
    tx: AsyncSession,
    *,
    username: str | None = None,
    email: str | None = None,
    mobile_no: str | None = None,
    except_id: uuid.UUID | None = None,
) -> list[str]:
    """Which of the given unique fields another user already holds."""
    wanted = {"username": username, "email": email, "mobile_no": mobile_no}
    conditions = [getattr(User, f) == v for f, v in wanted.items() if v is not None]
    if not conditions:
        return []
    query = select(User.username, User.email, User.mobile_no).where(or_(*conditions))
    if except_id is not None:
        query = query.where(User.id != except_id)
    taken: set[str] = set()
    for row in await tx.execute(query):
        taken.update(f for f, v in wanted.items() if v is not None and getattr(row, f) == v)
    return sorted(taken)


async def add_user(tx: AsyncSession, **fields: Any) -> User:
    user = User(**fields)
    tx.add(user)
    await tx.flush()
    return user


async def list_users(
    tx: AsyncSession,
    *,
    search: str | None,
    limit: int,
    offset: int,
    staff_first: bool = False,
) -> tuple[Sequence[User], int]:
    """A page of users, oldest account first (`staff_first`: agents, super-agents and
    admins before everyone else)."""
    query = select(User)
    if search:
        pattern = f"%{search.lower()}%"
        query = query.where(or_(func.lower(User.name).like(pattern), User.username.like(pattern)))
    total = (await tx.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    order: list[Any] = [User.created_at, User.id]
    if staff_first:
        staff = [role.value for role in STAFF_ROLES]
        order.insert(0, case((User.role.in_(staff), 0), else_=1))
    page = await tx.execute(query.order_by(*order).limit(limit).offset(offset))
    return page.scalars().all(), total

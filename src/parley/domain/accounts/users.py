"""Profiles, the user directory, and what admins change about users."""

from __future__ import annotations

import uuid

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from parley.db import sessions as session_queries
from parley.db import users as user_queries
from parley.db.database import Database
from parley.db.models import User
from parley.db.types import utcnow
from parley.domain.accounts.creation import conflict_for
from parley.domain.accounts.principal import Principal
from parley.domain.accounts.schemas import ProfileUpdate, UserPage, UserPublic
from parley.domain.events import account_disabled, role_changed
from parley.domain.roles import STAFF_ROLES, AccountStatus, Role
from parley.domain.unit_of_work import UnitOfWork
from parley.errors import Conflict, NotFound

MAX_PAGE_SIZE = 100
MAX_OFFSET = 2**31
"""Past any real directory; larger offsets (up to any number of bits) are refused, not sent
to a database that cannot bind them."""


def as_seen_by(user: UserPublic, viewer: Principal) -> UserPublic:
    """A user's email and phone number are theirs: shown to themselves, staff (agents,
    super-agents) and admins; everyone else sees them as null."""
    if viewer.user_id == user.id or viewer.role in STAFF_ROLES:
        return user
    return user.model_copy(update={"email": None, "mobile_no": None})


class UserService:
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow
        self._db: Database = uow.db

    async def get_user(self, user_id: uuid.UUID, viewer: Principal) -> UserPublic:
        """The profile as `viewer` may see it (see `as_seen_by`)."""
        async with self._db.transaction() as tx:
            user = await user_queries.find_user(tx, user_id)
        if user is None:
            raise NotFound("No user with that id.", code="user_not_found")
        return as_seen_by(UserPublic.model_validate(user), viewer)

    async def list_users(
        self,
        viewer: Principal,
        *,
        search: str | None,
        limit: int,
        offset: int,
        staff_first: bool = False,
    ) -> UserPage:
        """The directory: `search` matches names and usernames only (public fields);
        `staff_first` puts agents, super-agents and admins on the first pages."""
        limit = max(1, min(limit, MAX_PAGE_SIZE))
        offset = max(0, min(offset, MAX_OFFSET))
        async with self._db.transaction() as tx:
            rows, total = await user_queries.list_users(
                tx, search=search, limit=limit, offset=offset, staff_first=staff_first
            )
        return UserPage(
            users=[as_seen_by(UserPublic.model_validate(row), viewer) for row in rows],
            total=total,
            limit=limit,
            offset=offset,
        )

    async def update_profile(self, principal: Principal, update: ProfileUpdate) -> UserPublic:
        changes = update.model_dump(exclude_unset=True, exclude_none=True)
        if "email" in changes:
            changes["email"] = changes["email"].lower()
        try:
            async with self._db.transaction() as tx:
                user = await self._get(tx, principal.user_id)
                if "email" in changes:
                    taken = await user_queries.taken_fields(
                        tx, email=changes["email"], except_id=user.id
                    )
                    if taken:
                        raise conflict_for(taken)
                for field, value in changes.items():
                    setattr(user, field, value)
        except IntegrityError as exc:
            raise Conflict("That email is already taken.", code="email_taken") from exc
        return UserPublic.model_validate(user)

    async def set_online(self, principal: Principal, is_online: bool) -> UserPublic:
        """The customer-service seed's manual online switch (presence sets it too)."""
        async with self._db.transaction() as tx:
            user = await self._get(tx, principal.user_id)
            user.is_online = is_online
        return UserPublic.model_validate(user)

    async def set_role(self, actor: Principal, user_id: uuid.UUID, role: Role) -> UserPublic:
        actor.require_role(Role.ADMIN)
        async with self._uow() as work:
            user = await self._get(work.tx, user_id)
            user.role = role.value
            work.emit(role_changed(user.id, role.value))  # live connections too, at once
        return UserPublic.model_validate(user)

    async def set_status(
        self, actor: Principal, user_id: uuid.UUID, status: AccountStatus
    ) -> UserPublic:
        """Disabling an account also ends every one of its sessions and live connections."""
        actor.require_role(Role.ADMIN)
        async with self._uow() as work:
            user = await self._get(work.tx, user_id)
            user.status = status.value
            if status is AccountStatus.DISABLED:
                await session_queries.revoke_sessions(
                    work.tx, user_id=user.id, session_id=None, now=utcnow(), reason="disabled"
                )
                work.emit(account_disabled(user.id))
        return UserPublic.model_validate(user)

    async def _get(self, tx: AsyncSession, user_id: uuid.UUID) -> User:
        user = await user_queries.find_user(tx, user_id)
        if user is None:
            raise NotFound("No user with that id.", code="user_not_found")
        return user

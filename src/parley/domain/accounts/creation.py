"""Adding an account row: the one place that knows usernames and emails must be free."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from parley.db import users as user_queries
from parley.db.models import User
from parley.domain.accounts.schemas import UserCreate
from parley.errors import Conflict


def conflict_for(fields: list[str]) -> Conflict:
    field = fields[0]
    return Conflict(
        f"That {field.replace('_', ' ')} is already taken.", code=f"{field}_taken", field=field
    )


async def add_account(tx: AsyncSession, command: UserCreate, password_hash: str) -> User:
    """Insert the user, refusing a username or email someone else holds (409, per field)."""
    email = command.email.lower() if command.email else None
    taken = await user_queries.taken_fields(tx, username=command.username, email=email)
    if taken:
        raise conflict_for(taken)
    return await user_queries.add_user(
        tx,
        username=command.username,
        email=email,
        password_hash=password_hash,
        name=command.name or command.username,
        role=command.role.value,
    )

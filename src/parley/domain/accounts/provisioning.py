"""Accounts made by operators rather than by sign-up: any role, from the command line.

Also the four users the customer-service chat seed ships with, for development.
"""

from __future__ import annotations

from dataclasses import dataclass

from parley.db import users as user_queries
from parley.db.database import Database
from parley.domain.accounts.creation import add_account
from parley.domain.accounts.schemas import UserCreate, UserPublic
from parley.domain.roles import Role
from parley.security.passwords import PasswordHasher

DEFAULT_PASSWORD = "password123"  # noqa: S105 - documented development-only credentials


@dataclass(frozen=True)
class SeedUser:
    username: str
    name: str
    role: Role


DEFAULT_USERS = (
    SeedUser("agent1", "Agent One", Role.AGENT),
    SeedUser("agent2", "Agent Two", Role.SUPER_AGENT),
    SeedUser("customer1", "Customer One", Role.CUSTOMER),
    SeedUser("customer2", "Customer Two", Role.CUSTOMER),
)


async def create_user(db: Database, hasher: PasswordHasher, command: UserCreate) -> UserPublic:
    """Create an account with any role; refuses a taken username or email."""
    password_hash = await hasher.hash(command.password)
    async with db.transaction() as tx:
        user = await add_account(tx, command, password_hash)
    return UserPublic.model_validate(user)


async def count_users(db: Database) -> int:
    async with db.transaction() as tx:
        return await user_queries.count_users(tx)


async def seed_default_users(db: Database, hasher: PasswordHasher) -> list[str]:
    """Create the default users that do not exist yet; returns the usernames created."""
    created: list[str] = []
    for seed in DEFAULT_USERS:
        async with db.transaction() as tx:
            if await user_queries.taken_fields(tx, username=seed.username):
                continue
        command = UserCreate(
            username=seed.username,
            email=f"{seed.username}@example.com",
            password=DEFAULT_PASSWORD,
            name=seed.name,
            role=seed.role,
        )
        await create_user(db, hasher, command)
        created.append(seed.username)
    return created

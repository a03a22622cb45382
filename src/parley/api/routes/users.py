"""`/api/v1/users`: the directory, your own profile, and admin changes to accounts."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from parley.api.deps import AdminUser, CurrentUser, RuntimeDep
from parley.domain.accounts.schemas import (
    ProfileUpdate,
    RoleUpdate,
    StatusUpdate,
    UserPage,
    UserPublic,
)
from parley.domain.accounts.users import MAX_OFFSET, MAX_PAGE_SIZE

router = APIRouter(prefix="/api/v1/users", tags=["users"])


@router.get("")
async def list_users(
    user: CurrentUser,
    runtime: RuntimeDep,
    # PostgreSQL text cannot hold NUL: refused here rather than failing in the driver.
    search: Annotated[str | None, Query(max_length=100, pattern="^[^\x00]*$", alias="q")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 20,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> UserPage:
    """Users whose name or username contains `q`, oldest account first."""
    return await runtime.users.list_users(user, search=search, limit=limit, offset=offset)


@router.get("/me")
async def get_me(user: CurrentUser, runtime: RuntimeDep) -> UserPublic:
    return await runtime.users.get_user(user.user_id, user)


@router.patch("/me")
async def update_me(body: ProfileUpdate, user: CurrentUser, runtime: RuntimeDep) -> UserPublic:
    """Change your name, email, avatar, state or language; omitted fields stay as they are."""
    return await runtime.users.update_profile(user, body)


@router.get("/{user_id}")
async def get_user(user_id: uuid.UUID, user: CurrentUser, runtime: RuntimeDep) -> UserPublic:
    return await runtime.users.get_user(user_id, user)


@router.put("/{user_id}/role")
async def set_role(
    user_id: uuid.UUID, body: RoleUpdate, admin: AdminUser, runtime: RuntimeDep
) -> UserPublic:
    """Admins only: make someone a customer, agent, super-agent or admin."""
    return await runtime.users.set_role(admin, user_id, body.role)


@router.put("/{user_id}/status")
async def set_status(
    user_id: uuid.UUID, body: StatusUpdate, admin: AdminUser, runtime: RuntimeDep
) -> UserPublic:
    """Admins only: disable (which signs the user out everywhere) or re-enable an account."""
    return await runtime.users.set_status(admin, user_id, body.status)

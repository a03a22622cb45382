"""`/api/v1/auth`: sign up, sign in, refresh, sign out, who am I, device sessions."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status
from pydantic import BaseModel

from parley.api.deps import Client, CurrentUser, RuntimeDep
from parley.api.openapi_doc import errors
from parley.domain.accounts.schemas import (
    AuthResult,
    LoginRequest,
    RefreshRequest,
    SessionPublic,
    UserCreate,
    UserPublic,
)

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


class LogoutRequest(BaseModel):
    all_devices: bool = False


class LogoutResult(BaseModel):
    status: str = "logged_out"
    sessions_revoked: int


@router.post("/register", status_code=status.HTTP_201_CREATED, responses=errors(409))
async def register(body: UserCreate, runtime: RuntimeDep, client: Client) -> AuthResult:
    """Create a customer account and sign it in on this device."""
    return await runtime.auth.register(body, client)


@router.post("/login", responses=errors(401))
async def login(body: LoginRequest, runtime: RuntimeDep, client: Client) -> AuthResult:
    """Sign in with a username or email and a password; opens a device session."""
    return await runtime.auth.log_in(body, client)


@router.post("/refresh", responses=errors(401))
async def refresh(body: RefreshRequest, runtime: RuntimeDep, client: Client) -> AuthResult:
    """Trade a refresh token for a new pair. Each refresh token works once."""
    return await runtime.auth.refresh(body.refresh_token, client)


@router.post("/logout")
async def logout(
    user: CurrentUser, runtime: RuntimeDep, body: LogoutRequest | None = None
) -> LogoutResult:
    """End this device session (or every session with `all_devices`)."""
    all_devices = body.all_devices if body else False
    revoked = await runtime.auth.log_out(user, all_devices=all_devices)
    return LogoutResult(sessions_revoked=revoked)


@router.get("/me")
async def me(user: CurrentUser, runtime: RuntimeDep) -> UserPublic:
    return await runtime.users.get_user(user.user_id, user)


@router.get("/sessions")
async def list_sessions(user: CurrentUser, runtime: RuntimeDep) -> list[SessionPublic]:
    """The caller's live device sessions; `current` marks the one making this request."""
    return await runtime.auth.list_sessions(user)


@router.delete("/sessions/{session_id}", status_code=status.HTTP_204_NO_CONTENT)
async def revoke_session(session_id: uuid.UUID, user: CurrentUser, runtime: RuntimeDep) -> None:
    await runtime.auth.revoke_session(user, session_id)

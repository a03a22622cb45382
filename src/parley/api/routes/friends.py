"""`/api/v1/friends` and `/api/v1/blocks`: friend requests, friendships and blocks."""

from __future__ import annotations

import uuid
from typing import Literal

from fastapi import APIRouter, Response, status

from parley.api.deps import CurrentUser, RuntimeDep
from parley.domain.social.schemas import (
    BlockPublic,
    FriendPublic,
    FriendRequestOutcome,
    FriendRequestPublic,
    UserRef,
)

router = APIRouter(prefix="/api/v1", tags=["friends and blocks"])


@router.get("/friends")
async def list_friends(user: CurrentUser, runtime: RuntimeDep) -> list[FriendPublic]:
    """Your friends, oldest friendship first, each with presence (online, last seen)."""
    return await runtime.friends.friends(user)


@router.delete("/friends/{friend_id}", status_code=status.HTTP_204_NO_CONTENT)
async def unfriend(friend_id: uuid.UUID, user: CurrentUser, runtime: RuntimeDep) -> None:
    """End a friendship (both sides hear `friend_removed`); 404 `not_friends` if none."""
    await runtime.friends.unfriend(user, friend_id)


@router.post("/friends/requests")
async def send_request(
    body: UserRef, user: CurrentUser, runtime: RuntimeDep, response: Response
) -> FriendRequestOutcome:
    """Ask `{user_id}` or `{username}` to be friends. Idempotent: asking again returns the
    same pending request (200); if they had asked you, you are friends now (200,
    `status: friends`). A new request is 201. Refused between a blocker and whom they block."""
    outcome = await runtime.friends.request(user, body)
    response.status_code = status.HTTP_201_CREATED if outcome.created else status.HTTP_200_OK
    return outcome


@router.get("/friends/requests")
async def list_requests(
    user: CurrentUser, runtime: RuntimeDep, direction: Literal["incoming", "outgoing"] = "incoming"
) -> list[FriendRequestPublic]:
    """Pending requests to you (`incoming`, the default) or from you (`outgoing`)."""
    return await runtime.friends.requests(user, incoming=direction == "incoming")


@router.post("/friends/requests/{request_id}/accept")
async def accept_request(
    request_id: uuid.UUID, user: CurrentUser, runtime: RuntimeDep
) -> FriendPublic:
    return await runtime.friends.accept(user, request_id)


@router.post("/friends/requests/{request_id}/reject", status_code=status.HTTP_204_NO_CONTENT)
async def reject_request(request_id: uuid.UUID, user: CurrentUser, runtime: RuntimeDep) -> None:
    await runtime.friends.reject(user, request_id)


@router.delete("/friends/requests/{request_id}", status_code=status.HTTP_204_NO_CONTENT)
async def cancel_request(request_id: uuid.UUID, user: CurrentUser, runtime: RuntimeDep) -> None:
    """Withdraw a request you sent."""
    await runtime.friends.cancel(user, request_id)


@router.get("/blocks")
async def list_blocks(user: CurrentUser, runtime: RuntimeDep) -> list[BlockPublic]:
    return await runtime.blocks.blocks(user)


@router.post("/blocks", status_code=status.HTTP_201_CREATED)
async def block(body: UserRef, user: CurrentUser, runtime: RuntimeDep) -> BlockPublic:
    """Block `{user_id}` or `{username}` (idempotent): it ends your friendship and pending
    requests; they can no longer open a direct chat with you, message you there, befriend you
    or see your presence, and their messages in groups and rooms are hidden from you."""
    return await runtime.blocks.block(user, body)


@router.delete("/blocks/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
async def unblock(user_id: uuid.UUID, user: CurrentUser, runtime: RuntimeDep) -> None:
    """Idempotent."""
    await runtime.blocks.unblock(user, user_id)

"""`/api/v1/rooms`: open rooms (public or private), by id or name — conversations of kind
`room`, so their messages, history and real time are the conversations' own."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, status
from pydantic import BaseModel, Field, StrictBool

from parley.api.deps import CurrentUser, RuntimeDep
from parley.api.openapi_doc import errors
from parley.domain.accounts.schemas import Lenient
from parley.domain.conversations.rooms import MAX_ROOM_PAGE
from parley.domain.conversations.schemas import (
    ConversationCreate,
    ConversationKind,
    ConversationPublic,
    ConversationUpdate,
    MemberAdd,
    RoomName,
    RoomPage,
    Topic,
)

router = APIRouter(prefix="/api/v1/rooms", tags=["rooms"])

Ref = Annotated[str, Field(max_length=100, pattern="^[^\x00]+$")]


class RoomCreate(Lenient):
    name: RoomName
    topic: Topic | None = None
    private: StrictBool = False


class Joined(BaseModel):
    room: ConversationPublic
    joined: bool
    """False when you were a member already."""


@router.post("", status_code=status.HTTP_201_CREATED, responses=errors(409, 429))
async def create_room(
    body: RoomCreate, user: CurrentUser, runtime: RuntimeDep
) -> ConversationPublic:
    """A new room, owned by you; 409 `room_exists` if the name is taken (names are unique
    whatever their case)."""
    command = ConversationCreate(
        kind=ConversationKind.ROOM, name=body.name, topic=body.topic, private=body.private
    )
    return await runtime.conversations.create(user, command)


@router.get("")
async def list_rooms(
    user: CurrentUser,
    runtime: RuntimeDep,
    search: Annotated[str | None, Query(max_length=100, pattern="^[^\x00]*$", alias="q")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_ROOM_PAGE)] = 20,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> RoomPage:
    """Public rooms whose name contains `q`, by name, each with `member_count`; pass
    `next_cursor` back as `cursor` for the next page."""
    return await runtime.rooms.directory(search=search, limit=limit, cursor=cursor)


@router.get("/{ref}")
async def get_room(ref: Ref, user: CurrentUser, runtime: RuntimeDep) -> ConversationPublic:
    """A room by id or name, with its members: any public one; a private one if you are in it."""
    return await runtime.conversations.room(user, ref)


@router.post("/{ref}/join")
async def join_room(ref: Ref, user: CurrentUser, runtime: RuntimeDep) -> Joined:
    """Become a member (a public room; a private one only by invitation: 403 `private_room`).
    A name no room has opens a new public room when `ROOMS_AUTO_CREATE` is on."""
    room, added = await runtime.conversations.join_room(user, ref)
    return Joined(room=room, joined=added)


@router.post("/{ref}/leave", status_code=status.HTTP_204_NO_CONTENT)
async def leave_room(ref: Ref, user: CurrentUser, runtime: RuntimeDep) -> None:
    room_id = await runtime.conversations.resolve(user, ref)
    await runtime.conversations.remove_member(user, room_id, user.user_id)


@router.post("/{ref}/invite")
async def invite(
    ref: Ref, body: MemberAdd, user: CurrentUser, runtime: RuntimeDep
) -> ConversationPublic:
    """Owner and admins add someone (how a private room gets its members)."""
    room_id = await runtime.conversations.resolve(user, ref)
    return await runtime.conversations.add_member(user, room_id, body)


@router.patch("/{ref}", responses=errors(409))
async def update_room(
    ref: Ref, body: ConversationUpdate, user: CurrentUser, runtime: RuntimeDep
) -> ConversationPublic:
    """Owner and admins change `name`, `topic` or `private`."""
    room_id = await runtime.conversations.resolve(user, ref)
    return await runtime.conversations.update(user, room_id, body)


@router.delete("/{ref}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_room(ref: Ref, user: CurrentUser, runtime: RuntimeDep) -> None:
    room_id = await runtime.conversations.resolve(user, ref)
    await runtime.conversations.delete(user, room_id)

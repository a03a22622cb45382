"""Room moderation: `/api/v1/rooms/{ref}/mutes` and `/bans` (groups too, by id), for the
conversation's owner and admins and for admins and super-agents anywhere."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from parley.api.deps import CurrentUser, RuntimeDep
from parley.api.routes.rooms import Ref
from parley.domain.moderation.schemas import (
    RestrictionKind,
    RestrictionList,
    RestrictionPublic,
    RestrictionSet,
)

router = APIRouter(prefix="/api/v1/rooms", tags=["moderation"])


@router.post("/{ref}/mutes", status_code=status.HTTP_201_CREATED)
async def mute_member(
    ref: Ref, body: RestrictionSet, user: CurrentUser, runtime: RuntimeDep
) -> RestrictionPublic:
    """Mute a member (until `until`, or until unmuted): they read; their sends, edits, new
    reactions and typing are refused with 403 `muted_in_room`. Muting again replaces `until`
    and `reason`."""
    return await runtime.restrictions.restrict(user, ref, RestrictionKind.MUTE, body)


@router.get("/{ref}/mutes")
async def list_mutes(ref: Ref, user: CurrentUser, runtime: RuntimeDep) -> RestrictionList:
    """The mutes in force, oldest first."""
    return RestrictionList(items=await runtime.restrictions.list(user, ref, RestrictionKind.MUTE))


@router.delete("/{ref}/mutes/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
async def unmute_member(
    ref: Ref, user_id: uuid.UUID, user: CurrentUser, runtime: RuntimeDep
) -> None:
    await runtime.restrictions.lift(user, ref, RestrictionKind.MUTE, user_id)


@router.post("/{ref}/bans", status_code=status.HTTP_201_CREATED)
async def ban_member(
    ref: Ref, body: RestrictionSet, user: CurrentUser, runtime: RuntimeDep
) -> RestrictionPublic:
    """Ban a user (a member or not): removed at once, their joins and invitations refused
    with 403 `banned_from_room` until `until` or until unbanned."""
    return await runtime.restrictions.restrict(user, ref, RestrictionKind.BAN, body)


@router.get("/{ref}/bans")
async def list_bans(ref: Ref, user: CurrentUser, runtime: RuntimeDep) -> RestrictionList:
    """The bans in force, oldest first."""
    return RestrictionList(items=await runtime.restrictions.list(user, ref, RestrictionKind.BAN))


@router.delete("/{ref}/bans/{user_id}", status_code=status.HTTP_204_NO_CONTENT)
async def unban_member(
    ref: Ref, user_id: uuid.UUID, user: CurrentUser, runtime: RuntimeDep
) -> None:
    """They may join again (they are not added back)."""
    await runtime.restrictions.lift(user, ref, RestrictionKind.BAN, user_id)

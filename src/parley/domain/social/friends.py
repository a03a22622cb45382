"""Friend requests and friendships: send (idempotent; two crossing requests make friends),
accept, reject, cancel, unfriend, and the friends list with presence."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from parley.db import social as queries
from parley.db import users as user_queries
from parley.db.models import FriendRequest, Friendship, User
from parley.domain.accounts.principal import Principal
from parley.domain.events import Audience, Event, user_channel
from parley.domain.social.rules import require_not_blocked
from parley.domain.social.schemas import (
    FriendAccepted,
    FriendPublic,
    FriendRemoved,
    FriendRequestOutcome,
    FriendRequestPublic,
    UserBrief,
    UserRef,
)
from parley.domain.unit_of_work import UnitOfWork, Work
from parley.errors import Forbidden, NotFound, ValidationFailed

FRIEND_REQUESTED = "friend.requested"
FRIEND_ACCEPTED = "friend.accepted"
FRIEND_REJECTED = "friend.rejected"
FRIEND_CANCELLED = "friend.cancelled"
FRIEND_REMOVED = "friend.removed"


def brief(user: User) -> UserBrief:
    return UserBrief(id=user.id, username=user.username, name=user.name, avatar=user.avatar)


def friend_public(friendship: Friendship, user: User) -> FriendPublic:
    return FriendPublic(
        user=brief(user),
        since=friendship.created_at,
        is_online=user.is_online,
        last_seen=user.last_seen_at,
    )


async def find_user(tx: AsyncSession, ref: UserRef) -> User:
    if ref.user_id is not None:
        user = await user_queries.find_user(tx, ref.user_id)
    else:
        user = await user_queries.find_user_by_login(tx, str(ref.username))
    if user is None:
        raise NotFound("No such user.", code="user_not_found")
    return user


def tell(work: Work, name: str, data: Mapping[str, Any], *users: uuid.UUID) -> None:
    """An event about the two of them, on each one's channel (every device hears it)."""
    for user_id in users:
        work.emit(Event(user_channel(user_id), name, dict(data), Audience.USER))


class FriendService:
    def __init__(self, uow: UnitOfWork) -> None:
        self._uow = uow

    async def request(self, principal: Principal, ref: UserRef) -> FriendRequestOutcome:
        try:
            return await self._request(principal, ref)
        except IntegrityError:  # the same request, or its friendship, made at the same moment
            return await self._request(principal, ref)

    async def _request(self, principal: Principal, ref: UserRef) -> FriendRequestOutcome:
        async with self._uow() as work:
            tx = work.tx
            me = await find_user(tx, UserRef(user_id=principal.user_id))
            them = await find_user(tx, ref)
            if them.id == me.id:
                raise ValidationFailed("You cannot befriend yourself.", code="cannot_befriend_self")
            await require_not_blocked(tx, me.id, them.id)
            if await queries.are_friends(tx, me.id, them.id):
                return FriendRequestOutcome(
                    status="friends", friend=await self._friend(tx, me, them)
                )
            mine = await queries.find_request(tx, me.id, them.id)
            if mine is not None:
                return FriendRequestOutcome(status="pending", request=_public(mine, me, them))
            theirs = await queries.find_request(tx, them.id, me.id)
            if theirs is not None:  # crossing requests: friends
                return FriendRequestOutcome(
                    status="friends", friend=await self._befriend(work, theirs, them, me)
                )
            request = FriendRequest(from_user_id=me.id, to_user_id=them.id)
            tx.add(request)
            await tx.flush()
            public = _public(request, me, them)
            tell(work, FRIEND_REQUESTED, public.model_dump(mode="json"), them.id, me.id)
            return FriendRequestOutcome(status="pending", created=True, request=public)

    async def accept(self, principal: Principal, request_id: uuid.UUID) -> FriendPublic:
        async with self._uow() as work:
            request, sender, recipient = await self._load(work.tx, request_id)
            if recipient.id != principal.user_id:
                raise Forbidden("Only its recipient accepts a request.", code="not_the_recipient")
            await require_not_blocked(work.tx, sender.id, recipient.id)
            return await self._befriend(work, request, sender, recipient)

    async def reject(self, principal: Principal, request_id: uuid.UUID) -> None:
        """The recipient says no; the sender hears `friend_request_rejected`."""
        await self._drop(principal, request_id, by_sender=False)

    async def cancel(self, principal: Principal, request_id: uuid.UUID) -> None:
        """The sender withdraws it; the recipient hears `friend_request_cancelled`."""
        await self._drop(principal, request_id, by_sender=True)

    async def _drop(self, principal: Principal, request_id: uuid.UUID, *, by_sender: bool) -> None:
        async with self._uow() as work:
            request, sender, recipient = await self._load(work.tx, request_id)
            if (sender if by_sender else recipient).id != principal.user_id:
                if by_sender:
                    raise Forbidden("Only its sender cancels a request.", code="not_the_sender")
                raise Forbidden("Only its recipient rejects a request.", code="not_the_recipient")
            public = _public(request, sender, recipient).model_dump(mode="json")
            await work.tx.delete(request)
            name = FRIEND_CANCELLED if by_sender else FRIEND_REJECTED
            tell(work, name, public, sender.id, recipient.id)

    async def unfriend(self, principal: Principal, friend_id: uuid.UUID) -> None:
        async with self._uow() as work:
            if not await queries.remove_friendship(work.tx, principal.user_id, friend_id):
                raise NotFound("You are not friends.", code="not_friends")
            removed = FriendRemoved(user_id=str(principal.user_id), friend_id=str(friend_id))
            tell(work, FRIEND_REMOVED, removed, friend_id, principal.user_id)

    async def friends(self, principal: Principal) -> list[FriendPublic]:
        async with self._uow() as work:
            rows = await queries.friends_of(work.tx, principal.user_id)
        return [friend_public(f, u) for f, u in rows]

    async def requests(self, principal: Principal, *, incoming: bool) -> list[FriendRequestPublic]:
        async with self._uow() as work:
            me = await find_user(work.tx, UserRef(user_id=principal.user_id))
            rows = await queries.requests_of(work.tx, principal.user_id, incoming=incoming)
        if incoming:
            return [_public(r, other, me) for r, other in rows]
        return [_public(r, me, other) for r, other in rows]

    async def _load(
        self, tx: AsyncSession, request_id: uuid.UUID
    ) -> tuple[FriendRequest, User, User]:
        request = await tx.get(FriendRequest, request_id)
        if request is None:
            raise NotFound("No such friend request.", code="request_not_found")
        sender = await tx.get(User, request.from_user_id)
        recipient = await tx.get(User, request.to_user_id)
        assert sender is not None  # deleting a user deletes their requests
        assert recipient is not None
        return request, sender, recipient

    async def _befriend(
        self, work: Work, request: FriendRequest, sender: User, recipient: User
    ) -> FriendPublic:
        await queries.drop_requests_between(work.tx, sender.id, recipient.id)
        await queries.add_friendship(work.tx, sender.id, recipient.id)
        friendship = await work.tx.get(Friendship, (recipient.id, sender.id))
        assert friendship is not None
        accepted = FriendAccepted(
            request_id=request.id,
            from_user=brief(sender),
            to_user=brief(recipient),
            since=friendship.created_at,
        )
        tell(work, FRIEND_ACCEPTED, accepted.model_dump(mode="json"), sender.id, recipient.id)
        return friend_public(friendship, sender)

    async def _friend(self, tx: AsyncSession, me: User, them: User) -> FriendPublic:
        friendship = await tx.get(Friendship, (me.id, them.id))
        assert friendship is not None
        return friend_public(friendship, them)


def _public(request: FriendRequest, sender: User, recipient: User) -> FriendRequestPublic:
    return FriendRequestPublic(
        id=request.id,
        from_user=brief(sender),
        to_user=brief(recipient),
        created_at=request.created_at,
    )

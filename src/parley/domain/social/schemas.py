"""The shapes friends and blocks take and give."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import AliasChoices, BaseModel, Field, model_validator
from typing_extensions import TypedDict

from parley.domain.accounts.schemas import Lenient


class UserRef(Lenient):
    """Someone, by id or by username (exactly one of them)."""

    user_id: uuid.UUID | None = Field(
        None, validation_alias=AliasChoices("user_id", "userId", "friend_id", "target_user_id")
    )
    username: str | None = Field(None, min_length=1, max_length=64)

    @model_validator(mode="after")
    def _one_of_them(self) -> UserRef:
        if (self.user_id is None) == (self.username is None):
            raise ValueError("name the user by user_id or by username (one of them)")
        return self


class RequestRef(Lenient):
    request_id: uuid.UUID = Field(validation_alias=AliasChoices("request_id", "requestId", "id"))


class UserBrief(BaseModel):
    id: uuid.UUID
    username: str | None
    name: str
    avatar: str | None


class FriendRequestPublic(BaseModel):
    id: uuid.UUID
    from_user: UserBrief
    to_user: UserBrief
    created_at: datetime


class FriendPublic(BaseModel):
    user: UserBrief
    since: datetime
    is_online: bool
    last_seen: datetime | None


class FriendAccepted(BaseModel):
    """`friend.accepted`, to both of them: the request that made them friends."""

    request_id: uuid.UUID
    from_user: UserBrief
    to_user: UserBrief
    since: datetime


class FriendRemoved(TypedDict):
    """`friend.removed`, to both of them: `user_id` ended the friendship with `friend_id`."""

    user_id: str
    friend_id: str


class FriendRequestOutcome(BaseModel):
    """A request sent: still `pending`, or `friends` already (theirs crossed it, or you were)."""

    status: Literal["pending", "friends"]
    created: bool = False
    """A new request (not one already pending, not a friendship)."""
    request: FriendRequestPublic | None = None
    friend: FriendPublic | None = None


class BlockPublic(BaseModel):
    user: UserBrief
    since: datetime

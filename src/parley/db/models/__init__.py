"""Every table, imported here so that Alembic and `metadata` see all of them."""

from parley.db.models.accounts import DeviceSession, User
from parley.db.models.base import Base
from parley.db.models.conversations import Conversation, ConversationMember, Message, Reaction
from parley.db.models.moderation import MessageReport, RoomRestriction
from parley.db.models.otps import OneTimeCode
from parley.db.models.social import Block, FriendRequest, Friendship
from parley.db.models.uploads import Upload

__all__ = [
    "Base",
    "Block",
    "Conversation",
    "ConversationMember",
    "DeviceSession",
    "FriendRequest",
    "Friendship",
    "Message",
    "MessageReport",
    "OneTimeCode",
    "Reaction",
    "RoomRestriction",
    "Upload",
    "User",
]

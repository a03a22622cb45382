"""Every table, imported here so that Alembic and `metadata` see all of them."""

from parley.db.models.accounts import DeviceSession, User
from parley.db.models.base import Base
from parley.db.models.conversations import Conversation, ConversationMember, Message
from parley.db.models.otps import OneTimeCode

__all__ = [
    "Base",
    "Conversation",
    "ConversationMember",
    "DeviceSession",
    "Message",
    "OneTimeCode",
    "User",
]

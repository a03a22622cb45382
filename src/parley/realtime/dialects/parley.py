"""Parley's own event names, for the events no seed names."""

from __future__ import annotations

from parley.domain.conversations.schemas import (
    ConversationChange,
    ConversationDeleted,
    MemberAdded,
    MemberRemoved,
    MessagePublic,
    ReactionEvent,
    ReadReceipt,
)
from parley.domain.events import Shape
from parley.domain.moderation.schemas import RestrictionChanged
from parley.domain.notifications.schemas import MuteState
from parley.domain.social.schemas import FriendAccepted, FriendRemoved, FriendRequestPublic

EVENTS: dict[str, tuple[str, Shape]] = {
    "message.updated": ("message_updated", MessagePublic),
    "message.deleted": ("message_deleted", MessagePublic),
    "read.updated": ("read_receipt", ReadReceipt),
    "conversation.updated": ("conversation_updated", ConversationChange),
    "conversation.deleted": ("conversation_deleted", ConversationDeleted),
    "member.added": ("conversation_joined", MemberAdded),
    "member.removed": ("member_removed", MemberRemoved),
    "friend.requested": ("friend_request", FriendRequestPublic),
    "friend.accepted": ("friend_request_accepted", FriendAccepted),
    "friend.rejected": ("friend_request_rejected", FriendRequestPublic),
    "friend.cancelled": ("friend_request_cancelled", FriendRequestPublic),
    "friend.removed": ("friend_removed", FriendRemoved),
    "reaction.added": ("reaction_added", ReactionEvent),
    "reaction.removed": ("reaction_removed", ReactionEvent),
    "mute.changed": ("mute_changed", MuteState),
    "member.muted": ("member_muted", RestrictionChanged),
    "member.unmuted": ("member_unmuted", RestrictionChanged),
    "member.banned": ("member_banned", RestrictionChanged),
    "member.unbanned": ("member_unbanned", RestrictionChanged),
}
"""Domain event → (event name, the shape of its data): the model the domain dumps, or the
TypedDict it builds."""
EVENT_NAMES = {domain: name for domain, (name, _) in EVENTS.items()}

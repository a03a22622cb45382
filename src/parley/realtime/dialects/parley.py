"""Parley's own event names, for the events no seed names."""

from __future__ import annotations

EVENT_NAMES = {
    "message.updated": "message_updated",
    "message.deleted": "message_deleted",
    "read.updated": "read_receipt",
    "conversation.updated": "conversation_updated",
    "conversation.deleted": "conversation_deleted",
    "member.added": "conversation_joined",
    "member.removed": "member_removed",
    "friend.requested": "friend_request",
    "friend.accepted": "friend_request_accepted",
    "friend.rejected": "friend_request_rejected",
    "friend.cancelled": "friend_request_cancelled",
    "friend.removed": "friend_removed",
    "reaction.added": "reaction_added",
    "reaction.removed": "reaction_removed",
    "mute.changed": "mute_changed",
    "member.muted": "member_muted",
    "member.unmuted": "member_unmuted",
    "member.banned": "member_banned",
    "member.unbanned": "member_unbanned",
}

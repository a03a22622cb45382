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
}

"""What a push says: a title naming the conversation (or the sender of a direct message),
and the message itself, or how many arrived when several did."""

from __future__ import annotations

from typing import Any


def conversation_title(kind: str, name: str | None, sender: str) -> str:
    if kind == "direct":
        return sender
    if kind == "room":
        return f"#{name}" if name else "Room"
    if kind == "support":
        return name or "Support"
    return name or "Group"


def compose(
    kind: str, name: str | None, items: list[dict[str, Any]], count: int
) -> tuple[str, str]:
    """(title, body) of a push for `count` messages, the newest of which are `items`."""
    newest = items[-1]
    sender = str(newest.get("sender") or "Someone")
    title = conversation_title(kind, name, sender)
    if count > 1:
        if kind == "direct":
            return title, f"{count} new messages from {sender}"
        return title, f"{count} new messages in {title}"
    preview = str(newest.get("preview") or "")
    if kind == "direct":
        return title, preview or "New message"
    return title, f"{sender}: {preview}" if preview else f"New message from {sender}"

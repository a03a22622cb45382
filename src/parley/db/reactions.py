"""Queries on message reactions (emoji stored as the hex of their UTF-8 bytes)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from parley.db.models import Reaction


def emoji_key(emoji: str) -> str:
    return emoji.encode().hex()


def emoji_of(key: str) -> str:
    return bytes.fromhex(key).decode()


async def add(tx: AsyncSession, message_id: uuid.UUID, user_id: uuid.UUID, emoji: str) -> bool:
    """False when that user had that emoji on that message already."""
    key = emoji_key(emoji)
    if await tx.get(Reaction, (message_id, user_id, key)) is not None:
        return False
    tx.add(Reaction(message_id=message_id, user_id=user_id, emoji_hex=key))
    await tx.flush()
    return True


async def remove(tx: AsyncSession, message_id: uuid.UUID, user_id: uuid.UUID, emoji: str) -> bool:
    result = await tx.execute(
        delete(Reaction).where(
            Reaction.message_id == message_id,
            Reaction.user_id == user_id,
            Reaction.emoji_hex == emoji_key(emoji),
        )
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


async def count_kinds(tx: AsyncSession, message_id: uuid.UUID) -> int:
    """How many different emoji the message carries."""
    return int(
        await tx.scalar(
            select(func.count(func.distinct(Reaction.emoji_hex))).where(
                Reaction.message_id == message_id
            )
        )
        or 0
    )


async def count_of(tx: AsyncSession, message_id: uuid.UUID, emoji: str) -> int:
    return int(
        await tx.scalar(
            select(func.count()).where(
                Reaction.message_id == message_id, Reaction.emoji_hex == emoji_key(emoji)
            )
        )
        or 0
    )


async def summary(
    tx: AsyncSession, message_ids: Iterable[uuid.UUID], viewer: uuid.UUID | None
) -> dict[uuid.UUID, list[tuple[str, int, bool]]]:
    """Per message: (emoji, count, whether `viewer` added it), in the order first added."""
    ids = list(message_ids)
    if not ids:
        return {}
    first = func.min(Reaction.created_at)
    counts = await tx.execute(
        select(Reaction.message_id, Reaction.emoji_hex, func.count(), first)
        .where(Reaction.message_id.in_(ids))
        .group_by(Reaction.message_id, Reaction.emoji_hex)
        .order_by(first, Reaction.emoji_hex)
    )
    mine: set[tuple[uuid.UUID, str]] = set()
    if viewer is not None:
        rows = await tx.execute(
            select(Reaction.message_id, Reaction.emoji_hex).where(
                Reaction.message_id.in_(ids), Reaction.user_id == viewer
            )
        )
        mine = {(m, k) for m, k in rows}
    found: dict[uuid.UUID, list[tuple[str, int, bool]]] = {}
    for message_id, key, count, _ in counts:
        found.setdefault(message_id, []).append(
            (emoji_of(key), int(count), (message_id, key) in mine)
        )
    return found

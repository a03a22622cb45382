"""Bulk-store messages into the bench rooms of a Parley database, valid as if they were sent.

    .venv/bin/python benchmarks/seed_history.py DATA_DIR TOTAL            # embedded SQLite
    .venv/bin/python benchmarks/seed_history.py --database-url URL - TOTAL

Brings the number of stored messages in rooms room-0..room-9 (made by the load generator's
joins) up to TOTAL, spread round-robin over the rooms, with direct bulk inserts into the real
schema (the server stopped; the schema already migrated by Parley itself). What the send path
keeps true is kept true here: each room's messages take seq last_seq+1, +2, ... and the room's
last_seq / last_message_at move to its last one; ids are UUIDv7 in the order of (created_at,
seq), created_at a microsecond apart starting now, so messages sent after the seeding sort
after it; the sender is one of the room's members; SQLite's full-text index is filled by its
own triggers, PostgreSQL's GIN index by the insert. Prints how long it took.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOMS = [f"room-{k}" for k in range(10)]
WORDS = (
    "hello world match tonight ready queue lobby win lost again nice play team push mid "
    "top base gg wp rematch later anyone join room chat friend level score map round"
).split()
CHUNK = 20_000


def uuid7(ts_us: int, rand: int) -> uuid.UUID:
    """A UUIDv7 for the microsecond ts_us: 48-bit ms, the sub-ms microseconds as rand_a
    (so ids sort by time to the microsecond), 62 random bits."""
    ms, sub = divmod(ts_us, 1000)
    value = (ms << 80) | (0x7 << 76) | (sub << 64) | (0b10 << 62) | (rand & ((1 << 62) - 1))
    return uuid.UUID(int=value)


def content(i: int) -> str:
    words = " ".join(WORDS[(i * 7 + j * 13) % len(WORDS)] for j in range(12))
    return f"seeded {i} {words}"[:100]


def plan(
    rooms: list[tuple[uuid.UUID, int, list[uuid.UUID]]], count: int
) -> Iterator[tuple[uuid.UUID, uuid.UUID, int, uuid.UUID, str, datetime]]:
    """(id, conversation_id, seq, sender_id, content, created_at) for `count` new messages."""
    start = datetime.now(UTC).replace(tzinfo=None)
    start_us = int(time.time() * 1_000_000)
    next_seq = [last for _, last, _ in rooms]
    rand = int.from_bytes(os.urandom(8), "big")
    for i in range(count):
        k = i % len(rooms)
        conversation_id, _, members = rooms[k]
        next_seq[k] += 1
        rand = (rand * 6364136223846793005 + 1442695040888963407) & ((1 << 64) - 1)
        yield (
            uuid7(start_us + i, rand),
            conversation_id,
            next_seq[k],
            members[(i // len(rooms)) % len(members)],
            content(i),
            start + timedelta(microseconds=i),
        )


def seed_sqlite(data_dir: Path, total: int) -> tuple[int, int]:
    db = sqlite3.connect(data_dir / "parley.db", isolation_level=None)
    db.execute("PRAGMA synchronous=OFF")
    rooms = []
    for key in ROOMS:
        row = db.execute(
            "SELECT id, last_seq FROM conversations WHERE room_key = ?", (key,)
        ).fetchone()
        if row is None:
            raise SystemExit(f"no {key}: run the load generator's joins on this database first")
        members = [
            uuid.UUID(m)
            for (m,) in db.execute(
                "SELECT user_id FROM conversation_members WHERE conversation_id = ?", (row[0],)
            )
        ]
        rooms.append((uuid.UUID(row[0]), int(row[1]), members))
    ids = [r[0].hex for r in rooms]
    marks = ",".join("?" * len(ids))
    stored = db.execute(
        f"SELECT count(*) FROM messages WHERE conversation_id IN ({marks})",  # noqa: S608
        ids,
    ).fetchone()[0]
    todo = max(0, total - stored)
    rows = (
        (m.hex, c.hex, seq, s.hex, "text", text, "null", "null", "null", at.isoformat(" "))
        for m, c, seq, s, text, at in plan(rooms, todo)
    )
    insert = (
        "INSERT INTO messages (id, conversation_id, seq, sender_id, type, content, payload, "
        "attachment_urls, attachments, created_at) VALUES (?,?,?,?,?,?,?,?,?,?)"
    )
    db.execute("BEGIN")
    while True:
        chunk = [row for _, row in zip(range(CHUNK), rows, strict=False)]
        if not chunk:
            break
        db.executemany(insert, chunk)
    db.execute(
        "UPDATE conversations SET last_seq = (SELECT max(seq) FROM messages m WHERE "
        "m.conversation_id = conversations.id), last_message_at = (SELECT max(created_at) FROM "
        f"messages m WHERE m.conversation_id = conversations.id) WHERE id IN ({marks})",  # noqa: S608
        ids,
    )
    db.execute("COMMIT")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return stored, todo


async def seed_postgres(url: str, total: int) -> tuple[int, int]:
    import asyncpg  # type: ignore[import-untyped]

    db = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        rooms = []
        for key in ROOMS:
            row = await db.fetchrow(
                "SELECT id, last_seq FROM conversations WHERE room_key = $1", key
            )
            if row is None:
                raise SystemExit(f"no {key}: run the load generator's joins on this database first")
            members = [
                r["user_id"]
                for r in await db.fetch(
                    "SELECT user_id FROM conversation_members WHERE conversation_id = $1", row["id"]
                )
            ]
            rooms.append((row["id"], int(row["last_seq"]), members))
        ids = [r[0] for r in rooms]
        stored = await db.fetchval(
            "SELECT count(*) FROM messages WHERE conversation_id = ANY($1::uuid[])", ids
        )
        todo = max(0, total - stored)
        columns = ["id", "conversation_id", "seq", "sender_id", "type", "content", "created_at"]
        rows = plan(rooms, todo)
        async with db.transaction():
            while True:
                chunk = [
                    (m, c, seq, s, "text", text, at.replace(tzinfo=UTC))
                    for _, (m, c, seq, s, text, at) in zip(range(CHUNK), rows, strict=False)
                ]
                if not chunk:
                    break
                await db.copy_records_to_table("messages", records=chunk, columns=columns)
            await db.execute(
                "UPDATE conversations c SET last_seq = s.seq, last_message_at = s.at FROM "
                "(SELECT conversation_id, max(seq) seq, max(created_at) at FROM messages "
                "WHERE conversation_id = ANY($1::uuid[]) GROUP BY conversation_id) s "
                "WHERE c.id = s.conversation_id",
                ids,
            )
        await db.execute("ANALYZE messages")
        return int(stored), todo
    finally:
        await db.close()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "data_dir", help="the server's PARLEY_DATA_DIR (ignored with --database-url)"
    )
    parser.add_argument("total", type=int, help="messages stored in the bench rooms afterwards")
    parser.add_argument("--database-url", help="PostgreSQL instead of the embedded SQLite")
    args = parser.parse_args()
    t0 = time.monotonic()
    if args.database_url:
        stored, added = asyncio.run(seed_postgres(args.database_url, args.total))
    else:
        stored, added = seed_sqlite(Path(args.data_dir), args.total)
    secs = time.monotonic() - t0
    rate = added / secs if secs else 0
    print(f"seeded {added} messages onto {stored} in {secs:.1f} s ({rate:.0f}/s)")


if __name__ == "__main__":
    main()

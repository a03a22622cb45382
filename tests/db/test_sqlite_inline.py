"""SQLite on the event loop: a write lock held by another connection is waited for with the
loop free, and past the busy timeout the caller is told the database is busy; the same for
the send path's batches, whose transaction the driver begins itself."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Protocol

import pytest
from sqlalchemy import column, insert, table, text

from parley.db.database import Database
from parley.db.prepared import Prepared
from parley.errors import DatabaseBusy


@pytest.fixture
async def path(tmp_path: Path) -> Path:
    file = tmp_path / "inline.db"
    database = Database(f"sqlite:///{file}")
    async with database.transaction() as session:
        await session.execute(text("CREATE TABLE notes (body TEXT NOT NULL)"))
    await database.dispose()
    return file


def _hold_write_lock(path: Path) -> sqlite3.Connection:
    """Another writer (as a CLI command would be): its own connection, in a write transaction."""
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("PRAGMA journal_mode=WAL")
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO notes VALUES ('theirs')")
    return other


async def _write(database: Database, body: str, *, fail: bool = False) -> None:
    async with database.transaction() as session:
        await session.execute(text("INSERT INTO notes VALUES (:body)"), {"body": body})
        if fail:
            raise RuntimeError("roll it back")


class Writer(Protocol):
    async def __call__(self, database: Database, body: str, *, fail: bool = ...) -> None: ...


_NOTES = table("notes", column("body"))


async def _batch_write(database: Database, body: str, *, fail: bool = False) -> None:
    """A note written on the send path's batch (the driver's own statements)."""
    async with database.batch() as batch:
        await batch.run_many(Prepared(insert(_NOTES), batch.dialect), [{"body": body}])
        if fail:
            raise RuntimeError("roll it back")


async def _bodies(database: Database) -> list[str]:
    async with database.transaction() as session:
        rows = await session.execute(text("SELECT body FROM notes ORDER BY rowid"))
        return [row[0] for row in rows]


WRITERS = pytest.mark.parametrize(
    "write", [_write, _batch_write], ids=["transaction", "batch"]
)  # the ORM's transactions, and the send path's batches (begun on the driver itself)


@WRITERS
async def test_a_lock_held_elsewhere_is_waited_for_while_the_loop_runs_on(
    path: Path, write: Writer
) -> None:
    database = Database(f"sqlite:///{path}", busy_timeout_secs=30)
    other = _hold_write_lock(path)
    try:
        writing = asyncio.create_task(write(database, "ours"))
        # The loop is ours while the write waits: with SQLite's own busy wait on the loop,
        # this coroutine could not run until the lock was gone, and nobody would free it.
        for _ in range(200):
            await asyncio.sleep(0)
        assert not writing.done()
        other.execute("COMMIT")
        await asyncio.wait_for(writing, 10)
        assert await _bodies(database) == ["theirs", "ours"]
    finally:
        other.close()
        await database.dispose()


@WRITERS
async def test_a_lock_held_past_the_busy_timeout_is_database_busy(
    path: Path, write: Writer
) -> None:
    database = Database(f"sqlite:///{path}", busy_timeout_secs=0.2)
    other = _hold_write_lock(path)
    try:
        with pytest.raises(DatabaseBusy):
            await asyncio.wait_for(write(database, "ours"), 10)
        other.execute("ROLLBACK")
        await write(database, "after")  # nothing stuck behind the refusal
        with pytest.raises(RuntimeError):
            await write(database, "dropped", fail=True)
        await write(database, "last")
        assert await _bodies(database) == ["after", "last"]
    finally:
        other.close()
        await database.dispose()


@pytest.mark.parametrize("inline", [True, False], ids=["inline", "thread"])
async def test_both_drivers_commit_and_roll_back(path: Path, inline: bool) -> None:
    database = Database(f"sqlite:///{path}", sqlite_inline=inline)
    try:
        await _write(database, "kept")
        with pytest.raises(RuntimeError):
            await _write(database, "dropped", fail=True)
        assert await _bodies(database) == ["kept"]
    finally:
        await database.dispose()

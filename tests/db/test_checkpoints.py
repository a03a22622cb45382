"""SQLite's write-ahead log is synced and copied back by a thread of its own, never inside a
commit (a checkpoint or a sync in a commit on the event loop stalled every connection for as
long as the disk took: db/checkpoints)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from sqlalchemy import text

from parley.db.checkpoints import WalCheckpoints
from parley.db.database import Database

PAGE = 4096


async def _fill(database: Database, rows: int) -> None:
    """Many small commits, each adding pages to the log."""
    async with database.transaction() as session:
        await session.execute(text("CREATE TABLE IF NOT EXISTS notes (body TEXT NOT NULL)"))
    for n in range(rows):
        async with database.transaction() as session:
            await session.execute(text("INSERT INTO notes VALUES (:b)"), {"b": f"{n}" * 2000})


def _wal_bytes(file: Path) -> int:
    return os.path.getsize(f"{file}-wal")


async def test_commits_leave_checkpoints_to_the_thread(tmp_path: Path) -> None:
    file = tmp_path / "parley.db"
    database = Database(f"sqlite:///{file}")
    try:
        assert database.checkpoints is not None
        database.checkpoints.stop()  # nobody checkpoints now
        async with database.transaction() as session:
            assert (await session.execute(text("PRAGMA wal_autocheckpoint"))).scalar() == 0
            assert (await session.execute(text("PRAGMA synchronous"))).scalar() == 0  # OFF
        await _fill(database, 1500)  # ~1 500 pages: past SQLite's own 1 000-page checkpoint
        assert _wal_bytes(file) > 1500 * PAGE  # no commit copied the log back

        checkpoints = WalCheckpoints(str(file))
        busy, logged, copied = await asyncio.to_thread(checkpoints.run_once) or (1, 0, 0)
        assert busy == 0
        assert copied == logged > 1500
        # The log starts again from its beginning at the next commit.
        await _fill(database, 1)
        busy, logged, copied = await asyncio.to_thread(checkpoints.run_once) or (1, 0, 0)
        assert logged < 10
        checkpoints.stop()
        async with database.transaction() as session:
            count = (await session.execute(text("SELECT count(*) FROM notes"))).scalar()
        assert count == 1501
    finally:
        await database.dispose()


async def test_the_database_thread_checkpoints_as_writes_go_on(tmp_path: Path) -> None:
    database = Database(f"sqlite:///{tmp_path / 'parley.db'}")
    checkpoints = database.checkpoints
    assert checkpoints is not None
    try:
        await _fill(database, 300)
    finally:
        await database.dispose()  # stops the thread after one last checkpoint
    assert checkpoints.runs > 0
    assert checkpoints.last is not None


async def test_stopping_checkpoints_what_is_left(tmp_path: Path) -> None:
    file = tmp_path / "parley.db"
    database = Database(f"sqlite:///{file}")
    try:
        assert database.checkpoints is not None
        checkpoints = WalCheckpoints(str(file), every_secs=3600)  # only the last one
        checkpoints.start()
        await _fill(database, 50)
        checkpoints.stop()
        busy, logged, copied = checkpoints.last or (1, 0, 0)
        assert busy == 0
        assert copied == logged  # nothing left for the connections' close
    finally:
        await database.dispose()


async def test_no_file_is_made_before_the_database_makes_it(tmp_path: Path) -> None:
    missing = tmp_path / "not-yet.db"
    checkpoints = WalCheckpoints(str(missing))
    checkpoints.start()
    checkpoints.stop()  # the thread's last pass ran
    assert await asyncio.to_thread(checkpoints.run_once) is None
    assert not missing.exists()
    assert checkpoints.runs == 0


async def test_a_checkpoint_that_fails_is_tried_again(tmp_path: Path) -> None:
    checkpoints = WalCheckpoints(str(tmp_path))  # a directory: cannot be opened
    assert await asyncio.to_thread(checkpoints.run_once) is None
    checkpoints.start()
    checkpoints.stop()  # still stoppable, and it tried once more
    assert checkpoints.runs == 0
    assert checkpoints.last is None


def test_in_memory_databases_have_no_checkpoint_thread() -> None:
    assert Database("sqlite:///:memory:").checkpoints is None
    assert Database("sqlite://").checkpoints is None

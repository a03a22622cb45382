"""SQLite's write-ahead log synced and copied back into the database file on a thread of its
own, never in a commit on the event loop.

Left to itself, SQLite checkpoints inside the commit that finds the log past 1 000 pages (it
writes the logged pages into the database file and syncs both files), and with
`synchronous=NORMAL` the first commit after the log starts again from its beginning syncs the
log. With SQLite on the event loop (`sqlite_inline`) every connection waited meanwhile, for as
long as the disk took: in the fan-out benchmark at 5 000 delivered/s, faulthandler stacks of
the loop stuck in `commit` for 173, 492 and 1 835 ms, the fixed step's worst delivery 330-481
ms against a p99 of 14-19 ms (this VM's syncs take 0.4 ms to seconds). Which steps of the
ramp passed depended on where a checkpoint fell.

So Parley's own connections neither checkpoint nor sync (`wal_autocheckpoint=0`,
`synchronous=OFF`: engine_setup) and `WalCheckpoints` runs a PASSIVE checkpoint every
`every_secs` on a connection of its own, with the usual syncs, on a daemon thread (the sqlite3
module lets go of the GIL while SQLite writes and syncs). A passive checkpoint waits for no
reader and no writer: it copies what no reader still needs and leaves the rest for next time.

What that keeps: SQLite syncs the log before copying any of it and the database file before
it records the copy, so nothing reaches the database file that is not durable in the log,
and the log starts again (the next writer's doing, after a checkpoint that copied all of it)
only once the database file holds all of it durably. A power loss can therefore cost the last
commits (as `synchronous=NORMAL` could), never the database's consistency: frames written
after a restart carry new salts, so a log whose new header did not reach the disk reads as
empty. A crash of the process loses nothing. `stop` checkpoints once more, so that the last
connection's close (which checkpoints with its own, unsynced, setting and deletes the log)
finds nothing left to copy. Should checkpoints fail (the file gone, say), the log grows and
a warning is logged once until one succeeds again.
"""

from __future__ import annotations

import os
import sqlite3
import threading

import structlog

log = structlog.get_logger(__name__)

CHECKPOINT_EVERY_SECS = 1.0
"""How often the log is copied back: at most this much of the log's growth is left to copy
(a few hundred pages at thousands of sends a second)."""

LOCK_WAIT_SECS = 2.0
"""The checkpoint connection's busy timeout (a passive checkpoint waits on no lock a writer or
reader holds; this bounds the rare one it does need, another process's checkpoint say)."""


class WalCheckpoints:
    def __init__(self, path: str, *, every_secs: float = CHECKPOINT_EVERY_SECS) -> None:
        self._path = path
        self._every_secs = every_secs
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._connection: sqlite3.Connection | None = None
        self._failing = False
        self.last: tuple[int, int, int] | None = None
        """The last checkpoint's answer: (busy, frames in the log, frames copied back)."""
        self.runs = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoints", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Checkpoint one last time and stop (before the database's connections close)."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        else:
            self._close()  # only `run_once` ran: its connection

    def run_once(self) -> tuple[int, int, int] | None:
        """One checkpoint (the thread's every `every_secs`): its answer, or None when the
        file is not there yet or the checkpoint failed (logged once until one succeeds)."""
        if self._connection is None and not os.path.exists(self._path):
            return None  # not made yet: nothing to copy, and no empty file made here
        try:
            if self._connection is None:
                self._connection = sqlite3.connect(
                    self._path,
                    isolation_level=None,
                    check_same_thread=False,
                    timeout=LOCK_WAIT_SECS,
                )
                self._connection.execute("PRAGMA synchronous=NORMAL")
            row = self._connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except sqlite3.Error as exc:
            if not self._failing:
                log.warning("sqlite.checkpoint_failed", error=str(exc))
            self._failing = True
            self._close()
            return None
        self._failing = False
        self.last = (int(row[0]), int(row[1]), int(row[2]))
        self.runs += 1
        return self.last

    def _run(self) -> None:
        last = False
        while not last:
            last = self._stopping.wait(self._every_secs)
            self.run_once()
        self._close()

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

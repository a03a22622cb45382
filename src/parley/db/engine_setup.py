"""How the engine's connections are set up: SQLite's pragmas and write transactions, the
plain sqlite3 reader on the loop, PostgreSQL's check at checkout (see `Database`)."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Iterator
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Engine
from sqlalchemy.exc import DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.pool import StaticPool
from sqlalchemy.util import await_

READ_ONLY = "parley_read_only"
"""Execution option marking a connection that runs one read-only statement (read_rows)."""


WAL_FILE_LIMIT_BYTES = 64 * 1024 * 1024
"""The write-ahead log's file is trimmed to this when it starts again from the beginning."""


def configure_sqlite(
    engine: AsyncEngine, busy_timeout_secs: float, *, inline: bool, checkpoints_elsewhere: bool
) -> None:
    """WAL for concurrent readers; `BEGIN IMMEDIATE` so writers queue instead of deadlocking.

    pysqlite's own transaction handling starts transactions lazily and cannot upgrade a read
    lock to a write lock without failing, so Parley turns it off and begins transactions itself.
    The busy timeout is only for locks held by other processes: within one, writers take
    turns on `Database._write_turn` first. On the loop (`inline`), SQLite itself must never
    wait: the connection has no busy timeout and a refused `BEGIN` is retried with async
    sleeps until the timeout (see begin_immediate). With `checkpoints_elsewhere` no commit
    checkpoints the log: a thread does (db/checkpoints).
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={0 if inline else int(busy_timeout_secs * 1000)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        if checkpoints_elsewhere:
            cursor.execute("PRAGMA synchronous=OFF")
            cursor.execute("PRAGMA wal_autocheckpoint=0")
            cursor.execute(f"PRAGMA journal_size_limit={WAL_FILE_LIMIT_BYTES}")
        else:
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Readers (Database.read_rows) run one SELECT: SQLite gives a lone statement a read
        # transaction of its own, which in WAL mode waits for nobody. A BEGIN would only add
        # a round trip through aiosqlite's thread on every socket connect.
        if connection.get_execution_options().get(READ_ONLY, False):
            return
        if inline:
            if connection.connection.driver_connection.in_transaction:
                return  # begun on the driver itself (db/batch: SqliteBatch.transaction)
            begin_immediate(connection, busy_timeout_secs)
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")


_RETRY_FIRST_SECS = 0.001
_RETRY_MAX_SECS = 0.05


def _retry_waits(timeout_secs: float) -> Iterator[float]:
    """The sleeps between tries of a refused `BEGIN IMMEDIATE`: doubling from 1 ms to at most
    50 ms, for as long as the next one ends within the timeout."""
    deadline = time.monotonic() + timeout_secs
    delay = _RETRY_FIRST_SECS
    while time.monotonic() + delay <= deadline:
        yield delay
        delay = min(delay * 2, _RETRY_MAX_SECS)


async def begin_immediate_on(sqlite: sqlite3.Connection, timeout_secs: float) -> None:
    """`begin_immediate` on the driver's own connection (no SQLAlchemy in between), from a
    coroutine; a refusal past the timeout is sqlite3's own `OperationalError`."""
    waits = _retry_waits(timeout_secs)
    while True:
        try:
            sqlite.execute("BEGIN IMMEDIATE")
            return
        except sqlite3.OperationalError as exc:
            wait = next(waits, None) if is_sqlite_locked(exc) else None
            if wait is None:
                raise
        await asyncio.sleep(wait)


def begin_immediate(connection: Any, timeout_secs: float) -> None:
    """`BEGIN IMMEDIATE` on a connection with no busy timeout: while another process holds
    the write lock, sleep (on the loop, letting everything else run) and try again."""
    waits = _retry_waits(timeout_secs)
    while True:
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
            return
        except OperationalError as exc:
            wait = next(waits, None) if is_contention(exc) else None
            if wait is None:
                raise
        await_(asyncio.sleep(wait))


def local_sqlite_reader(url: URL) -> Engine:
    """One plain sqlite3 connection, used on the event loop itself, for `read_rows`.

    A lone SELECT by key takes about 40 µs here; through aiosqlite it costs several round
    trips to its thread (about 400 µs, most of a socket connect's time on SQLite). In WAL mode
    a reader waits for no writer, and with no busy timeout a rare lock (a checkpoint) fails at
    once instead of blocking the loop: the caller then takes the async path.
    """
    engine = create_engine(url.set(drivername="sqlite+pysqlite"), poolclass=StaticPool)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # no implicit BEGIN: each SELECT stands alone
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA query_only=ON")
        cursor.execute("PRAGMA busy_timeout=0")
        cursor.close()

    return engine


def check_out_live_connections(engine: AsyncEngine) -> None:
    """PostgreSQL: a pooled connection the server has closed is replaced at checkout.

    Instead of `pool_pre_ping`, which cost every checkout three round trips (asyncpg's ping
    is BEGIN, an empty query, ROLLBACK): a restarted or stopped server terminates its
    sessions, which closes their sockets, and asyncpg notices at once (its protocol sees the
    end of the stream), so `is_closed()` answers without asking the server. A connection
    lost without a word (a dropped network path) fails its first statement instead; that
    error invalidates the whole pool (SQLAlchemy's disconnect handling) and is reported as
    `ServiceUnavailable`, as a ping that failed after checkout would have been.
    """

    @event.listens_for(engine.sync_engine, "checkout")
    def _on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        if dbapi_connection.driver_connection.is_closed():
            raise DisconnectionError("the server closed this connection")


# PostgreSQL: serialization_failure, deadlock_detected, lock_not_available.
_PG_CONTENTION = frozenset({"40001", "40P01", "55P03"})
# MySQL/MariaDB: ER_LOCK_WAIT_TIMEOUT, ER_LOCK_DEADLOCK.
_MYSQL_CONTENTION = frozenset({1205, 1213})


def is_contention(exc: DBAPIError) -> bool:
    """A transaction that lost a race for locks (and may simply be run again), as opposed
    to a database that is down."""
    orig = exc.orig
    if getattr(orig, "sqlstate", None) in _PG_CONTENTION:
        return True
    args = getattr(orig, "args", ())
    if args and args[0] in _MYSQL_CONTENTION:
        return True
    return is_sqlite_locked(orig)


def is_sqlite_locked(error: object) -> bool:
    """SQLite refused for a lock another connection holds."""
    text = str(error)
    return "database is locked" in text or "database table is locked" in text

"""SQLite on the event loop itself: aiosqlite's interface, with no thread behind it.

aiosqlite runs each call on a thread of its own and hands the result back to the loop: a
statement costs about four such hand-offs (cursor, execute, fetch, close), and on a VM where
waking a thread is dear (a `futex` round trip of ~250 µs) a send's transaction spent most of
its time waiting on them, not in SQLite, whose statements here take tens of microseconds.
SQLAlchemy's `sqlite+aiosqlite` dialect accepts any connection with aiosqlite's interface
(`async_creator`), so this module gives it one that runs each call where it is made.

What this costs: a statement blocks the loop while SQLite runs it. Parley's statements are
small and bounded (paged reads, batched writes), so that is microseconds; the one wait that
could be long — another process holding the write lock — never happens here: the connection
has no busy timeout, and `Database` retries a refused `BEGIN IMMEDIATE` with async sleeps.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Generator, Iterable, Sequence
from typing import Any


class InlineCursor:
    """An aiosqlite cursor over a plain sqlite3 cursor: every coroutine finishes at once."""

    __slots__ = ("_cursor",)

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> InlineCursor:
        if parameters is None:
            self._cursor.execute(sql)
        else:
            self._cursor.execute(sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Sequence[Any]]) -> InlineCursor:
        self._cursor.executemany(sql, parameters)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        if size is None:
            return self._cursor.fetchmany()
        return self._cursor.fetchmany(size)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def nextset(self) -> None:
        return None

    async def close(self) -> None:
        self._cursor.close()

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value


class _CursorOpening:
    """What `Connection.cursor()` returns in aiosqlite: awaitable, and an async context."""

    __slots__ = ("_cursor",)

    def __init__(self, cursor: InlineCursor) -> None:
        self._cursor = cursor

    def __await__(self) -> Generator[Any, None, InlineCursor]:
        return self._cursor.__aenter__().__await__()

    async def __aenter__(self) -> InlineCursor:
        return self._cursor

    async def __aexit__(self, *_exc: object) -> None:
        await self._cursor.close()


class _RunNow:
    """Stands in for aiosqlite's queue to its thread, which SQLAlchemy's dialect uses directly
    to set `isolation_level`: the call runs at once and settles the future."""

    __slots__ = ()

    @staticmethod
    def put_nowait(item: tuple[asyncio.Future[Any], Callable[[], Any]]) -> None:
        future, function = item
        try:
            future.set_result(function())
        except Exception as exc:  # handed to whoever awaits the future, as aiosqlite does
            future.set_exception(exc)


class InlineConnection:
    """aiosqlite.Connection's interface (what SQLAlchemy's dialect calls), on the caller's
    thread."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._conn = connection
        self._connection: sqlite3.Connection | None = connection
        self._tx = _RunNow()

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    @isolation_level.setter
    def isolation_level(self, value: Any) -> None:
        self._conn.isolation_level = value

    @property
    def sqlite(self) -> sqlite3.Connection:
        """The connection itself, for callers that run statements on it directly
        (db/batch)."""
        return self._conn

    @property
    def in_transaction(self) -> bool:
        return self._conn.in_transaction

    def cursor(self) -> _CursorOpening:
        return _CursorOpening(InlineCursor(self._conn.cursor()))

    async def execute(self, sql: str, parameters: Sequence[Any] | None = None) -> InlineCursor:
        return await InlineCursor(self._conn.cursor()).execute(sql, parameters)

    async def commit(self) -> None:
        self._conn.commit()

    async def rollback(self) -> None:
        self._conn.rollback()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        if self._connection is not None:
            self._connection = None
            self._conn.close()


def inline_connector(path: str) -> Callable[[], Any]:
    """An `async_creator` for `create_async_engine`: opens `path` on the calling thread."""

    async def connect() -> InlineConnection:
        # Every use is on the loop's thread; SQLAlchemy may close a connection it collected
        # as garbage from elsewhere, which sqlite3 refuses unless told not to check.
        return InlineConnection(sqlite3.connect(path, check_same_thread=False))

    return connect

"""A transaction on one pooled connection, run on the driver itself: the send path's.

`Database.batch()` checks out a connection, begins, and hands back a `Batch`: prepared
statements (`db/prepared`) run on the driver's own connection, with no ORM session, no
greenlet hand-off per statement and none of SQLAlchemy's per-execution work. On the inline
SQLite (`db/sqlite_inline`) a statement is a plain `sqlite3` call; on PostgreSQL one
asyncpg call (one round trip); any other driver runs the statement through SQLAlchemy's
greenlet adapter (`Prepared.execute`), as before.

The transaction is SQLAlchemy's (begun and committed, or rolled back, on the
`AsyncConnection`), so a check that needs the ORM (a direct chat's block rules, a resend's
stored message, uploads) asks `session()` for a session bound to the same connection,
inside the same transaction. On the inline SQLite the driver begins and commits it itself
(`SqliteBatch.transaction`: SQLAlchemy's begin and commit are a third of a stored send's
CPU there) and SQLAlchemy is told of it only when a session is asked for.

A driver error is raised as SQLAlchemy would raise it (an `IntegrityError`, a
`DBAPIError` with `connection_invalidated` when the connection is gone, which also
invalidates it), so callers and `Database`'s error mapping see no difference.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, NoReturn

from sqlalchemy import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from parley.db.engine_setup import begin_immediate_on
from parley.db.prepared import Prepared
from parley.db.sqlite_inline import InlineConnection

Row = tuple[Any, ...]


class Batch:
    """Statements on the transaction's connection (the base class runs them through
    SQLAlchemy's greenlet adapter: drivers other than the two below)."""

    def __init__(self, connection: AsyncConnection) -> None:
        self.connection = connection
        self.dialect: Dialect = connection.dialect
        self._session: AsyncSession | None = None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        """Begin; commit when the block ends (the session's changes first), roll back when
        it raises."""
        try:
            async with self.connection.begin():
                yield
                await self.finish()
        finally:
            await self.close()

    async def rows(self, prepared: Prepared, values: Mapping[str, Any]) -> list[Row]:
        """Run once; the result rows (none for a statement that returns none)."""
        try:
            return await self.connection.run_sync(lambda sync: prepared.execute(sync, values))
        except self.dialect.loaded_dbapi.Error as exc:
            await self._raise(exc, prepared.sql, values)

    async def run_many(self, prepared: Prepared, rows: Sequence[Mapping[str, Any]]) -> None:
        """Run once per row of values (one row: a plain execute)."""
        if len(rows) == 1:
            await self.rows(prepared, rows[0])
            return
        try:
            await self.connection.run_sync(lambda sync: prepared.execute_many(sync, rows))
        except self.dialect.loaded_dbapi.Error as exc:
            await self._raise(exc, prepared.sql, rows)

    async def begin(self) -> None:
        """Make sure the transaction has begun before the writes that need it (most
        drivers began with the batch; see `AsyncpgBatch.begin`)."""

    @property
    def has_session(self) -> bool:
        """Whether `session()` was asked for (its changes commit with this transaction)."""
        return self._session is not None

    def session(self) -> AsyncSession:
        """An ORM session in this transaction (made on first use; flushed before commit)."""
        if self._session is None:
            self._session = AsyncSession(bind=self.connection, expire_on_commit=False)
        return self._session

    async def finish(self) -> None:
        """Before commit: the session's pending changes go to the database."""
        if self._session is not None:
            await self._session.flush()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def _raise(self, error: Exception, sql: str, params: Any) -> NoReturn:
        """Raise `error` (the driver's own) as SQLAlchemy's; a lost connection is invalidated."""
        dialect = self.dialect
        dbapi = dialect.loaded_dbapi
        adapted = self.connection.sync_connection.connection.dbapi_connection  # type: ignore[union-attr]
        orig: Exception = error
        if not isinstance(error, dbapi.Error):
            try:
                adapted._handle_exception(error)  # type: ignore[union-attr]  # the adapter's mapping
            except dbapi.Error as translated:
                orig = translated
            except Exception as other:  # not a database error at all
                raise other from error
        lost = dialect.is_disconnect(orig, adapted, None)  # type: ignore[arg-type]
        wrapped = DBAPIError.instance(
            sql, params, orig, dbapi.Error, connection_invalidated=lost, dialect=dialect
        )
        if lost:
            await self.connection.invalidate(error)
        raise wrapped from error


class SqliteBatch(Batch):
    """The inline SQLite connection's `sqlite3.Connection`, called where the loop runs."""

    def __init__(
        self, connection: AsyncConnection, sqlite: sqlite3.Connection, busy_timeout_secs: float
    ) -> None:
        super().__init__(connection)
        self._sqlite = sqlite
        self._busy_timeout_secs = busy_timeout_secs

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        try:
            await begin_immediate_on(self._sqlite, self._busy_timeout_secs)
        except sqlite3.Error as exc:
            await self._raise(exc, "BEGIN IMMEDIATE", ())
        try:
            yield
            await self.finish()
            if self.connection.in_transaction():  # SQLAlchemy's too, for a session
                await self.connection.commit()
            else:
                try:
                    self._sqlite.commit()
                except sqlite3.Error as exc:
                    await self._raise(exc, "COMMIT", ())
        except BaseException:
            if self.connection.in_transaction():
                await self.connection.rollback()
            elif self._sqlite.in_transaction:
                self._sqlite.rollback()
            raise
        finally:
            await self.close()

    def session(self) -> AsyncSession:
        if self._session is None and not self.connection.in_transaction():
            # SQLAlchemy learns of the transaction the driver began (its begin runs no
            # statement: engine_setup sees the driver in one), so that the session joins it.
            self.connection.sync_connection.begin()  # type: ignore[union-attr]
        return super().session()

    async def rows(self, prepared: Prepared, values: Mapping[str, Any]) -> list[Row]:
        params = prepared.params(values)
        try:
            cursor = self._sqlite.execute(prepared.sql, params)
            found = cursor.fetchall() if cursor.description is not None else []
            cursor.close()
        except sqlite3.Error as exc:
            await self._raise(exc, prepared.sql, params)
        return [prepared.row(row) for row in found]

    async def run_many(self, prepared: Prepared, rows: Sequence[Mapping[str, Any]]) -> None:
        params = [prepared.params(row) for row in rows]
        try:
            if len(params) == 1:
                self._sqlite.execute(prepared.sql, params[0]).close()
            else:
                self._sqlite.executemany(prepared.sql, params).close()
        except sqlite3.Error as exc:
            await self._raise(exc, prepared.sql, params)


class AsyncpgBatch(Batch):
    """The asyncpg connection itself: a statement is one round trip (asyncpg keeps it
    prepared), a batch of rows one `executemany`."""

    def __init__(self, connection: AsyncConnection, asyncpg_connection: Any, adapted: Any) -> None:
        super().__init__(connection)
        self._pg = asyncpg_connection
        self._adapted = adapted

    async def begin(self) -> None:
        # Begun on demand, not with the batch: under READ COMMITTED a read sees the same
        # rows inside a transaction or out of one (it takes no locks), and a batch whose
        # writes are one statement needs none (that statement is atomic). SQLAlchemy's
        # adapter begins before its own first statement (an ORM session's) the same way.
        if self._adapted._transaction is None:
            try:
                await self._adapted._start_transaction()
            except Exception as exc:
                await self._raise(exc, "BEGIN", ())

    async def rows(self, prepared: Prepared, values: Mapping[str, Any]) -> list[Row]:
        params = prepared.params(values)
        try:
            found = await self._pg.fetch(prepared.sql, *params)
        except Exception as exc:
            await self._raise(exc, prepared.sql, params)
        return [prepared.row(row) for row in found]

    async def run_many(self, prepared: Prepared, rows: Sequence[Mapping[str, Any]]) -> None:
        params = [prepared.params(row) for row in rows]
        try:
            if len(params) == 1:
                await self._pg.execute(prepared.sql, *params[0])
            else:
                await self._pg.executemany(prepared.sql, params)
        except Exception as exc:
            await self._raise(exc, prepared.sql, params)


def open_batch(connection: AsyncConnection, *, busy_timeout_secs: float) -> Batch:
    """The `Batch` for this connection; its `transaction()` begins one."""
    fairy = connection.sync_connection.connection  # type: ignore[union-attr]
    driver = fairy.driver_connection
    if isinstance(driver, InlineConnection):
        return SqliteBatch(connection, driver.sqlite, busy_timeout_secs)
    if type(driver).__module__.startswith("asyncpg"):
        return AsyncpgBatch(connection, driver, fairy.dbapi_connection)
    return Batch(connection)

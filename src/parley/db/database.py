"""The database handle: one async engine per process, transactions as context managers."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Executable, Row, Select, text
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import PoolProxiedConnection

from parley.db.batch import Batch, open_batch
from parley.db.checkpoints import WalCheckpoints
from parley.db.engine_setup import (
    READ_ONLY,
    check_out_live_connections,
    configure_sqlite,
    is_contention,
    local_sqlite_reader,
)
from parley.db.prepared import Prepared, prepare_for
from parley.db.sqlite_inline import inline_connector
from parley.errors import DatabaseBusy, ServiceUnavailable

_ASYNC_DRIVERS = {
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "mysql": "mysql+asyncmy",
    "mariadb": "mysql+asyncmy",
    "sqlite": "sqlite+aiosqlite",
}


def normalize_url(raw: str) -> URL:
    """Accept the URLs people paste (`postgres://…`) and pick Parley's async driver."""
    url = make_url(raw)
    if "+" not in url.drivername:
        driver = _ASYNC_DRIVERS.get(url.drivername)
        if driver is None:
            raise ValueError(f"unsupported database URL scheme: {url.drivername!r}")
        url = url.set(drivername=driver)
    if url.drivername.startswith("postgresql") and "sslmode" in url.query:
        # libpq's sslmode means nothing to asyncpg, which calls it `ssl`.
        query = dict(url.query)
        query["ssl"] = query.pop("sslmode")
        url = url.set(query=query)
    if url.drivername.startswith("mysql") and "charset" not in url.query:
        url = url.update_query_dict({"charset": "utf8mb4"})
    return url


KEEP_BATCH_CONNECTION_SECS = 1800.0
"""The kept batch connection is replaced after this long (the pool's `pool_recycle`)."""


def is_outage(exc: DBAPIError) -> bool:
    """PostgreSQL refusing connections while it shuts down or starts up (`57P0x`: asyncpg's
    errors for these reach SQLAlchemy as a plain DBAPIError) or a connection failure (`08`)."""
    sqlstate = str(getattr(exc.orig, "sqlstate", None) or "")
    return sqlstate.startswith(("57P", "08"))


@contextmanager
def _unavailable_as_error() -> Iterator[None]:
    try:
        yield
    except PoolTimeout as exc:  # every pooled connection stayed in use: a queue, not an outage
        raise DatabaseBusy() from exc
    except (OperationalError, InterfaceError, OSError) as exc:
        if isinstance(exc, DBAPIError) and is_contention(exc):
            raise DatabaseBusy() from exc
        raise ServiceUnavailable("The database is unavailable; try again shortly.") from exc
    except DBAPIError as exc:
        if exc.connection_invalidated:
            raise ServiceUnavailable("The database connection was lost.") from exc
        if is_outage(exc):
            raise ServiceUnavailable("The database is unavailable; try again shortly.") from exc
        if is_contention(exc):
            raise DatabaseBusy() from exc
        raise


class Database:
    def __init__(
        self,
        url: str,
        *,
        pool_size: int = 10,
        echo: bool = False,
        queue_timeout_secs: float = 30.0,
        busy_timeout_secs: float = 10.0,
        sqlite_inline: bool = True,
    ) -> None:
        """`sqlite_inline`: run SQLite on the event loop (see db/sqlite_inline.py) rather than
        on aiosqlite's thread."""
        self.url = normalize_url(url)
        self._queue_timeout_secs = queue_timeout_secs
        options: dict[str, Any] = {"echo": echo, "pool_pre_ping": not self.is_postgres}
        self._busy_timeout_secs = busy_timeout_secs
        if self.is_sqlite:
            database = self.url.database or ""
            if database and database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)
            # A URL with driver options (`?uri=true`, …) is aiosqlite's to interpret.
            sqlite_inline = sqlite_inline and not self.url.query
            if sqlite_inline:
                options["async_creator"] = inline_connector(database or ":memory:")
        else:
            options.update(
                pool_size=pool_size,
                max_overflow=pool_size,
                pool_recycle=1800,
                pool_timeout=queue_timeout_secs,
            )
        self.engine = create_async_engine(self.url, **options)
        if self.is_postgres:
            check_out_live_connections(self.engine)
        # SQLite has one writer at a time, and every transaction here begins IMMEDIATE (a
        # write lock). Left to SQLite, the waiting transactions poll its busy handler with
        # growing sleeps, in no order: under a burst (a thousand joins at once) the unlucky
        # ones waited out the busy timeout and were told the database was down. An asyncio
        # lock queues them in arrival order and costs nothing while SQLite's lock is free.
        self._write_turn: asyncio.Lock | None = None
        self._checkpoints: WalCheckpoints | None = None
        if self.is_sqlite:
            database = self.url.database or ":memory:"
            if database != ":memory:" and not self.url.query:
                self._checkpoints = WalCheckpoints(database)
            configure_sqlite(
                self.engine,
                busy_timeout_secs,
                inline=sqlite_inline,
                checkpoints_elsewhere=self._checkpoints is not None,
            )
            self._write_turn = asyncio.Lock()
            if self._checkpoints is not None:
                self._checkpoints.start()
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        # One statement needs no transaction around it: on PostgreSQL, autocommit saves the
        # BEGIN and COMMIT round trips (asyncpg sets it without asking the server).
        self._read_only: dict[str, Any] = {READ_ONLY: True}
        if self.is_postgres:
            self._read_only["isolation_level"] = "AUTOCOMMIT"
        self._local_reader: Engine | None = None
        self._kept: AsyncConnection | None = None
        self._kept_since = 0.0
        self._local_sqlite: PoolProxiedConnection | None = None
        if self.is_sqlite and (self.url.database or ":memory:") != ":memory:":
            self._local_reader = local_sqlite_reader(self.url)

    @property
    def dialect(self) -> str:
        return self.url.get_backend_name()

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction: committed on success, rolled back on error.

        Losing the database surfaces as `ServiceUnavailable`, never as a bare driver error.
        """
        with _unavailable_as_error():
            async with self._turn(), self._sessions() as session, session.begin():
                yield session

    @asynccontextmanager
    async def batch(self) -> AsyncIterator[Batch]:
        """One transaction on one pooled connection, its statements run on the driver
        itself (see db/batch): the send path's. Committed on success, rolled back on error;
        losing the database surfaces as `ServiceUnavailable`, as for `transaction`.

        The connection is kept between batches (one, for the send queue's writer, which
        runs one batch at a time): checking one out of the pool and giving it back (and the
        pool's rollback on return) cost a send about as much as its statements.
        """
        with _unavailable_as_error():
            async with self._turn():
                connection = await self._batch_connection()
                try:
                    batch = open_batch(connection, busy_timeout_secs=self._busy_timeout_secs)
                    async with batch.transaction():
                        yield batch
                finally:
                    await self._keep(connection)

    async def _batch_connection(self) -> AsyncConnection:
        connection, self._kept = self._kept, None
        if connection is not None and self._still_good(connection):
            return connection
        if connection is not None:
            await connection.close()
        connection = await self.engine.connect()
        self._kept_since = time.monotonic()
        return connection

    def _still_good(self, connection: AsyncConnection) -> bool:
        """Not invalidated, not older than the pool's recycle age, and on PostgreSQL not
        closed by the server (what the pool's checkout checks: check_out_live_connections)."""
        if connection.invalidated or connection.closed:
            return False
        if time.monotonic() - self._kept_since > KEEP_BATCH_CONNECTION_SECS:
            return False
        if self.is_postgres:
            fairy = connection.sync_connection.connection  # type: ignore[union-attr]
            driver: Any = fairy.driver_connection
            return not driver.is_closed()
        return True

    async def _keep(self, connection: AsyncConnection) -> None:
        if self._kept is None and not connection.invalidated and not connection.closed:
            self._kept = connection
        else:
            await connection.close()

    @asynccontextmanager
    async def _turn(self) -> AsyncIterator[None]:
        """On SQLite, wait (in order, for at most the queue timeout) for this instance's one
        write transaction at a time; elsewhere the pool's own queue does this."""
        lock = self._write_turn
        if lock is None:
            yield
            return
        try:
            async with asyncio.timeout(self._queue_timeout_secs):
                await lock.acquire()
        except TimeoutError as exc:
            raise DatabaseBusy() from exc
        try:
            yield
        finally:
            lock.release()

    async def read_rows(
        self, statement: Executable, params: Mapping[str, Any] | None = None
    ) -> Sequence[Row[Any]]:
        """The rows of one read-only Core statement, for hot paths (a sign-in on every socket
        connect): no ORM session to build, no transaction around it, and on SQLite no write
        lock to queue for (run on the event loop itself: see local_sqlite_reader)."""
        if self._local_reader is not None:
            try:
                with self._local_reader.connect() as connection:
                    return connection.execute(statement, params).all()
            except OperationalError:
                pass  # locked for a moment: the async path waits its turn
        with _unavailable_as_error():
            async with self.engine.connect() as connection:
                await connection.execution_options(**self._read_only)
                async with connection.begin():
                    return (await connection.execute(statement, params)).all()

    async def read_prepared(
        self, statement: Select[Any], params: Mapping[str, Any] | None = None
    ) -> list[tuple[Any, ...]]:
        """`read_rows` for a statement built once (a module's constant), run prepared on the
        driver itself (db/prepared, db/batch): the per-message reads (push planning), where
        SQLAlchemy's per-execution work cost several times the query."""
        values = params or {}
        if self._local_reader is not None:
            local = prepare_for(self._local_reader.dialect, statement, lambda: statement)
            try:
                return self._local_rows(local, values)
            except sqlite3.OperationalError:
                pass  # locked for a moment: the async path waits its turn
        prepared = prepare_for(self.engine.dialect, statement, lambda: statement)
        with _unavailable_as_error():
            async with self.engine.connect() as connection:
                await connection.execution_options(**self._read_only)
                async with connection.begin():
                    batch = open_batch(connection, busy_timeout_secs=self._busy_timeout_secs)
                    return await batch.rows(prepared, values)

    def _local_rows(self, prepared: Prepared, values: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        if self._local_sqlite is None:
            assert self._local_reader is not None
            # StaticPool: its one connection, checked out for the engine's life (given back in
            # `dispose`), used on the loop's thread only.
            self._local_sqlite = self._local_reader.raw_connection()
        sqlite = cast(sqlite3.Connection, self._local_sqlite.driver_connection)
        cursor = sqlite.execute(prepared.sql, prepared.params(values))
        try:
            return [prepared.row(row) for row in cursor.fetchall()]
        finally:
            cursor.close()

    async def ping(self) -> None:
        async with self.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))

    @property
    def checkpoints(self) -> WalCheckpoints | None:
        """SQLite's checkpoint thread (db/checkpoints), on a database file."""
        return self._checkpoints

    async def dispose(self) -> None:
        if self._checkpoints is not None:
            await asyncio.to_thread(self._checkpoints.stop)
        kept, self._kept = self._kept, None
        if kept is not None:
            await kept.close()
        if self._local_sqlite is not None:
            self._local_sqlite.close()
            self._local_sqlite = None
        if self._local_reader is not None:
            self._local_reader.dispose()
        await self.engine.dispose()

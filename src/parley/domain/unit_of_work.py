"""One transaction, and the events it produces, published only once it has committed.

    async with self._uow() as work:
        ...  # read and write through work.tx
        work.emit(Event(...))
    # committed: the events are on the broker now; rolled back: they never leave

This is the only way events leave the domain, so nothing is pushed for a change that did
not happen.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from parley.db.batch import Batch
from parley.db.database import Database
from parley.domain.events import Event
from parley.domain.ports import Broker, LoggedMessage, RecoveryStore
from parley.domain.timings import Timings

log = structlog.get_logger(__name__)


@dataclass
class Work:
    tx: AsyncSession
    events: list[Event] = field(default_factory=list)

    def emit(self, event: Event) -> None:
        self.events.append(event)


@dataclass
class BatchWork:
    """A unit of work on `Database.batch()`: prepared statements on the driver, an ORM
    session only when asked for (`batch.session()`)."""

    batch: Batch
    events: list[Event] = field(default_factory=list)

    def emit(self, event: Event) -> None:
        self.events.append(event)


MESSAGE_CREATED = "message.created"


class EventPublisher:
    def __init__(self, broker: Broker) -> None:
        self._broker = broker
        self._log: RecoveryStore | None = None
        self._on_message: list[Callable[[Event], None]] = []
        self.timings = Timings()
        """Where the commit and publish durations go (the metrics' histograms)."""

    def on_message_created(self, listener: Callable[[Event], None]) -> None:
        """Call `listener` with every new message this instance publishes, once committed
        (push notifications plan from here). It must not block."""
        self._on_message.append(listener)

    def log_messages(self, log: RecoveryStore) -> None:
        """New messages go through the recovery log from now on: each is published with its
        position, the offset a Socket.IO client resumes from (`realtime.recovery`)."""
        self._log = log

    async def publish(self, events: list[Event]) -> None:
        observe = self.timings.publish
        for event in events:
            if event.name == MESSAGE_CREATED:
                for listener in self._on_message:
                    listener(event)
            started = time.perf_counter()
            try:
                if self._log is not None and event.name == MESSAGE_CREATED:
                    message = LoggedMessage(
                        "", event.channel[2:], int(event.data["seq"]), event.origin
                    )
                    await self._log.publish_message(
                        event.channel, event.encode_positioned(), message
                    )
                else:
                    await self._broker.publish(event.channel, event.encode())
                observe(time.perf_counter() - started)
            except Exception:  # the change is committed; clients catch up from history
                log.exception("event.publish_failed", event_name=event.name, channel=event.channel)


class UnitOfWork:
    def __init__(self, db: Database, publisher: EventPublisher) -> None:
        self._db = db
        self.publisher = publisher

    @property
    def db(self) -> Database:
        """For one-statement reads that need no unit of work (Database.read_rows)."""
        return self._db

    @asynccontextmanager
    async def __call__(self) -> AsyncIterator[Work]:
        async with self._db.transaction() as tx:
            work = Work(tx)
            yield work
            committing = time.perf_counter()
        self.publisher.timings.commit(time.perf_counter() - committing)
        if work.events:
            await self.publisher.publish(work.events)

    @asynccontextmanager
    async def batch(self) -> AsyncIterator[BatchWork]:
        """As calling this, on `Database.batch()` (the send path's)."""
        async with self._db.batch() as batch:
            work = BatchWork(batch)
            yield work
            committing = time.perf_counter()
        self.publisher.timings.commit(time.perf_counter() - committing)
        if work.events:
            await self.publisher.publish(work.events)

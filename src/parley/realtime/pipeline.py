"""One connection's commands, in arrival order, with its sends overlapping.

A send is answered only after its batch has committed. If a connection's reader waited for
that answer before reading the next frame, a client could never send faster than one commit
per round trip, and group commit would see at most one send per connection. So the reader
starts a send and reads on; the answer goes out when the commit does.

Order still holds. Sends start in arrival order (asyncio runs new tasks first come, first
served) and each one joins the group-commit queue before its first await, so a connection's
messages take their seqs in the order it sent them. Any other command first waits for the
sends before it: a `leave` or `read` never overtakes a message sent ahead of it.

At most `limit` sends are in flight per connection; past that the reader waits for the
oldest, and the client's socket backs up instead of server memory.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

import structlog

log = structlog.get_logger(__name__)

MAX_SENDS_IN_FLIGHT = 64


class CommandPipeline:
    __slots__ = ("_in_flight", "_limit")

    def __init__(self, limit: int = MAX_SENDS_IN_FLIGHT) -> None:
        self._in_flight: dict[asyncio.Task[None], None] = {}  # insertion order = arrival order
        self._limit = limit

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    async def overlap(self, command: Coroutine[Any, Any, None]) -> None:
        """Start a send; returns once it has taken its first step (joined the commit queue),
        without waiting for its answer."""
        try:
            while len(self._in_flight) >= self._limit:
                await asyncio.wait((next(iter(self._in_flight)),))
        except BaseException:
            command.close()
            raise
        task = asyncio.ensure_future(command)
        self._in_flight[task] = None
        task.add_done_callback(self._finished)
        # Let it start now: a close read in the same pass would otherwise cancel it before it
        # ever joined the queue, and the message would be neither stored nor answered.
        await asyncio.sleep(0)

    async def run(self, command: Coroutine[Any, Any, None]) -> None:
        """Any other command: after every send that arrived before it."""
        try:
            if self._in_flight:
                await asyncio.wait(tuple(self._in_flight))
        except BaseException:
            command.close()
            raise
        await command

    def cancel(self) -> None:
        """The connection is gone: its unanswered sends have nobody to answer. (A send that
        already joined a batch is still stored and delivered to everyone else.)"""
        for task in self._in_flight:
            task.cancel()

    def _finished(self, task: asyncio.Task[None]) -> None:
        del self._in_flight[task]
        if not task.cancelled() and task.exception() is not None:
            # Handlers answer their own errors; reaching here is a bug in one.
            log.error("pipeline.command_failed", exc_info=task.exception())

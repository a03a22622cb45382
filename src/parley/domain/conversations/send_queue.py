"""Group commit for sends: whatever arrives while one batch commits goes in the next.

Under load many sends are in flight at once; storing each in its own transaction costs a
dozen database round trips apiece. The queue hands them to one writer that stores a whole
batch in one transaction (see `MessageService.send_many`), so the round trips are shared.
When sends trickle in, a batch is one send and nothing waits: there is no timer.

Each send still resolves only after its batch has committed, with its own result or error.
If the batch itself fails (a database error, a duplicate raced in by another instance) the
writer retries each send alone, so one bad send never takes the others down with it.
"""

from __future__ import annotations

import asyncio
from collections import deque

import structlog

from parley.domain.accounts.principal import Principal
from parley.domain.conversations.messages import MessageService, PendingSend, SendOutcome
from parley.domain.conversations.schemas import MessagePublic, MessageSend
from parley.errors import ParleyError, ServiceUnavailable
from parley.lifecycle import stop_task

log = structlog.get_logger(__name__)

MAX_BATCH = 200


class SendQueue:
    keeps_arrival_order = True  # `send` appends to the line before it awaits anything

    def __init__(self, messages: MessageService, *, max_pending: int = 10_000) -> None:
        self._messages = messages
        self._pending: deque[tuple[PendingSend, asyncio.Future[tuple[MessagePublic, bool]]]] = (
            deque()
        )
        self._max_pending = max_pending
        self._wakeup = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._writer = asyncio.create_task(self._run(), name="send-queue-writer")

    async def close(self) -> None:
        await stop_task(self._writer)
        while self._pending:
            _, future = self._pending.popleft()
            if not future.done():
                future.set_exception(ServiceUnavailable("The server is shutting down."))

    async def send(
        self, principal: Principal, command: MessageSend, origin: str | None
    ) -> tuple[MessagePublic, bool]:
        if len(self._pending) >= self._max_pending:
            raise ServiceUnavailable(
                "Too many messages waiting to be stored; retry shortly.", code="overloaded"
            )
        future: asyncio.Future[tuple[MessagePublic, bool]] = (
            asyncio.get_running_loop().create_future()
        )
        self._pending.append((PendingSend(principal, command, origin), future))
        self._wakeup.set()
        return await future

    async def _run(self) -> None:
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._pending:
                batch = [self._pending.popleft() for _ in range(min(MAX_BATCH, len(self._pending)))]
                await self._write(batch)

    async def _write(
        self, batch: list[tuple[PendingSend, asyncio.Future[tuple[MessagePublic, bool]]]]
    ) -> None:
        try:
            outcomes = await self._messages.send_many([item for item, _ in batch])
        except Exception as exc:
            if len(batch) == 1:
                _settle(batch[0][1], exc)
                return
            log.info("send_queue.batch_failed", size=len(batch), error=type(exc).__name__)
            for item, future in batch:  # one at a time: each gets its own result or error
                await self._write([(item, future)])
            return
        for (_, future), outcome in zip(batch, outcomes, strict=True):
            _settle(future, outcome)


def _settle(
    future: asyncio.Future[tuple[MessagePublic, bool]], outcome: SendOutcome | BaseException
) -> None:
    if future.done():  # the sender went away (its connection closed)
        return
    if isinstance(outcome, BaseException):
        future.set_exception(outcome)
    elif outcome is None:
        future.set_exception(ParleyError("The message was not stored."))
    else:
        future.set_result(outcome)

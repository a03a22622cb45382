"""Pushes to the devices of members who are offline when a message arrives.

After a message commits (`message_created`, called by the publisher), its pushes are planned
in the background: the members who may get one (not the sender, not muting the conversation,
not blocking the sender, with a device that has a token: one query) and who have no live
connection on any instance (the presence store) are added to the push queue under
`<user>:<conversation>`, due `PUSH_GRACE_SECS` later. Messages to the same member in the same
conversation meanwhile join that entry: one push says "3 new messages in #room".

When an entry falls due (every instance polls; each entry is taken by one), it is sent only if
the member is still offline, still a member, has not muted the conversation and has not read
those messages meanwhile (a client that reconnected got them by catch-up), and the per-user
rate limit allows; the messages are read again, so that an edit shows and a deleted one is
left out; then it goes to every live device with a token, through the notifier. Passing
failures are retried with exponential backoff (or the push service's `Retry-After`), up to
`PUSH_MAX_ATTEMPTS`; tokens the push service calls dead are taken off their sessions.

Counted: devices pushed to (`sent`), devices given up on (`failed`), and pushes not sent, by
reason (`dropped`).
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import structlog

from parley.db import push as push_queries
from parley.db import sessions as session_queries
from parley.db.database import Database
from parley.db.types import utcnow
from parley.domain.events import Event
from parley.domain.notifications.compose import compose
from parley.domain.ports import (
    DeliveryReport,
    Notification,
    Notifier,
    PendingPush,
    PresenceStore,
    PushQueue,
    PushTarget,
    RateLimit,
)
from parley.lifecycle import stop_task

log = structlog.get_logger(__name__)

KEEP_ITEMS = 10
"""Messages one waiting push remembers (its `message_ids`); the count goes on past it."""
PREVIEW_CHARS = 200
PLAN_BATCH = 256
"""New messages planned in one round (grouped by conversation and sender)."""
MAX_BACKOFF_SECS = 300.0
DROP_REASONS = (
    "queue_full",
    "too_many_recipients",
    "online",
    "read",
    "deleted",
    "muted",
    "not_member",
    "no_devices",
    "rate_limited",
    "error",
)


class PushService:
    def __init__(
        self,
        db: Database,
        presence: PresenceStore,
        queue: PushQueue,
        notifier: Notifier,
        rate_limit: RateLimit,
        *,
        grace_secs: float,
        queue_limit: int,
        max_recipients: int,
        max_attempts: int,
        retry_base_secs: float,
        concurrency: int,
    ) -> None:
        self._db = db
        self._presence = presence
        self._queue = queue
        self._notifier = notifier
        self._rate_limit = rate_limit
        self._grace = grace_secs
        self._max_recipients = max_recipients
        self._max_attempts = max_attempts
        self._retry_base = retry_base_secs
        self._concurrency = concurrency
        self._poll_secs = min(1.0, max(0.02, grace_secs / 4))
        self._incoming: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=queue_limit)
        self._deliveries: set[asyncio.Task[None]] = set()
        self._planner: asyncio.Task[None] | None = None
        self._poller: asyncio.Task[None] | None = None
        self.sent = 0
        self.failed = 0
        self.dropped: Counter[str] = Counter({reason: 0 for reason in DROP_REASONS})

    # -- planning ---------------------------------------------------------------------------

    def message_created(self, event: Event) -> None:
        """A message was committed (the publisher calls this after commit). Never blocks."""
        try:
            self._incoming.put_nowait(event.data)
        except asyncio.QueueFull:  # counted each time, logged now and then: this is a flood
            self.dropped["queue_full"] += 1
            if self.dropped["queue_full"] % 1000 == 1:
                log.warning("push.queue_full", dropped=self.dropped["queue_full"])

    async def _plan_forever(self) -> None:
        while True:
            batch = [await self._incoming.get()]
            while len(batch) < PLAN_BATCH and not self._incoming.empty():
                batch.append(self._incoming.get_nowait())
            # A burst in one conversation from one sender is planned with one query.
            groups: dict[tuple[str, str | None], list[dict[str, Any]]] = {}
            for message in batch:
                sender = message.get("sender_id")
                key = (str(message["conversation_id"]), str(sender) if sender else None)
                groups.setdefault(key, []).append(message)
            for (conversation, sender), messages in groups.items():
                try:
                    await self._plan(conversation, sender, messages)
                except Exception:  # these messages' pushes are lost; the next ones go on
                    self.dropped["error"] += len(messages)
                    log.exception("push.plan_failed", message_ids=[m.get("id") for m in messages])

    async def _plan(
        self, conversation: str, sender: str | None, messages: list[dict[str, Any]]
    ) -> None:
        """Queue pushes of `messages` (one conversation's, from one sender) for the members
        who are offline now and may get them."""
        conversation_id = uuid.UUID(conversation)
        sender_id = uuid.UUID(sender) if sender else None
        # A plain read (on SQLite not in the line of writers), one indexed query.
        query, params = push_queries.push_candidates(
            conversation_id, sender_id, utcnow(), limit=self._max_recipients + 1
        )
        candidates = [row[0] for row in await self._db.read_prepared(query, params)]
        if not candidates:
            return
        if len(candidates) > self._max_recipients:
            candidates = candidates[: self._max_recipients]
            self._drop("too_many_recipients", conversation_id=conversation)
        items = [
            {
                "id": str(message["id"]),
                "seq": int(message["seq"]),
                "sender_id": sender,
                "sender": _sender_name(message),
                "preview": _preview(message),
            }
            for message in messages
        ]
        offline = [u for u in candidates if not await self._presence.is_online(str(u))]
        for user_id in offline:
            key = f"{user_id}:{conversation_id}"
            for item in items:
                await self._queue.add(key, item, delay_secs=self._grace, keep=KEEP_ITEMS)
        log.info(
            "push.planned",
            message_ids=[item["id"] for item in items],
            conversation_id=conversation,
            scheduled=len(offline),
            online=len(candidates) - len(offline),
        )

    # -- delivery ---------------------------------------------------------------------------

    async def _poll_forever(self) -> None:
        while True:
            free = self._concurrency - len(self._deliveries)
            if free > 0:
                try:
                    due = await self._queue.take_due(free)
                except Exception:  # Redis away: the entries wait there for the next round
                    log.exception("push.queue_unavailable")
                    due = []
                for pending in due:
                    task = asyncio.create_task(self._deliver(pending), name="push-delivery")
                    self._deliveries.add(task)
                    task.add_done_callback(self._deliveries.discard)
            await asyncio.sleep(self._poll_secs)

    async def _deliver(self, pending: PendingPush) -> None:
        try:
            await self._deliver_pending(pending)
        except Exception:
            self.dropped["error"] += 1
            log.exception("push.delivery_failed", key=pending.key)

    async def _deliver_pending(self, pending: PendingPush) -> None:
        user, _, conversation = pending.key.partition(":")
        user_id, conversation_id = uuid.UUID(user), uuid.UUID(conversation)
        facts = {"user_id": user, "conversation_id": conversation}
        if not pending.items:
            return
        if await self._presence.is_online(user):
            self._drop("online", **facts)
            return
        now = utcnow()
        context = push_queries.push_context(
            await self._db.read_rows(push_queries.push_context_query(conversation_id, user_id)),
            now,
        )
        targets: Sequence[Any] = await self._db.read_rows(
            session_queries.push_targets(user_id, now)
        )
        if context is None:
            self._drop("not_member", **facts)
            return
        if context.muted:
            self._drop("muted", **facts)
            return
        unread = [i for i in pending.items if int(i["seq"]) > context.last_read_seq]
        if not unread:
            self._drop("read", **facts)
            return
        items, count = await self._still_there(pending, unread)
        if not items:
            self._drop("deleted", **facts)
            return
        if not targets:
            self._drop("no_devices", **facts)
            return
        if await self._rate_limit.hit(user) is not None:
            self._drop("rate_limited", **facts)
            return
        title, body = compose(context.kind, context.name, items, count)
        notification = Notification(
            id=str(uuid.uuid4()),
            user_id=user,
            conversation_id=conversation,
            conversation_kind=context.kind,
            message_ids=[str(i["id"]) for i in items],
            count=count,
            title=title,
            body=body,
            sender_id=items[-1].get("sender_id"),
            targets=[PushTarget(str(row[0]), str(row[1])) for row in targets],
        )
        await self._send(notification)

    async def _still_there(
        self, pending: PendingPush, unread: list[dict[str, Any]]
    ) -> tuple[list[dict[str, Any]], int]:
        """The unread waiting messages nobody deleted, with previews of their current text
        (edits show), and how many messages the push is for in all."""
        rows: Sequence[Any] = await self._db.read_rows(
            push_queries.message_states([uuid.UUID(str(i["id"])) for i in unread])
        )
        now = {str(row[0]): row for row in rows}
        kept = []
        for item in unread:
            row = now.get(str(item["id"]))
            if row is None:  # not stored yet (write-behind lags): as it was sent
                kept.append(item)
                continue
            if row[2] is not None:
                continue  # deleted meanwhile: not announced, its text not shown
            shown = {"content": row[1], "attachments": row[3], "attachment_urls": row[4]}
            kept.append({**item, "preview": _preview(shown)})
        gone = len(pending.items) - len(kept)
        return kept, max(len(kept), pending.count - gone) if kept else 0

    async def _send(self, notification: Notification) -> None:
        """Every attempt the notification takes; counts each device once, at its end."""
        attempt = 1
        waiting = notification
        while True:
            report = await self._attempt(waiting)
            self.sent += len(report.sent)
            self.failed += len(report.failed)
            if report.invalid:
                await self._forget(report.invalid)
            if report.sent or report.failed or report.invalid:
                log.info(
                    "push.delivered",
                    push_id=notification.id,
                    user_id=notification.user_id,
                    conversation_id=notification.conversation_id,
                    attempt=attempt,
                    sent=len(report.sent),
                    invalid=len(report.invalid),
                    failed=len(report.failed),
                )
            if not report.retry:
                return
            if attempt >= self._max_attempts:
                self.failed += len(report.retry)
                log.warning(
                    "push.gave_up",
                    push_id=notification.id,
                    user_id=notification.user_id,
                    attempts=attempt,
                    devices=len(report.retry),
                )
                return
            wait = min(MAX_BACKOFF_SECS, self._retry_base * 2 ** (attempt - 1))
            if report.retry_after_secs is not None:
                wait = max(wait, min(report.retry_after_secs, MAX_BACKOFF_SECS))
            log.info(
                "push.retrying",
                push_id=notification.id,
                user_id=notification.user_id,
                attempt=attempt,
                devices=len(report.retry),
                wait_secs=round(wait, 3),
            )
            await asyncio.sleep(wait)
            attempt += 1
            waiting = replace(notification, targets=report.retry)

    async def _attempt(self, notification: Notification) -> DeliveryReport:
        try:
            return await self._notifier.deliver(notification)
        except Exception:  # a notifier's own defect: nothing says another try would help
            log.exception("push.notifier_failed", push_id=notification.id)
            return DeliveryReport(failed=list(notification.targets))

    async def _forget(self, targets: list[PushTarget]) -> None:
        async with self._db.transaction() as tx:
            for target in targets:
                await session_queries.forget_push_token(
                    tx, uuid.UUID(target.session_id), target.token
                )
        log.info("push.tokens_removed", sessions=[t.session_id for t in targets])

    def _drop(self, reason: str, **facts: Any) -> None:
        self.dropped[reason] += 1
        log.info("push.dropped", reason=reason, **facts)

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        self._planner = asyncio.create_task(self._plan_forever(), name="push-planner")
        self._poller = asyncio.create_task(self._poll_forever(), name="push-poller")

    async def close(self) -> None:
        await stop_task(self._poller)
        await stop_task(self._planner)
        for task in list(self._deliveries):
            task.cancel()
        if self._deliveries:
            await asyncio.gather(*self._deliveries, return_exceptions=True)


def _sender_name(message: dict[str, Any]) -> str:
    sender = message.get("sender") or {}
    name = sender.get("name") if isinstance(sender, dict) else None
    return str(name or message.get("sender_username") or "Someone")


def _preview(message: dict[str, Any]) -> str:
    if message.get("deleted_at"):
        return ""
    text = " ".join(str(message.get("content") or "").split())
    if not text and (message.get("attachments") or message.get("attachment_urls")):
        return "sent an attachment"
    return text[:PREVIEW_CHARS] + ("…" if len(text) > PREVIEW_CHARS else "")

"""Write-behind sends (WRITE_BEHIND=true): acknowledged once in the Redis Stream, stored later.

The GoChat seed's design. A send is checked against the database (membership, a closed
support chat, an earlier `client_msg_id`), takes its seq from Redis, goes into the stream and
is delivered at once; writers of the consumer group store batches in the database afterwards,
idempotent on the message id. The trade: a send is as durable as Redis is until its batch is
written, and history over REST may lag the live stream by that long. Every instance of a
deployment must run in the same mode (they share the seq counters).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from parley.db import conversations as queries
from parley.db import messages as message_queries
from parley.db.database import Database
from parley.db.types import utcnow
from parley.domain.accounts.principal import Principal
from parley.domain.conversations import access
from parley.domain.conversations.messages import (
    MessageService,
    PendingSend,
    message_row,
    require_direct_send,
    require_open,
)
from parley.domain.conversations.schemas import ConversationKind, MessagePublic, MessageSend
from parley.domain.conversations.views import (
    NewMessage,
    message_public,
    room_of,
    sender_from_principal,
)
from parley.domain.events import Event, conversation_channel
from parley.domain.ids import uuid7
from parley.domain.ports import MessageLog
from parley.domain.unit_of_work import UnitOfWork
from parley.domain.uploads.attach import attach_uploads


class WriteBehindSender:
    keeps_arrival_order = False  # a send reads the database before it takes its seq

    def __init__(self, uow: UnitOfWork, messages: MessageService, log: MessageLog) -> None:
        self._uow = uow
        self._messages = messages
        self._log = log

    async def send(
        self, principal: Principal, command: MessageSend, origin: str | None
    ) -> tuple[MessagePublic, bool]:
        self._messages.check_content(
            command.content,
            command.attachment_urls,
            command.payload,
            command.title,
            uploads=len(command.attachments),
        )
        sender = sender_from_principal(principal)
        async with self._uow() as work:
            conversation, _ = await access.load(work.tx, command.conversation, principal)
            await self._messages.rules.require_not_muted(work.tx, conversation, principal.user_id)
            if conversation.kind == ConversationKind.DIRECT:
                await require_direct_send(work.tx, conversation, principal)
            require_open(conversation)
            if command.client_msg_id:
                stored = await message_queries.find_by_client_id(
                    work.tx, conversation.id, principal.user_id, command.client_msg_id
                )
                if stored is not None:
                    return message_public(stored, sender, room_of(conversation)), False
            stored_last_seq = conversation.last_seq
            room = room_of(conversation)
            message_id = uuid7()
            attachments = await attach_uploads(
                work.tx,
                principal,
                command.attachments,
                conversation_id=conversation.id,
                message_id=message_id,
                now=utcnow(),
            )
        seq = await self._log.next_seq(str(conversation.id), stored_last_seq)
        row = message_row(
            PendingSend(principal, command, origin),
            conversation.id,
            seq,
            utcnow(),
            message_id=message_id,
            attachments=attachments,
        )
        public = message_public(NewMessage(**row), sender, room)
        dedup_key = None
        if command.client_msg_id:
            dedup_key = f"{conversation.id}:{principal.user_id}:{command.client_msg_id}"
            earlier = await self._log.claim_client_id(dedup_key, public.model_dump_json().encode())
            if earlier is not None:
                return MessagePublic.model_validate_json(earlier), False
        try:
            await self._log.append(row)
        except Exception:
            if dedup_key is not None:
                await self._log.release_client_id(dedup_key)
            raise
        await self._uow.publisher.publish(
            [
                Event(
                    conversation_channel(conversation.id),
                    "message.created",
                    public.model_dump(mode="json"),
                    origin=origin,
                )
            ]
        )
        return public, True


async def persist_batch(db: Database, rows: list[dict[str, Any]]) -> None:
    """Store a batch from the stream; entries already stored (a redelivery) are skipped."""
    for row in rows:
        for key in ("id", "conversation_id", "sender_id", "reply_to_id"):
            if row.get(key) is not None:
                row[key] = uuid.UUID(str(row[key]))
        for key in ("created_at", "edited_at", "deleted_at"):
            if row.get(key) is not None:
                row[key] = datetime.fromisoformat(str(row[key]))
    newest: dict[uuid.UUID, tuple[int, datetime]] = {}
    read_to: dict[tuple[uuid.UUID, uuid.UUID], int] = {}
    for row in rows:
        conversation_id = row["conversation_id"]
        seq = int(row["seq"])
        if seq > newest.get(conversation_id, (0, row["created_at"]))[0]:
            newest[conversation_id] = (seq, row["created_at"])
        if row.get("sender_id") is not None:
            reader = (conversation_id, row["sender_id"])
            read_to[reader] = max(read_to.get(reader, 0), seq)
    async with db.transaction() as tx:
        await message_queries.add_messages_once(tx, rows)
        for conversation_id, (seq, at) in newest.items():
            await queries.raise_last_seq(tx, conversation_id, seq, at)
        for (conversation_id, user_id), seq in read_to.items():
            await queries.advance_read(tx, conversation_id, user_id, seq)

"""Sending, editing, deleting and reading messages.

A send is acknowledged only after its transaction commits: the returned message is durable.
Each message takes the conversation's next sequence number, so history, read pointers and
(later) reconnect catch-up all agree on one order.

Why one module: sending, editing, deleting, history and catch-up share one set of rules
(seq order, who may see and change what) that reads best in one place.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import orjson
from sqlalchemy.exc import IntegrityError

from parley.db import conversations as queries
from parley.db import messages as message_queries
from parley.db import reactions as reaction_queries
from parley.db import send_batch
from parley.db import social as social_queries
from parley.db.models import Conversation, Message, User
from parley.db.types import utcnow
from parley.domain.accounts.principal import Principal
from parley.domain.conversations import access
from parley.domain.conversations.schemas import (
    BroadcastSend,
    ConversationKind,
    ConversationStatus,
    MessageEdit,
    MessagePage,
    MessagePublic,
    MessageSend,
    ReactionCount,
    ReadMark,
    ReadReceipt,
)
from parley.domain.conversations.send_limits import SendLimits
from parley.domain.conversations.views import (
    NewMessage,
    message_public,
    room_of,
    sender_from_principal,
    sender_of,
)
from parley.domain.events import Event, conversation_channel
from parley.domain.ids import uuid7
from parley.domain.moderation.permissions import may_moderate
from parley.domain.moderation.rules import MODERATED_KINDS, RoomRules, muted_in_room
from parley.domain.roles import Role
from parley.domain.social.rules import require_direct_allowed
from parley.domain.unit_of_work import BatchWork, UnitOfWork, Work
from parley.domain.uploads.attach import attach_uploads, hide_attachments
from parley.errors import Forbidden, NotFound, ParleyError, PayloadTooLarge, ValidationFailed

MAX_PAGE = 100
MAX_CATCH_UP = 1000
MAX_SEQ = 2**63 - 1
"""The largest seq a BIGINT holds on every database; a larger one is refused or clamped
before it reaches a driver (which would fail to bind it)."""


@dataclass(frozen=True, slots=True)
class PendingSend:
    principal: Principal
    command: MessageSend
    origin: str | None


SendOutcome = tuple[MessagePublic, bool] | ParleyError | None


class SendQueueLike(Protocol):
    keeps_arrival_order: bool
    """True when a send takes its place in line before its first await: sends started one
    after another then take their seqs in that order, whether or not they overlap."""

    async def send(
        self, principal: Principal, command: MessageSend, origin: str | None
    ) -> tuple[MessagePublic, bool]: ...


def require_open(conversation: access.ConversationLike) -> None:
    if conversation.kind == ConversationKind.SUPPORT and (
        conversation.status != ConversationStatus.ACTIVE
    ):
        raise Forbidden("This support chat is closed.", code="conversation_closed")


def message_row(
    item: PendingSend,
    conversation_id: uuid.UUID,
    seq: int,
    now: datetime,
    *,
    message_id: uuid.UUID | None = None,
    attachments: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    command = item.command
    return {
        "id": message_id or uuid7(),
        "conversation_id": conversation_id,
        "seq": seq,
        "sender_id": item.principal.user_id,
        "sender_name": None,
        "type": command.type.value,
        "content": command.content,
        "title": command.title,
        "payload": command.payload,
        "attachment_urls": command.attachment_urls or None,
        "attachments": attachments,
        "reply_to_id": command.reply_to,
        "client_msg_id": command.client_msg_id,
        "created_at": now,
        "edited_at": None,
        "deleted_at": None,
    }


def _add_reactions(
    messages: list[MessagePublic], found: dict[uuid.UUID, list[tuple[str, int, bool]]]
) -> None:
    for message in messages:
        message.reactions = [
            ReactionCount(emoji=e, count=n, mine=mine) for e, n, mine in found.get(message.id, [])
        ]


async def _hidden_senders(tx: Any, reader: Principal, conversation: Conversation) -> set[str]:
    """Whose messages the reader does not see here: in groups and rooms, those they block
    (a direct chat with someone blocked keeps its history)."""
    if conversation.kind == ConversationKind.DIRECT:
        return set()
    blocks, _ = await social_queries.block_sets(tx, reader.user_id)
    return blocks


async def require_direct_send(
    tx: Any, conversation: access.ConversationLike, sender: Principal
) -> None:
    """In a direct chat: not between a blocker and whom they block, not to someone who takes
    direct messages from friends only unless friends."""
    ids = (conversation.direct_key or "").split(":")
    other_id = next((i for i in ids if i and i != str(sender.user_id)), None)
    other = await tx.get(User, uuid.UUID(other_id)) if other_id else None
    if other is not None:
        await require_direct_allowed(tx, sender.user_id, other)


def _announce(
    work: Work | BatchWork, name: str, message: MessagePublic, origin: str | None = None
) -> None:
    work.emit(
        Event(
            conversation_channel(message.conversation_id),
            name,
            message.model_dump(mode="json"),
            origin=origin,
        )
    )


def encode_cursor(seq: int) -> str:
    return base64.urlsafe_b64encode(f"s{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if text.startswith("s") and text[1:].isdigit() and len(text) <= 20:
            seq = int(text[1:])
            if seq <= MAX_SEQ:
                return seq
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise ValidationFailed("The cursor is not one this server gave out.", field="cursor")


def stored_size(
    content: str, title: str | None, payload: dict[str, Any] | None, attachments: list[str]
) -> int:
    """The bytes a message's own fields take as UTF-8 JSON: what is stored and delivered."""
    try:
        return len(orjson.dumps([content, title, payload, attachments]))
    except orjson.JSONEncodeError as exc:
        raise ValidationFailed("The payload cannot be stored.", field="payload") from exc


MAX_BYTES_PER_CHAR = 6
"""A character's JSON encoding takes at most this many bytes (`\u001f`)."""


class MessageService:
    def __init__(
        self,
        uow: UnitOfWork,
        *,
        max_content_chars: int,
        max_message_bytes: int,
        limits: SendLimits | None = None,
        rules: RoomRules | None = None,
    ) -> None:
        self._uow = uow
        self._max_content_chars = max_content_chars
        self._max_message_bytes = max_message_bytes
        self._queue: SendQueueLike | None = None
        self.limits = limits
        self.rules = rules or RoomRules()

    def use_queue(self, queue: SendQueueLike) -> None:
        """Route sends through a group-commit queue (see `send_queue`)."""
        self._queue = queue

    def check_rate(self, principal: Principal, connection_id: str | None) -> None:
        """Take a send's turn (SEND_RATE_*), or raise `send_rate_limited`."""
        if self.limits is not None:
            self.limits.check(principal, connection_id)

    @property
    def sends_keep_arrival_order(self) -> bool:
        """Whether one sender's overlapping sends are stored in the order they were made."""
        return self._queue is not None and self._queue.keeps_arrival_order

    async def send(
        self,
        principal: Principal,
        command: MessageSend,
        *,
        origin: str | None = None,
        connection_id: str | None = None,
        rate_checked: bool = False,
    ) -> tuple[MessagePublic, bool]:
        """Store and announce a message; returns it and whether it is new. `origin`: the
        connection not to deliver it to; `connection_id`: the one it came from (its send
        rate), unless `rate_checked` (the caller took the turn already).

        A resend with a `client_msg_id` already stored returns the stored message, announces
        nothing and stores nothing: retries after a lost ack are safe.
        """
        if not rate_checked:
            self.check_rate(principal, connection_id)
        if self._queue is not None:
            return await self._queue.send(principal, command, origin)
        item = PendingSend(principal, command, origin)
        try:
            outcome = (await self.send_many([item]))[0]
        except IntegrityError:
            # A concurrent resend with the same client_msg_id won the race: return its message.
            outcome = (await self.send_many([item]))[0]
        if isinstance(outcome, ParleyError):
            raise outcome
        assert outcome is not None
        return outcome

    async def send_many(self, batch: Sequence[PendingSend]) -> list[SendOutcome]:
        """Store several sends in one transaction; each gets its own outcome.

        Checks run first and a send that fails one gets its error without touching the
        others; the rest take consecutive seqs per conversation (one UPDATE per
        conversation), are inserted with one statement, and are announced after commit in
        the order they were queued. A database error fails the whole batch: the caller
        then retries each send alone.
        """
        outcomes: list[SendOutcome] = []
        accepted: list[tuple[int, PendingSend, uuid.UUID]] = []
        attached: dict[int, tuple[uuid.UUID, list[dict[str, Any]] | None]] = {}
        rooms: dict[uuid.UUID, str | None] = {}
        refs = {str(item.command.conversation) for item in batch}
        async with self._uow.batch() as work:
            # One call reads what every check below needs: the conversations, the senders'
            # memberships in them and their mutes in force (see db/send_batch).
            facts = await send_batch.read(
                work.batch,
                {i for i in map(access.parse_id, refs) if i is not None},
                {access.room_key(ref) for ref in refs},
                {item.principal.user_id for item in batch},
                muted_kinds=MODERATED_KINDS,
                now=self.rules.now(),
            )
            found = access.match_refs(refs, facts.targets)
            for index, item in enumerate(batch):
                try:
                    self.check_content(
                        item.command.content,
                        item.command.attachment_urls,
                        item.command.payload,
                        item.command.title,
                        uploads=len(item.command.attachments),
                    )
                    conversation = found[str(item.command.conversation)]
                    if conversation is None:
                        raise access.not_found()
                    pair = (conversation.id, item.principal.user_id)
                    access.require_member(conversation, pair in facts.members, item.principal)
                    if pair in facts.muted:
                        raise muted_in_room()
                    if conversation.kind == ConversationKind.DIRECT:
                        await require_direct_send(
                            work.batch.session(), conversation, item.principal
                        )
                    if item.command.client_msg_id:
                        existing = await message_queries.find_by_client_id(
                            work.batch.session(),
                            conversation.id,
                            item.principal.user_id,
                            item.command.client_msg_id,
                        )
                        if existing is not None:
                            sender = sender_from_principal(item.principal)
                            outcomes.append(
                                (message_public(existing, sender, room_of(conversation)), False)
                            )
                            continue
                    require_open(conversation)
                    message_id = uuid7()
                    attachments = None
                    if item.command.attachments:
                        attachments = await attach_uploads(
                            work.batch.session(),
                            item.principal,
                            item.command.attachments,
                            conversation_id=conversation.id,
                            message_id=message_id,
                            now=utcnow(),
                        )
                    attached[index] = (message_id, attachments)
                except ParleyError as exc:
                    outcomes.append(exc)
                    continue
                outcomes.append(None)
                accepted.append((index, item, conversation.id))
                rooms[conversation.id] = room_of(conversation)
            if not accepted:
                return outcomes
            now = utcnow()
            rows = [
                message_row(
                    item,
                    conversation_id,
                    0,  # taken in `send_batch.write`
                    now,
                    message_id=attached[index][0],
                    attachments=attached[index][1],
                )
                for index, item, conversation_id in accepted
            ]
            await send_batch.write(work.batch, rows, now=now)
            for (index, item, _), row in zip(accepted, rows, strict=True):
                public = message_public(
                    NewMessage(**row),
                    sender_from_principal(item.principal),
                    rooms[row["conversation_id"]],
                )
                outcomes[index] = (public, True)
                _announce(work, "message.created", public, origin=item.origin)
        return outcomes

    async def broadcast(self, command: BroadcastSend) -> MessagePublic:
        """A message from a trusted server-side caller: no member sends it, every member and
        every live connection of theirs receives it. Open rooms are created on demand."""
        self.check_content(command.content, command.attachment_urls, command.payload, command.title)
        if command.attachments:
            raise ValidationFailed(
                "A broadcast has no sender whose uploads it could carry; use attachment_urls.",
                code="attachments_need_a_sender",
                field="attachments",
            )
        async with self._uow() as work:
            conversation = await access.find_by_ref(work.tx, command.conversation)
            if conversation is None:
                if access.parse_id(command.conversation) is not None:
                    raise access.not_found()
                conversation = await queries.add_conversation(
                    work.tx,
                    kind=ConversationKind.ROOM.value,
                    name=command.conversation,
                    room_key=access.room_key(command.conversation),
                )
            message = await self._store(
                work,
                conversation.id,
                command,
                sender_id=None,
                sender_name=command.username or command.user_id or "System",
            )
            public = message_public(message, None, room_of(conversation))
            _announce(work, "message.created", public)
        return public

    async def edit(
        self, principal: Principal, message_id: uuid.UUID, command: MessageEdit
    ) -> MessagePublic:
        self.check_content(command.content, [], None)
        async with self._uow() as work:
            message = await self._own_message(work.tx, message_id, principal, allow_admin=False)
            conversation = await work.tx.get(Conversation, message.conversation_id)
            if conversation is not None:  # an edit adds to what the others read
                await self.rules.require_not_muted(work.tx, conversation, principal.user_id)
            self.check_size(
                command.content, message.title, message.payload, message.attachment_urls or []
            )
            message.content = command.content
            message.edited_at = utcnow()
            await work.tx.flush()
            room = await self._room_of(work.tx, message)
            public = message_public(message, sender_from_principal(principal), room)
            _announce(work, "message.updated", public)
        return public

    async def delete(self, principal: Principal, message_id: uuid.UUID) -> MessagePublic:
        """Soft delete: the message keeps its place in history but loses its content."""
        async with self._uow() as work:
            message = await self._own_message(work.tx, message_id, principal, allow_admin=True)
            if message.deleted_at is None:
                message.deleted_at = utcnow()
                await work.tx.flush()
                await hide_attachments(work.tx, message.id, message.deleted_at)
            public = message_public(message, None, await self._room_of(work.tx, message))
            _announce(work, "message.deleted", public)
        return public

    async def history(
        self, principal: Principal, ref: str | uuid.UUID, *, limit: int, cursor: str | None
    ) -> MessagePage:
        """Newest first; `next_cursor` fetches the page before this one."""
        limit = max(1, min(limit, MAX_PAGE))
        before = decode_cursor(cursor) if cursor else None
        async with self._uow() as work:
            conversation, _ = await access.load(work.tx, ref, principal)
            rows = await message_queries.page_before(
                work.tx, conversation.id, before_seq=before, limit=limit + 1
            )
            hidden = await _hidden_senders(work.tx, principal, conversation)
            reactions = await reaction_queries.summary(
                work.tx, [m.id for m, _ in rows[:limit]], principal.user_id
            )
        has_more = len(rows) > limit
        rows = rows[:limit]
        room = room_of(conversation)
        messages = [message_public(m, sender_of(u), room) for m, u in rows]
        next_cursor = encode_cursor(messages[-1].seq) if has_more and messages else None
        messages = [m for m in messages if str(m.sender_id) not in hidden]
        _add_reactions(messages, reactions)
        return MessagePage(messages=messages, next_cursor=next_cursor, has_more=has_more)

    async def since(
        self, principal: Principal, ref: str | uuid.UUID, *, after_seq: int, limit: int
    ) -> MessagePage:
        """Oldest first, every message after `after_seq`: a reconnecting client's catch-up.

        Sequence numbers are taken under the conversation's row lock and so commit in order:
        when this sees seq n, every seq below n is already visible, and nothing is skipped.
        """
        limit = max(1, min(limit, MAX_CATCH_UP))
        async with self._uow() as work:
            conversation, _ = await access.load(work.tx, ref, principal)
            rows = await message_queries.page_after(
                work.tx, conversation.id, after_seq=max(0, min(after_seq, MAX_SEQ)), limit=limit + 1
            )
            hidden = await _hidden_senders(work.tx, principal, conversation)
            reactions = await reaction_queries.summary(
                work.tx, [m.id for m, _ in rows[:limit]], principal.user_id
            )
        has_more = len(rows) > limit
        room = room_of(conversation)
        messages = [
            message_public(m, sender_of(u), room)
            for m, u in rows[:limit]
            if str(m.sender_id) not in hidden
        ]
        _add_reactions(messages, reactions)
        return MessagePage(messages=messages, next_cursor=None, has_more=has_more)

    async def mark_read(
        self,
        principal: Principal,
        ref: str | uuid.UUID,
        mark: ReadMark,
        *,
        origin: str | None = None,
    ) -> ReadReceipt:
        async with self._uow() as work:
            conversation, member = await access.load(work.tx, ref, principal)
            if member is None:
                raise Forbidden("Only members keep read pointers.", code="not_a_member")
            seq = (
                conversation.last_seq if mark.seq is None else min(mark.seq, conversation.last_seq)
            )
            message_id = None
            if mark.message_id is not None:
                message = await message_queries.find_message(work.tx, mark.message_id)
                if message is None or message.conversation_id != conversation.id:
                    raise NotFound("No such message here.", code="message_not_found")
                seq, message_id = message.seq, message.id
            moved = await queries.advance_read(work.tx, conversation.id, principal.user_id, seq)
            receipt = ReadReceipt(
                conversation_id=conversation.id,
                user_id=principal.user_id,
                username=principal.username,
                last_read_seq=max(seq, member.last_read_seq),
                message_id=message_id,
                read_at=utcnow(),
            )
            if moved:
                work.emit(
                    Event(
                        conversation_channel(conversation.id),
                        "read.updated",
                        receipt.model_dump(mode="json"),
                        origin=origin,
                    )
                )
        return receipt

    @staticmethod
    async def _store(
        work: Work,
        conversation_id: uuid.UUID,
        command: MessageSend,
        *,
        sender_id: uuid.UUID | None,
        sender_name: str | None = None,
    ) -> Message:
        """Insert the message as the conversation's next in sequence."""
        now = utcnow()
        seq = await queries.next_seq(work.tx, conversation_id, now)
        return await message_queries.add_message(
            work.tx,
            id=uuid7(),
            conversation_id=conversation_id,
            seq=seq,
            sender_id=sender_id,
            sender_name=sender_name,
            type=command.type.value,
            content=command.content,
            title=command.title,
            payload=command.payload,
            attachment_urls=command.attachment_urls or None,
            reply_to_id=command.reply_to,
            client_msg_id=command.client_msg_id,
            created_at=now,
        )

    @staticmethod
    async def _room_of(tx: Any, message: Message) -> str | None:
        conversation = await tx.get(Conversation, message.conversation_id)  # identity map
        return room_of(conversation) if conversation is not None else None

    async def _own_message(
        self, tx: Any, message_id: uuid.UUID, principal: Principal, *, allow_admin: bool
    ) -> Message:
        message = await message_queries.find_message(tx, message_id)
        if message is None:
            raise NotFound("No message with that id.", code="message_not_found")
        moderating = allow_admin and principal.role is Role.ADMIN
        if not moderating:  # admins may delete any message, member or not (README)
            moderating = allow_admin and await self._moderates(tx, message, principal)
        if not moderating:
            await access.load(tx, message.conversation_id, principal)
        if message.sender_id != principal.user_id and not moderating:
            raise Forbidden("Only the sender may change this message.", code="not_the_sender")
        if message.deleted_at is not None and not allow_admin:
            raise ValidationFailed("A deleted message cannot be edited.", code="message_deleted")
        return message

    @staticmethod
    async def _moderates(tx: Any, message: Message, principal: Principal) -> bool:
        """Whether the caller moderates the message's group or room (its owner and admins,
        super-agents): they delete any message in it."""
        conversation = await tx.get(Conversation, message.conversation_id)
        if conversation is None or conversation.kind not in MODERATED_KINDS:
            return False
        member = await queries.find_member(tx, conversation.id, principal.user_id)
        return may_moderate(member, principal)

    def check_content(
        self,
        content: str,
        attachments: list[str],
        payload: dict[str, Any] | None,
        title: str | None = None,
        *,
        uploads: int = 0,
    ) -> None:
        """`uploads`: how many uploads the message attaches (it is not empty with one)."""
        if len(content) > self._max_content_chars:
            raise ValidationFailed(
                f"The message is longer than {self._max_content_chars} characters.",
                code="message_too_long",
                field="content",
            )
        if not content.strip() and not attachments and not payload and not uploads:
            raise ValidationFailed(
                "A message needs content, attachments or a payload.",
                code="message_empty",
                field="content",
            )
        self.check_size(content, title, payload, attachments)

    def check_size(
        self,
        content: str,
        title: str | None,
        payload: dict[str, Any] | None,
        attachments: list[str],
    ) -> None:
        """One limit for the whole stored message, whichever way it comes (MAX_MESSAGE_BYTES)."""
        chars = len(content) + len(title or "") + sum(len(url) for url in attachments)
        if payload is None and chars * MAX_BYTES_PER_CHAR + 64 <= self._max_message_bytes:
            return  # cannot be too large: no need to encode it
        size = stored_size(content, title, payload, attachments)
        if size > self._max_message_bytes:
            raise PayloadTooLarge(
                f"The message takes {size} bytes; at most {self._max_message_bytes} are "
                "allowed (content, title, payload and attachment URLs together).",
                code="message_too_large",
                limit_bytes=self._max_message_bytes,
                size_bytes=size,
            )

"""What a live connection can do, whatever protocol it speaks.

Both socket transports translate their frames into these calls; each call goes to the domain
services and, where the connection itself changes (what it views, whom it watches), to the
hub. Nothing here knows about frame formats.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import datetime

from parley.domain.accounts.auth import AuthService
from parley.domain.accounts.principal import Principal
from parley.domain.conversations.messages import MAX_CATCH_UP, MessageService
from parley.domain.conversations.reactions import ReactionService
from parley.domain.conversations.schemas import (
    ConversationKind,
    ConversationPublic,
    MessageEdit,
    MessagePublic,
    MessageSend,
    ReadMark,
    ReadReceipt,
)
from parley.domain.conversations.search import SearchService
from parley.domain.conversations.service import ConversationService
from parley.domain.events import Event, conversation_channel
from parley.domain.moderation.reports import ReportService
from parley.domain.moderation.restrictions import RestrictionService
from parley.domain.notifications.mutes import MuteService
from parley.domain.notifications.schemas import MuteState
from parley.domain.presence import PresenceService, UserStatus
from parley.domain.social.blocks import BlockService
from parley.domain.social.friends import FriendService
from parley.domain.uploads.carried import NewFile, send_with_files
from parley.domain.uploads.schemas import UploadPublic
from parley.domain.uploads.service import UploadService
from parley.errors import Forbidden, NotFound, NotSupported, ParleyError
from parley.realtime.chat.answers import CatchUpRefused, CaughtUp
from parley.realtime.connection import MESSAGE_CREATED, Connection, OutboundEvent
from parley.realtime.hub import Hub
from parley.realtime.signin import principal_of, renew_access
from parley.realtime.stats import SocketStats
from parley.realtime.wire.outbox import frame_bytes


@dataclass(frozen=True, slots=True)
class Joined:
    conversation: ConversationPublic
    viewers: list[str]
    """User ids viewing the conversation now, the joiner included."""

    @property
    def room_id(self) -> str:
        """How the room's clients name it: an open room's name, else the conversation id."""
        conversation = self.conversation
        if conversation.kind is ConversationKind.ROOM and conversation.name:
            return conversation.name
        return str(conversation.id)


@dataclass(frozen=True, slots=True)
class Left:
    conversation_id: uuid.UUID
    room: str | None
    """The open room's name, when it was one (its membership ended)."""

    @property
    def room_id(self) -> str:
        return self.room or str(self.conversation_id)


class LiveService:
    def __init__(
        self,
        *,
        auth: AuthService,
        friends: FriendService,
        reactions: ReactionService,
        search: SearchService,
        blocks: BlockService,
        conversations: ConversationService,
        messages: MessageService,
        presence: PresenceService,
        hub: Hub,
        mutes: MuteService,
        restrictions: RestrictionService,
        reports: ReportService,
        catch_up_budget_bytes: int,
        catch_up_budget_frames: int,
        uploads: UploadService | None = None,
    ) -> None:
        self.auth = auth
        self.friends = friends
        self.reactions = reactions
        self.search = search
        self._blocks = blocks
        self._catch_up_budget = catch_up_budget_bytes
        self._catch_up_frames = catch_up_budget_frames
        """Bytes and messages one catch-up may queue at once: a reconnect must not overflow
        the outbox it is reconnecting to."""
        self._conversations = conversations
        self._messages = messages
        self._presence = presence
        self._hub = hub
        self._uploads = uploads
        self._mutes = mutes
        self.restrictions = restrictions
        self.reports = reports

    @property
    def stats(self) -> SocketStats:
        return self._hub.stats

    async def open(
        self, connection: Connection, principal: Principal, *, hold: bool = False
    ) -> None:
        """An authenticated connection starts receiving its conversations and counts online.
        With `hold`, new messages of every one of them wait for a catch-up (or a `release`)
        from the first one on (a resumed Socket.IO session: see `recovery`)."""
        connection.principal = principal
        sibling = next(iter(self._hub.connections_of(str(principal.user_id))), None)
        if sibling is not None:  # the user's block lists, kept current here by the hub
            connection.blocks, connection.blocked_by = sibling.blocks, sibling.blocked_by
        else:
            blocks = await self._blocks.block_sets(principal.user_id)
            connection.blocks, connection.blocked_by = blocks
        conversation_ids = self._hub.known_conversations(str(principal.user_id))
        if conversation_ids is None:
            found = await self._conversations.member_conversation_ids(principal.user_id)
            conversation_ids = [str(i) for i in found]
        if hold:
            connection.hold(conversation_ids)
        await self._hub.attach(connection, conversation_ids)
        await self._presence.connected(principal, connection.id)

    async def close(self, connection: Connection) -> None:
        principal = connection.principal
        if principal is None:
            return
        rooms = connection.room_names or {}
        for conversation_id in list(connection.viewing):
            await self._presence.leave(
                principal,
                uuid.UUID(conversation_id),
                connection.id,
                room=rooms.get(conversation_id),
            )
        connection.viewing.clear()
        await self._hub.detach(connection)
        await self._presence.disconnected(principal, connection.id)

    async def catch_up(
        self,
        connection: Connection,
        since: dict[str, int],
        *,
        only: Mapping[str, AbstractSet[int]] | None = None,
    ) -> dict[str, CaughtUp | CatchUpRefused]:
        """Send what the connection missed in each conversation after the seq it names, in
        order, before any new message of those conversations (held meanwhile). With `only`,
        just those seqs of each conversation (a resumed session knows which it missed)."""
        principal = principal_of(connection)
        keys = [str(k) for k in since]
        connection.hold(keys)
        report: dict[str, CaughtUp | CatchUpRefused] = {}
        budget, frames = self._catch_up_budget, self._catch_up_frames
        try:
            for conversation_id in keys:
                try:
                    page = await self._messages.since(
                        principal,
                        conversation_id,
                        after_seq=int(since[conversation_id]),
                        limit=MAX_CATCH_UP,
                    )
                except ParleyError as exc:  # one bad conversation must not stop the others
                    connection.release(conversation_id, [])
                    report[conversation_id] = {"error": {"code": exc.code, "message": exc.message}}
                    continue
                messages, page_has_more = page.messages, page.has_more
                if only is not None:
                    wanted = only.get(conversation_id, frozenset())
                    messages = [m for m in messages if m.seq in wanted]
                live_from = connection.live_since(conversation_id)
                if live_from is not None and any(m.seq >= live_from for m in messages):
                    # The client has these live since an earlier, incomplete catch-up: the
                    # gap it left ends here.
                    messages = [m for m in messages if m.seq < live_from]
                    page_has_more = False
                missed = [
                    OutboundEvent(
                        Event(
                            conversation_channel(conversation_id),
                            MESSAGE_CREATED,
                            message.model_dump(mode="json"),
                        )
                    )
                    for message in messages
                ]
                fitting = 0
                for event in missed:  # encoded once: the send below reuses the encoding
                    frame = connection.encode(event)
                    size = 0 if frame is None else frame_bytes(frame)
                    # Over budget: stop, unless nothing was sent yet (one message always goes).
                    too_large = size > budget and (fitting or budget < self._catch_up_budget)
                    if frames == 0 or too_large:
                        break  # the rest is for later: `has_more`
                    budget -= size
                    frames -= 1
                    fitting += 1
                cut = fitting < len(missed)
                missed = missed[:fitting]
                has_more = page_has_more or cut
                connection.release(conversation_id, missed, complete=not has_more)
                report[conversation_id] = {
                    "delivered": len(missed),
                    "has_more": has_more,
                    "last_seq": int(missed[-1].event.data["seq"])
                    if missed
                    else since[conversation_id],
                }
        finally:
            for conversation_id in keys:  # on an error, nothing stays held
                if connection.held is not None and conversation_id in connection.held:
                    connection.release(conversation_id, [])
        return report

    async def renew(self, connection: Connection, token: str) -> Principal:
        return await renew_access(self.auth, self._hub, connection, token)

    async def heartbeat(self, connection: Connection) -> None:
        """A client says it is still there: refresh its last-seen time (throttled)."""
        await self._presence.touch(principal_of(connection))

    async def join(self, connection: Connection, ref: str) -> Joined:
        principal = principal_of(connection)
        conversation, _ = await self._conversations.join_room(principal, ref, with_members=False)
        conversation_id = str(conversation.id)
        if conversation_id not in connection.viewing:
            # A new member's connections are attached when the hub hears `member.added`; this
            # one must receive from the moment its join is acknowledged, whatever the broker.
            await self._hub.follow(connection, conversation_id)
            connection.viewing.add(conversation_id)
        joined = Joined(conversation, [])
        room = joined.room_id if joined.room_id != conversation_id else None
        if room is not None:
            if connection.room_names is None:
                connection.room_names = {}
            connection.room_names[conversation_id] = room
        viewers = await self._presence.enter(principal, conversation.id, connection.id, room=room)
        return Joined(conversation, viewers)

    async def leave(self, connection: Connection, ref: str, *, end_membership: bool) -> Left:
        """Stop viewing; `end_membership` (the WebSocket Chat Server seed's `leave`) also ends
        the membership of an open room, so that none of its messages arrive any more."""
        principal = principal_of(connection)
        conversation_id, room = await self._conversations.resolve_room(principal, ref)
        key = str(conversation_id)
        viewing = key in connection.viewing
        # The membership ends before the others hear that this user left: whoever answers
        # `user_left` with a message knows it does not reach the one who left.
        if room is not None and end_membership:
            with contextlib.suppress(NotFound):  # not a member (any more): nothing to end
                await self._conversations.remove_member(
                    principal, conversation_id, principal.user_id
                )
            self._hub.leave_locally(str(principal.user_id), key)  # now, whatever the broker
        if viewing:
            connection.viewing.discard(key)
            if connection.room_names:
                connection.room_names.pop(key, None)
            await self._presence.leave(principal, conversation_id, connection.id, room=room)
        return Left(conversation_id, room)

    @property
    def sends_may_overlap(self) -> bool:
        """A connection may start its next send before the last is answered (see
        `pipeline`): true when overlapping sends are still stored in the order made."""
        return self._messages.sends_keep_arrival_order

    async def send(
        self, connection: Connection, command: MessageSend, *, echo: bool
    ) -> MessagePublic:
        """Store and deliver; the sending connection gets the message as an event only when
        it asked for no acknowledgement (`echo`)."""
        origin = None if echo else connection.id
        message, created = await self._messages.send(
            principal_of(connection), command, origin=origin, connection_id=connection.id
        )
        if created:
            self._hub.stats.sent_over(connection.protocol)
        return message

    async def send_with_files(
        self, connection: Connection, command: MessageSend, files: list[NewFile], *, echo: bool
    ) -> MessagePublic:
        """A send whose attachments bring their bytes (Socket.IO binary): stored as uploads
        in the send's flow; a refused send leaves no upload behind."""
        principal = principal_of(connection)
        # Who may not send here, or not now, learns so before any file is stored.
        self._messages.check_rate(principal, connection.id)
        await self._conversations.resolve_to_speak(principal, command.conversation)
        origin = None if echo else connection.id
        message = await send_with_files(
            self._messages, self._require_uploads(), principal, command, files, origin=origin
        )
        self._hub.stats.sent_over(connection.protocol)  # a resend of a stored one too (rare)
        return message

    async def upload(
        self, connection: Connection, data: bytes, filename: str | None
    ) -> UploadPublic:
        """The same as `POST /api/v1/uploads`, with the bytes in the event."""
        return await self._require_uploads().store_bytes(principal_of(connection), data, filename)

    def _require_uploads(self) -> UploadService:
        if self._uploads is None:
            raise NotSupported("This server takes no uploads.", code="uploads_not_supported")
        return self._uploads

    async def edit(
        self, connection: Connection, message_id: uuid.UUID, content: str
    ) -> MessagePublic:
        return await self._messages.edit(
            principal_of(connection), message_id, MessageEdit(content=content)
        )

    async def delete(self, connection: Connection, message_id: uuid.UUID) -> MessagePublic:
        return await self._messages.delete(principal_of(connection), message_id)

    async def typing(self, connection: Connection, ref: str, *, is_typing: bool) -> str:
        """A muted member may stop typing, not start."""
        principal = principal_of(connection)
        if is_typing:
            conversation_id = await self._conversations.resolve_to_speak(principal, ref)
        else:
            conversation_id = await self._conversations.resolve(principal, ref)
        await self._presence.typing(
            principal, conversation_id, is_typing=is_typing, origin=connection.id
        )
        return str(conversation_id)

    async def read(self, connection: Connection, ref: str, mark: ReadMark) -> ReadReceipt:
        return await self._messages.mark_read(
            principal_of(connection), ref, mark, origin=connection.id
        )

    async def mute(self, connection: Connection, ref: str, *, until: datetime | None) -> MuteState:
        return await self._mutes.mute(principal_of(connection), ref, until=until)

    async def unmute(self, connection: Connection, ref: str) -> MuteState:
        return await self._mutes.unmute(principal_of(connection), ref)

    async def watch(self, connection: Connection, ref: str) -> UserStatus:
        """`ref`: a user id, or the id a trusted gateway knows the user by."""
        principal = principal_of(connection)
        user_id = await self.auth.user_id_of(ref)
        status = await self._presence.status_of(user_id) if user_id is not None else None
        if user_id is None or status is None:
            raise NotFound("No user with that id.", code="user_not_found")
        if not await self._blocks.may_see_presence(principal, user_id):
            raise Forbidden(
                "Presence is shared with friends and people you share a conversation with.",
                code="presence_not_shared",
            )
        await self._hub.watch(connection, str(user_id))
        return status

    async def unwatch(self, connection: Connection, ref: str) -> None:
        user_id = await self.auth.user_id_of(ref)
        if user_id is not None:
            await self._hub.unwatch(connection, str(user_id))

    # -- friends and blocks (the same services as /api/v1/friends and /api/v1/blocks) --------

    @property
    def blocks(self) -> BlockService:
        return self._blocks

"""The commands clients send over sockets, as typed models, under every seed's field names."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import AliasChoices, Field, StrictBytes, model_validator

from parley.domain.accounts.schemas import Lenient, PushTokenSet
from parley.domain.conversations.schemas import (
    CONVERSATION_REF,
    ConversationJoined,
    ConversationRef,
    MessageSend,
    ReactionCommand,
    ReadMark,
)
from parley.domain.conversations.search import MAX_PAGE as MAX_SEARCH_PAGE
from parley.domain.events import dump_as
from parley.domain.notifications.schemas import MuteSet
from parley.domain.presence import PresenceChanged
from parley.domain.social.schemas import RequestRef, UserRef
from parley.domain.uploads.carried import NewFile
from parley.errors import MalformedRequest
from parley.realtime.chat.answers import (
    BlockList,
    CancelAnswer,
    FriendList,
    FriendRequestList,
    JoinAnswer,
    LeaveAnswer,
    RejectAnswer,
    Synced,
    TypingAnswer,
    UnblockAnswer,
    UnfriendAnswer,
    UnwatchAnswer,
)
from parley.realtime.chat.live import LiveService
from parley.realtime.chat.moderation import ModerationCommands
from parley.realtime.connection import Connection
from parley.realtime.signin import SyncCommand, principal_of


class ConversationCommand(Lenient):
    conversation: ConversationRef = Field(validation_alias=CONVERSATION_REF)


class MuteCommand(ConversationCommand, MuteSet):
    pass


class TypingCommand(ConversationCommand):
    is_typing: bool = Field(True, validation_alias=AliasChoices("is_typing", "isTyping", "typing"))
    status: Literal["start", "stop"] | None = None

    @model_validator(mode="after")
    def _status_wins(self) -> TypingCommand:
        if self.status is not None:
            self.is_typing = self.status == "start"
        return self


class ReadCommand(ConversationCommand, ReadMark):
    pass


class EditCommand(Lenient):
    message_id: uuid.UUID = Field(validation_alias=AliasChoices("message_id", "messageId", "id"))
    content: str


class DeleteCommand(Lenient):
    message_id: uuid.UUID = Field(validation_alias=AliasChoices("message_id", "messageId", "id"))


class WatchCommand(Lenient):
    target_user_id: str = Field(
        min_length=1,
        max_length=128,
        validation_alias=AliasChoices("target_user_id", "user_id", "userId"),
    )
    """A user's id, or the id a trusted gateway knows them by."""


class UserIdCommand(Lenient):
    user_id: uuid.UUID = Field(
        validation_alias=AliasChoices("user_id", "userId", "friend_id", "target_user_id")
    )


class SearchCommand(Lenient):
    q: str = Field(validation_alias=AliasChoices("q", "query", "text"))
    """Checked by the service (`search_query_too_long`), the same as over REST."""
    conversation: ConversationRef | None = Field(None, validation_alias=CONVERSATION_REF)
    limit: int = Field(20, ge=1, le=MAX_SEARCH_PAGE)
    cursor: str | None = Field(None, max_length=200)


class FileCommand(Lenient):
    """`upload {data, filename}`, and an entry of a send's `attachments` bringing its bytes:
    `data` is a Socket.IO binary attachment (a Buffer, an ArrayBuffer, bytes), never text."""

    data: StrictBytes = Field(validation_alias=AliasChoices("data", "file", "buffer"))
    filename: str | None = Field(
        None, max_length=1024, validation_alias=AliasChoices("filename", "name")
    )


FILE_FIELDS = ("data", "file", "buffer")
BYTES = (bytes, bytearray, memoryview)


def _has_bytes(value: Any) -> bool:
    if isinstance(value, BYTES):
        return True
    if isinstance(value, list | tuple):
        return any(_has_bytes(item) for item in value)
    if isinstance(value, dict):
        return any(_has_bytes(item) for item in value.values())
    return False


def stray_bytes(args: list[Any]) -> bool:
    """Bytes outside an event's first argument, or as that argument itself (not an object):
    never where a binary event takes them."""
    first_is_object = bool(args) and isinstance(args[0], dict)
    return _has_bytes(args[1:] if first_is_object else args)


def binary_not_supported(where: str) -> MalformedRequest:
    return MalformedRequest(
        "Bytes go only in an attachment's `data` (or `upload`'s); nowhere else.",
        code="binary_not_supported",
        field=where,
    )


def _file_in(item: Any) -> FileCommand | None:
    """An entry of `attachments` bringing its bytes, checked; None for a reference."""
    if not isinstance(item, dict):
        return None
    field = next((k for k in FILE_FIELDS if isinstance(item.get(k), BYTES)), None)
    if field is None:
        return None
    if _has_bytes({k: v for k, v in item.items() if k != field}):
        raise binary_not_supported("attachments")
    return FileCommand.model_validate(item)


def split_files(data: dict[str, Any]) -> tuple[dict[str, Any], list[NewFile]]:
    """A send's arguments without the attachments that bring their bytes, and those files
    (with their places among the attachments); bytes anywhere else are refused."""
    attachments = data.get("attachments")
    files: list[NewFile] = []
    rest = data
    if isinstance(attachments, list):
        kept = []
        for position, item in enumerate(attachments):
            file = _file_in(item)
            if file is None:
                kept.append(item)
            else:
                files.append(NewFile(position, bytes(file.data), file.filename))
        if files:
            rest = {**data, "attachments": kept}
    if _has_bytes(rest):
        raise binary_not_supported("attachments" if isinstance(attachments, list) else "data")
    return rest, files


class RequestList(Lenient):
    direction: Literal["incoming", "outgoing"] = "incoming"


class Commands(ModerationCommands):
    """Each socket command, validated and run: the part both socket transports share.

    Results are JSON-ready dicts; transports decide how to answer (an ack, seed-style reply
    frames, or both).
    """

    def __init__(self, live: LiveService) -> None:
        self.live = live

    async def send(
        self, connection: Connection, data: dict[str, Any], *, echo: bool
    ) -> dict[str, Any]:
        rest, files = split_files(data)
        command = MessageSend.model_validate(rest)
        if files:
            message = await self.live.send_with_files(connection, command, files, echo=echo)
        else:
            message = await self.live.send(connection, command, echo=echo)
        return message.model_dump(mode="json")

    async def upload(self, connection: Connection, data: dict[str, Any]) -> dict[str, Any]:
        """Socket.IO only: the file's bytes in `data`; answers what `POST /api/v1/uploads`
        does, to attach with `attachments: [{upload_id}]`."""
        file = _file_in(data)
        if file is None:
            file = FileCommand.model_validate(data)  # refused: `data` holds no bytes
        upload = await self.live.upload(connection, bytes(file.data), file.filename)
        return upload.model_dump(mode="json")

    async def join(self, connection: Connection, data: dict[str, Any]) -> JoinAnswer:
        command = ConversationCommand.model_validate(data)
        joined = await self.live.join(connection, command.conversation)
        conversation_id = str(joined.conversation.id)
        return {
            "conversation_id": conversation_id,
            "room_id": joined.room_id,
            "conversation": dump_as(ConversationJoined, joined.conversation),
            "users": joined.viewers,
        }

    async def leave(self, connection: Connection, data: dict[str, Any]) -> LeaveAnswer:
        """Stop viewing a conversation (`/ws`: the Realtime Chat App's "active view")."""
        return await self._leave(connection, data, end_membership=False)

    async def leave_room(self, connection: Connection, data: dict[str, Any]) -> LeaveAnswer:
        """Stop viewing, and leave an open room (Socket.IO: the WebSocket Chat Server's)."""
        return await self._leave(connection, data, end_membership=True)

    async def _leave(
        self, connection: Connection, data: dict[str, Any], *, end_membership: bool
    ) -> LeaveAnswer:
        command = ConversationCommand.model_validate(data)
        left = await self.live.leave(
            connection, command.conversation, end_membership=end_membership
        )
        return {
            "conversation_id": str(left.conversation_id),
            "room_id": left.room_id,
            "left_room": left.room is not None and end_membership,
        }

    async def typing(self, connection: Connection, data: dict[str, Any]) -> TypingAnswer:
        command = TypingCommand.model_validate(data)
        conversation_id = await self.live.typing(
            connection, command.conversation, is_typing=command.is_typing
        )
        return {"conversation_id": conversation_id, "is_typing": command.is_typing}

    async def read(self, connection: Connection, data: dict[str, Any]) -> dict[str, Any]:
        command = ReadCommand.model_validate(data)
        receipt = await self.live.read(connection, command.conversation, command)
        return receipt.model_dump(mode="json")

    async def edit(self, connection: Connection, data: dict[str, Any]) -> dict[str, Any]:
        command = EditCommand.model_validate(data)
        message = await self.live.edit(connection, command.message_id, command.content)
        return message.model_dump(mode="json")

    async def delete(self, connection: Connection, data: dict[str, Any]) -> dict[str, Any]:
        command = DeleteCommand.model_validate(data)
        message = await self.live.delete(connection, command.message_id)
        return message.model_dump(mode="json")

    async def watch(self, connection: Connection, data: dict[str, Any]) -> PresenceChanged:
        command = WatchCommand.model_validate(data)
        status = await self.live.watch(connection, command.target_user_id)
        return status.event_data()

    async def sync(self, connection: Connection, data: dict[str, Any]) -> Synced:
        command = SyncCommand.model_validate(data)
        since = {str(k): v for k, v in command.since.items()}
        return {"conversations": await self.live.catch_up(connection, since)}

    async def unwatch(self, connection: Connection, data: dict[str, Any]) -> UnwatchAnswer:
        command = WatchCommand.model_validate(data)
        await self.live.unwatch(connection, command.target_user_id)
        return {"target_user_id": command.target_user_id}

    # -- friends and blocks ---------------------------------------------------------------

    async def friend_request(self, connection: Connection, data: dict[str, Any]) -> dict[str, Any]:
        outcome = await self.live.friends.request(
            principal_of(connection), UserRef.model_validate(data)
        )
        return outcome.model_dump(mode="json")

    async def accept_friend_request(
        self, connection: Connection, data: dict[str, Any]
    ) -> dict[str, Any]:
        request_id = RequestRef.model_validate(data).request_id
        friend = await self.live.friends.accept(principal_of(connection), request_id)
        return friend.model_dump(mode="json")

    async def reject_friend_request(
        self, connection: Connection, data: dict[str, Any]
    ) -> RejectAnswer:
        request_id = RequestRef.model_validate(data).request_id
        await self.live.friends.reject(principal_of(connection), request_id)
        return {"request_id": str(request_id), "rejected": True}

    async def cancel_friend_request(
        self, connection: Connection, data: dict[str, Any]
    ) -> CancelAnswer:
        request_id = RequestRef.model_validate(data).request_id
        await self.live.friends.cancel(principal_of(connection), request_id)
        return {"request_id": str(request_id), "cancelled": True}

    async def remove_friend(self, connection: Connection, data: dict[str, Any]) -> UnfriendAnswer:
        friend_id = UserIdCommand.model_validate(data).user_id
        await self.live.friends.unfriend(principal_of(connection), friend_id)
        return {"user_id": str(friend_id), "removed": True}

    async def list_friends(self, connection: Connection, data: dict[str, Any]) -> dict[str, Any]:
        friends = await self.live.friends.friends(principal_of(connection))
        return FriendList(friends=friends).model_dump(mode="json")

    async def list_friend_requests(
        self, connection: Connection, data: dict[str, Any]
    ) -> dict[str, Any]:
        incoming = RequestList.model_validate(data).direction == "incoming"
        found = await self.live.friends.requests(principal_of(connection), incoming=incoming)
        return FriendRequestList(requests=found).model_dump(mode="json")

    async def block_user(self, connection: Connection, data: dict[str, Any]) -> dict[str, Any]:
        block = await self.live.blocks.block(principal_of(connection), UserRef.model_validate(data))
        return block.model_dump(mode="json")

    async def unblock_user(self, connection: Connection, data: dict[str, Any]) -> UnblockAnswer:
        user_id = UserIdCommand.model_validate(data).user_id
        await self.live.blocks.unblock(principal_of(connection), user_id)
        return {"user_id": str(user_id), "blocked": False}

    async def list_blocks(self, connection: Connection, data: dict[str, Any]) -> dict[str, Any]:
        blocks = await self.live.blocks.blocks(principal_of(connection))
        return BlockList(blocks=blocks).model_dump(mode="json")

    # -- reactions --------------------------------------------------------------------------

    async def react(self, connection: Connection, data: dict[str, Any]) -> dict[str, Any]:
        command = ReactionCommand.model_validate(data)
        change = await self.live.reactions.add(principal_of(connection), command)
        return change.model_dump(mode="json")

    async def unreact(self, connection: Connection, data: dict[str, Any]) -> dict[str, Any]:
        command = ReactionCommand.model_validate(data)
        change = await self.live.reactions.remove(principal_of(connection), command)
        return change.model_dump(mode="json")

    # -- search -----------------------------------------------------------------------------

    async def search_messages(self, connection: Connection, data: dict[str, Any]) -> dict[str, Any]:
        command = SearchCommand.model_validate(data)
        page = await self.live.search.messages(
            principal_of(connection),
            command.q,
            conversation=command.conversation,
            limit=command.limit,
            cursor=command.cursor,
        )
        return page.model_dump(mode="json")

    # -- mutes ------------------------------------------------------------------------------

    async def mute_conversation(
        self, connection: Connection, data: dict[str, Any]
    ) -> dict[str, Any]:
        command = MuteCommand.model_validate(data)
        state = await self.live.mute(connection, command.conversation, until=command.until)
        return state.model_dump(mode="json")

    async def unmute_conversation(
        self, connection: Connection, data: dict[str, Any]
    ) -> dict[str, Any]:
        command = ConversationCommand.model_validate(data)
        state = await self.live.unmute(connection, command.conversation)
        return state.model_dump(mode="json")

    # -- the device's push token ------------------------------------------------------------

    async def set_push_token(self, connection: Connection, data: dict[str, Any]) -> dict[str, Any]:
        command = PushTokenSet.model_validate(data)
        session = await self.live.auth.set_push_token(principal_of(connection), command.fcm_token)
        return session.model_dump(mode="json")

    async def clear_push_token(
        self, connection: Connection, data: dict[str, Any]
    ) -> dict[str, Any]:
        session = await self.live.auth.set_push_token(principal_of(connection), None)
        return session.model_dump(mode="json")

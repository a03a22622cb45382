"""The commands clients send over sockets, as typed models, under every seed's field names."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import AliasChoices, Field, model_validator

from parley.domain.accounts.schemas import Lenient, PushTokenSet
from parley.domain.conversations.schemas import (
    CONVERSATION_REF,
    ConversationRef,
    MessageSend,
    ReactionCommand,
    ReadMark,
)
from parley.domain.conversations.search import MAX_PAGE as MAX_SEARCH_PAGE
from parley.domain.notifications.schemas import MuteSet
from parley.domain.social.schemas import RequestRef, UserRef
from parley.realtime.chat.live import LiveService
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


class RequestList(Lenient):
    direction: Literal["incoming", "outgoing"] = "incoming"


class Commands:
    """Each socket command, validated and run: the part both socket transports share.

    Results are JSON-ready dicts; transports decide how to answer (an ack, seed-style reply
    frames, or both).
    """

    def __init__(self, live: LiveService) -> None:
        self.live = live

    async def send(
        self, connection: Connection, data: dict[str, Any], *, echo: bool
    ) -> dict[str, Any]:
        message = await self.live.send(connection, MessageSend.model_validate(data), echo=echo)
        return message.model_dump(mode="json")

    async def join(self, connection: Connection, data: dict[str, Any]) -> dict[str, Any]:
        command = ConversationCommand.model_validate(data)
        joined = await self.live.join(connection, command.conversation)
        conversation_id = str(joined.conversation.id)
        return {
            "conversation_id": conversation_id,
            "room_id": joined.room_id,
            "conversation": joined.conversation.model_dump(mode="json", exclude={"members"}),
            "users": joined.viewers,
        }

    async def leave(self, connection: Connection, data: dict[str, Any]) -> dict[str, Any]:
        """Stop viewing a conversation (`/ws`: the Realtime Chat App's "active view")."""
        return await self._leave(connection, data, end_membership=False)

    async def leave_room(self, connection: Connection, data: dict[str, Any]) -> dict[str, Any]:
        """Stop viewing, and leave an open room (Socket.IO: the WebSocket Chat Server's)."""
        return await self._leave(connection, data, end_membership=True)

    async def _leave(
        self, connection: Connection, data: dict[str, Any], *, end_membership: bool
    ) -> dict[str, Any]:
        command = ConversationCommand.model_validate(data)
        left = await self.live.leave(
            connection, command.conversation, end_membership=end_membership
        )
        return {
            "conversation_id": str(left.conversation_id),
            "room_id": left.room_id,
            "left_room": left.room is not None and end_membership,
        }

    async def typing(self, connection: Connection, data: dict[str, Any]) -> dict[str, Any]:
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

    async def watch(self, connection: Connection, data: dict[str, Any]) -> dict[str, Any]:
        command = WatchCommand.model_validate(data)
        status = await self.live.watch(connection, command.target_user_id)
        return status.event_data()

    async def sync(self, connection: Connection, data: dict[str, Any]) -> dict[str, Any]:
        command = SyncCommand.model_validate(data)
        since = {str(k): v for k, v in command.since.items()}
        return {"conversations": await self.live.catch_up(connection, since)}

    async def unwatch(self, connection: Connection, data: dict[str, Any]) -> dict[str, Any]:
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
    ) -> dict[str, Any]:
        request_id = RequestRef.model_validate(data).request_id
        await self.live.friends.reject(principal_of(connection), request_id)
        return {"request_id": str(request_id), "rejected": True}

    async def cancel_friend_request(
        self, connection: Connection, data: dict[str, Any]
    ) -> dict[str, Any]:
        request_id = RequestRef.model_validate(data).request_id
        await self.live.friends.cancel(principal_of(connection), request_id)
        return {"request_id": str(request_id), "cancelled": True}

    async def remove_friend(self, connection: Connection, data: dict[str, Any]) -> dict[str, Any]:
        friend_id = UserIdCommand.model_validate(data).user_id
        await self.live.friends.unfriend(principal_of(connection), friend_id)
        return {"user_id": str(friend_id), "removed": True}

    async def list_friends(self, connection: Connection, data: dict[str, Any]) -> dict[str, Any]:
        friends = await self.live.friends.friends(principal_of(connection))
        return {"friends": [f.model_dump(mode="json") for f in friends]}

    async def list_friend_requests(
        self, connection: Connection, data: dict[str, Any]
    ) -> dict[str, Any]:
        incoming = RequestList.model_validate(data).direction == "incoming"
        found = await self.live.friends.requests(principal_of(connection), incoming=incoming)
        return {"requests": [r.model_dump(mode="json") for r in found]}

    async def block_user(self, connection: Connection, data: dict[str, Any]) -> dict[str, Any]:
        block = await self.live.blocks.block(principal_of(connection), UserRef.model_validate(data))
        return block.model_dump(mode="json")

    async def unblock_user(self, connection: Connection, data: dict[str, Any]) -> dict[str, Any]:
        user_id = UserIdCommand.model_validate(data).user_id
        await self.live.blocks.unblock(principal_of(connection), user_id)
        return {"user_id": str(user_id), "blocked": False}

    async def list_blocks(self, connection: Connection, data: dict[str, Any]) -> dict[str, Any]:
        blocks = await self.live.blocks.blocks(principal_of(connection))
        return {"blocks": [b.model_dump(mode="json") for b in blocks]}

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

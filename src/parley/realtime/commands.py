"""The commands clients send over sockets, as typed models, under every seed's field names."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import AliasChoices, Field, model_validator

from parley.domain.accounts.schemas import Lenient
from parley.domain.conversations.schemas import CONVERSATION_REF, ConversationRef, ReadMark


class ConversationCommand(Lenient):
    conversation: ConversationRef = Field(validation_alias=CONVERSATION_REF)


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
    target_user_id: uuid.UUID = Field(
        validation_alias=AliasChoices("target_user_id", "user_id", "userId")
    )


class AuthCommand(Lenient):
    token: str = Field(max_length=8192, validation_alias=AliasChoices("token", "access_token"))

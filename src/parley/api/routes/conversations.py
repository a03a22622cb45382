"""`/api/v1/conversations`: direct, group, room and support chats, their members and messages."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from parley.api.deps import CurrentUser, RuntimeDep
from parley.api.openapi_doc import errors
from parley.domain.conversations.messages import MAX_PAGE, MAX_SEQ
from parley.domain.conversations.schemas import (
    ConversationCreate,
    ConversationKind,
    ConversationPage,
    ConversationPublic,
    ConversationStatus,
    ConversationUpdate,
    MemberAdd,
    MessageEdit,
    MessagePage,
    MessagePublic,
    MessageSend,
    ReactionChange,
    ReactionCommand,
    ReadMark,
    ReadReceipt,
)
from parley.domain.conversations.service import DEFAULT_LIST_PAGE, MAX_LIST_PAGE

router = APIRouter(prefix="/api/v1", tags=["conversations"])


class MessageBody(MessageSend):
    """A send over REST names the conversation in the path."""

    conversation: str = ""


@router.post("/conversations", status_code=status.HTTP_201_CREATED, responses=errors(409, 429))
async def create_conversation(
    body: ConversationCreate, user: CurrentUser, runtime: RuntimeDep
) -> ConversationPublic:
    """`{participant_id}` opens (or returns) the direct chat with that user; `{name,
    participant_ids}` creates a group; `{kind: "room", name}` an open room; `{customer_id,
    agent_id}` or `{kind: "support"}` a support chat."""
    return await runtime.conversations.create(user, body)


@router.get("/conversations")
async def list_conversations(
    user: CurrentUser,
    runtime: RuntimeDep,
    kind: Annotated[list[ConversationKind] | None, Query()] = None,
    status_: Annotated[list[ConversationStatus] | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIST_PAGE)] = DEFAULT_LIST_PAGE,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> ConversationPage:
    """The caller's conversations, most recent activity first, each with its last message
    and the caller's unread count; `limit` a page (pass `next_cursor` back as `cursor`)."""
    return await runtime.conversations.list_for(
        user, kinds=kind, statuses=status_, limit=limit, cursor=cursor
    )


@router.get("/conversations/{conversation_id}")
async def get_conversation(
    conversation_id: uuid.UUID, user: CurrentUser, runtime: RuntimeDep
) -> ConversationPublic:
    return await runtime.conversations.get(user, conversation_id)


@router.patch("/conversations/{conversation_id}", responses=errors(409))
async def update_conversation(
    conversation_id: uuid.UUID, body: ConversationUpdate, user: CurrentUser, runtime: RuntimeDep
) -> ConversationPublic:
    """Rename a group or room (owners and admins), or set a support chat's status."""
    return await runtime.conversations.update(user, conversation_id, body)


@router.delete("/conversations/{conversation_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_conversation(
    conversation_id: uuid.UUID, user: CurrentUser, runtime: RuntimeDep
) -> None:
    await runtime.conversations.delete(user, conversation_id)


@router.post("/conversations/{conversation_id}/members")
async def add_member(
    conversation_id: uuid.UUID, body: MemberAdd, user: CurrentUser, runtime: RuntimeDep
) -> ConversationPublic:
    return await runtime.conversations.add_member(user, conversation_id, body)


@router.delete(
    "/conversations/{conversation_id}/members/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
)
async def remove_member(
    conversation_id: uuid.UUID, user_id: uuid.UUID, user: CurrentUser, runtime: RuntimeDep
) -> None:
    """Leave (your own id) or, as owner or admin, remove someone."""
    await runtime.conversations.remove_member(user, conversation_id, user_id)


@router.get("/conversations/{conversation_id}/messages")
async def list_messages(
    conversation_id: uuid.UUID,
    user: CurrentUser,
    runtime: RuntimeDep,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
    after_seq: Annotated[int | None, Query(ge=0, le=MAX_SEQ)] = None,
) -> MessagePage:
    """Newest first; pass `next_cursor` back as `cursor` for the page before. With
    `after_seq`, oldest first from just after that seq instead: what a client missed."""
    if after_seq is not None:
        return await runtime.messages.since(user, conversation_id, after_seq=after_seq, limit=limit)
    return await runtime.messages.history(user, conversation_id, limit=limit, cursor=cursor)


@router.post(
    "/conversations/{conversation_id}/messages",
    status_code=status.HTTP_201_CREATED,
    responses=errors(429),
)
async def send_message(
    conversation_id: uuid.UUID,
    body: MessageBody,
    user: CurrentUser,
    runtime: RuntimeDep,
    response: Response,
) -> MessagePublic:
    """Send; a repeated `client_msg_id` returns the stored message (200) instead of a copy."""
    command = MessageSend.model_validate(
        {**body.model_dump(exclude={"conversation"}), "conversation_id": str(conversation_id)}
    )
    message, created = await runtime.messages.send(user, command)
    if created:
        runtime.hub.stats.sent_over("rest")
    else:
        response.status_code = status.HTTP_200_OK
    return message


@router.post("/conversations/{conversation_id}/read")
async def mark_read(
    conversation_id: uuid.UUID,
    user: CurrentUser,
    runtime: RuntimeDep,
    body: ReadMark | None = None,
) -> ReadReceipt:
    """Move your read pointer (to `seq`, `message_id`, or the newest message)."""
    return await runtime.messages.mark_read(user, conversation_id, body or ReadMark())


@router.patch("/messages/{message_id}")
async def edit_message(
    message_id: uuid.UUID, body: MessageEdit, user: CurrentUser, runtime: RuntimeDep
) -> MessagePublic:
    return await runtime.messages.edit(user, message_id, body)


@router.delete("/messages/{message_id}")
async def delete_message(
    message_id: uuid.UUID, user: CurrentUser, runtime: RuntimeDep
) -> MessagePublic:
    """Soft delete: the message stays in history, without its content."""
    return await runtime.messages.delete(user, message_id)


@router.put("/messages/{message_id}/reactions/{emoji}", responses=errors(409))
async def add_reaction(
    message_id: uuid.UUID, emoji: str, user: CurrentUser, runtime: RuntimeDep
) -> ReactionChange:
    """Add an emoji to a message (URL-encoded in the path; idempotent). Members only; every
    member's connections hear `reaction_added {message_id, emoji, user_id, count}`."""
    return await runtime.reactions.add(user, _reaction(message_id, emoji))


@router.delete("/messages/{message_id}/reactions/{emoji}")
async def remove_reaction(
    message_id: uuid.UUID, emoji: str, user: CurrentUser, runtime: RuntimeDep
) -> ReactionChange:
    """Take your emoji off a message (idempotent); members hear `reaction_removed`."""
    return await runtime.reactions.remove(user, _reaction(message_id, emoji))


def _reaction(message_id: uuid.UUID, emoji: str) -> ReactionCommand:
    data = {"message_id": message_id, "emoji": emoji}
    try:
        return ReactionCommand.model_validate(data)
    except ValidationError as exc:  # the emoji, as the path carried it
        raise RequestValidationError(exc.errors(), body=data) from exc

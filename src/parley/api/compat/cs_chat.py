"""The customer-service chat seed's REST API: `/api/auth/*`, `/api/users/*`, `/api/chats/*`.

Same services as `/api/v1`, its camelCase shapes: a chat is a support conversation
`{id, customerId, agentId, status, createdAt, updatedAt}`, a message
`{id, chatId, senderId, content, type, timestamp, sender: {id, name, role}}`, a user
`{id, username, email, name, role, avatar, isOnline}`, and sign-in answers `{token, user}`.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response, status
from fastapi.exceptions import RequestValidationError
from pydantic import AliasChoices, BaseModel, Field, ValidationError

from parley.api.deps import Client, CurrentUser, RuntimeDep
from parley.domain.accounts.schemas import AuthResult, LoginRequest, UserCreate, UserPublic
from parley.domain.conversations.schemas import (
    ConversationCreate,
    ConversationKind,
    ConversationPublic,
    ConversationStatus,
    ConversationUpdate,
    MessagePublic,
    MessageSend,
)
from parley.domain.conversations.service import DEFAULT_LIST_PAGE, MAX_LIST_PAGE

router = APIRouter(prefix="/api", tags=["compat: customer-service chat"])


def user_shape(user: UserPublic) -> dict[str, Any]:
    return {
        "id": str(user.id),
        "username": user.username,
        "email": user.email,
        "name": user.name,
        "role": user.role.value,
        "avatar": user.avatar,
        "isOnline": user.is_online,
    }


def signed_in(result: AuthResult) -> dict[str, Any]:
    return {
        "token": result.tokens.access_token,
        "refreshToken": result.tokens.refresh_token,
        "user": user_shape(result.user),
    }


def chat_shape(chat: ConversationPublic) -> dict[str, Any]:
    return {
        "id": str(chat.id),
        "customerId": _str(chat.customer_id),
        "agentId": _str(chat.agent_id),
        "status": chat.status.value,
        "createdAt": chat.created_at.isoformat(),
        "updatedAt": chat.updated_at.isoformat(),
        "lastMessage": message_shape(chat.last_message) if chat.last_message else None,
        "unreadCount": chat.unread_count,
    }


def message_shape(message: MessagePublic) -> dict[str, Any]:
    sender = message.sender
    return {
        "id": str(message.id),
        "chatId": str(message.conversation_id),
        "senderId": _str(message.sender_id),
        "content": message.content,
        "type": message.type.value,
        "messageType": message.type.value,
        "timestamp": message.created_at.isoformat(),
        "seq": message.seq,
        "sender": {"id": str(sender.id), "name": sender.name, "role": sender.role}
        if sender
        else None,
    }


def _str(value: uuid.UUID | None) -> str | None:
    return None if value is None else str(value)


class OnlineStatus(BaseModel):
    is_online: bool = Field(validation_alias=AliasChoices("isOnline", "is_online"))


class ChatStatus(BaseModel):
    status: ConversationStatus


@router.post("/auth/login")
async def login(body: LoginRequest, runtime: RuntimeDep, client: Client) -> dict[str, Any]:
    return signed_in(await runtime.auth.log_in(body, client))


@router.post("/auth/register", status_code=status.HTTP_201_CREATED)
async def register(body: UserCreate, runtime: RuntimeDep, client: Client) -> dict[str, Any]:
    return signed_in(await runtime.auth.register(body, client))


@router.post("/auth/logout")
async def logout(user: CurrentUser, runtime: RuntimeDep) -> dict[str, Any]:
    await runtime.auth.log_out(user)
    return {"message": "Logged out successfully"}


@router.get("/users/me")
async def me(user: CurrentUser, runtime: RuntimeDep) -> dict[str, Any]:
    return user_shape(await runtime.users.get_user(user.user_id, user))


@router.get("/users")
async def users(user: CurrentUser, runtime: RuntimeDep) -> list[dict[str, Any]]:
    """The seed's "all users", bounded: the first 100, staff first (who a customer of a
    support desk looks for), then the oldest accounts."""
    page = await runtime.users.list_users(user, search=None, limit=100, offset=0, staff_first=True)
    return [user_shape(u) for u in page.users]


@router.put("/users/status")
async def set_online(body: OnlineStatus, user: CurrentUser, runtime: RuntimeDep) -> dict[str, Any]:
    changed = await runtime.users.set_online(user, body.is_online)
    runtime.presence.announce(user.user_id, user.username, online=body.is_online)
    return user_shape(changed)


@router.get("/chats")
async def chats(
    user: CurrentUser,
    runtime: RuntimeDep,
    response: Response,
    limit: Annotated[int, Query(ge=1, le=MAX_LIST_PAGE)] = DEFAULT_LIST_PAGE,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> list[dict[str, Any]]:
    """The seed's list, a page at a time: the next page's cursor in `X-Next-Cursor`."""
    page = await runtime.conversations.list_for(
        user, kinds=[ConversationKind.SUPPORT], limit=limit, cursor=cursor
    )
    if page.next_cursor:
        response.headers["X-Next-Cursor"] = page.next_cursor
    return [chat_shape(c) for c in page.conversations]


@router.post("/chats", status_code=status.HTTP_201_CREATED)
async def create_chat(
    body: ConversationCreate, user: CurrentUser, runtime: RuntimeDep
) -> dict[str, Any]:
    command = body.model_copy(update={"kind": ConversationKind.SUPPORT})
    return chat_shape(await runtime.conversations.create(user, command))


@router.get("/chats/{chat_id}")
async def get_chat(chat_id: uuid.UUID, user: CurrentUser, runtime: RuntimeDep) -> dict[str, Any]:
    return chat_shape(await runtime.conversations.get(user, chat_id))


@router.get("/chats/{chat_id}/messages")
async def chat_messages(
    chat_id: uuid.UUID, user: CurrentUser, runtime: RuntimeDep
) -> list[dict[str, Any]]:
    """Oldest first, as a chat window shows them (the newest 100)."""
    page = await runtime.messages.history(user, chat_id, limit=100, cursor=None)
    return [message_shape(m) for m in reversed(page.messages)]


@router.post("/chats/{chat_id}/messages", status_code=status.HTTP_201_CREATED)
async def send(
    chat_id: uuid.UUID, body: dict[str, Any], user: CurrentUser, runtime: RuntimeDep
) -> dict[str, Any]:
    try:
        command = MessageSend.model_validate({**body, "conversation_id": str(chat_id)})
    except ValidationError as exc:  # the body is the seed's free-form shape: a 422 like any
        raise RequestValidationError(exc.errors(), body=body) from exc
    message, created = await runtime.messages.send(user, command)
    if created:
        runtime.hub.stats.sent_over("rest")
    return message_shape(message)


@router.put("/chats/{chat_id}/status")
async def set_status(
    chat_id: uuid.UUID, body: ChatStatus, user: CurrentUser, runtime: RuntimeDep
) -> dict[str, Any]:
    update = ConversationUpdate(status=body.status)
    return chat_shape(await runtime.conversations.update(user, chat_id, update))


@router.put("/chats/{chat_id}/archive")
async def archive(chat_id: uuid.UUID, user: CurrentUser, runtime: RuntimeDep) -> dict[str, Any]:
    update = ConversationUpdate(status=ConversationStatus.ARCHIVED)
    return chat_shape(await runtime.conversations.update(user, chat_id, update))


@router.put("/chats/{chat_id}/unarchive")
async def unarchive(chat_id: uuid.UUID, user: CurrentUser, runtime: RuntimeDep) -> dict[str, Any]:
    update = ConversationUpdate(status=ConversationStatus.ACTIVE)
    return chat_shape(await runtime.conversations.update(user, chat_id, update))


@router.delete("/chats/{chat_id}")
async def delete_chat(chat_id: uuid.UUID, user: CurrentUser, runtime: RuntimeDep) -> dict[str, Any]:
    await runtime.conversations.delete(user, chat_id)
    return {"message": "Chat deleted successfully"}

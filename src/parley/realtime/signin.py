"""Signing a connection in, whatever its protocol: the sign-in commands and token renewal."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal, NotRequired, cast

from pydantic import AliasChoices, Field, ValidationError
from typing_extensions import TypedDict

from parley.domain.accounts.auth import AuthService
from parley.domain.accounts.principal import Principal
from parley.domain.accounts.schemas import Lenient
from parley.errors import Forbidden
from parley.realtime.connection import Connection
from parley.realtime.hub import Hub

Seq = Annotated[int, Field(ge=0, le=2**63 - 1)]
"""A message's seq: a 64-bit signed integer in every database (a larger one cannot be queried)."""

Since = Annotated[dict[uuid.UUID, Seq], Field(max_length=1000)]
"""The last seq a client has, per conversation (at most 1 000 of them)."""


class SyncCommand(Lenient):
    """Where the client stopped: the last seq it has, per conversation."""

    since: Since


class AuthCommand(Lenient):
    token: str = Field(max_length=8192, validation_alias=AliasChoices("token", "access_token"))
    since: Since | None = None


def principal_of(connection: Connection) -> Principal:
    """Who acts on this connection; refused once its credentials stopped holding."""
    assert connection.principal is not None, "commands need an authenticated connection"
    ended = connection.ended
    if ended is not None:
        raise type(ended)(ended.message)
    return connection.principal


async def renew_access(
    auth: AuthService, hub: Hub, connection: Connection, token: str
) -> Principal:
    """A fresh access token replaces the one the connection signed in with, before that one
    expires (and closes it). It must be the same user's; another user's is refused and the
    connection goes on as it was."""
    current = principal_of(connection)
    principal = await auth.authenticate(token)
    if principal.user_id != current.user_id:
        raise Forbidden(
            "That token is another user's; a connection stays with the user it signed in as.",
            code="token_user_mismatch",
        )
    hub.renew(connection, principal)
    return principal


class Renewal(TypedDict):
    """The answer to a renewal: who, which connection, and when the new token expires."""

    user_id: str
    username: str | None
    socket_id: NotRequired[str]
    """On Socket.IO."""
    connection_id: NotRequired[str]
    """On plain WebSocket."""
    renewed: Literal[True]
    expires_at: str | None


def renewal(principal: Principal, **ids: str) -> Renewal:
    """The answer to a renewal: who, which connection, and when the new token expires."""
    expires_at = principal.expires_at
    return cast(
        Renewal,
        {
            "user_id": str(principal.user_id),
            "username": principal.username,
            **ids,
            "renewed": True,
            "expires_at": expires_at.isoformat() if expires_at else None,
        },
    )


def validation_details(exc: ValidationError) -> tuple[str, dict[str, Any]]:
    """A message naming the offending fields, and the fields themselves."""
    fields = [
        {"field": ".".join(str(p) for p in e["loc"]) or "data", "message": e["msg"]}
        for e in exc.errors()
    ]
    names = ", ".join(f["field"] for f in fields)
    return f"Invalid or missing: {names}.", {"fields": fields}

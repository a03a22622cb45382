"""Sockets open but not signed in yet, counted per client address (this instance's own, as
every connection bound is): at most MAX_UNAUTHENTICATED_SOCKETS_PER_CLIENT at once. One
address cannot hold thousands of idle sockets for WS_AUTH_TIMEOUT_SECS each; over it the
upgrade (or Engine.IO handshake) is answered 429 `too_many_unauthenticated`."""

from __future__ import annotations

from dataclasses import dataclass, field

import orjson
from starlette.types import Scope, Send

SCOPE_KEY = "parley.pending_socket"
"""Where a socket's ticket waits in its ASGI scope, for the session to hand back at sign-in."""

REFUSAL = orjson.dumps(
    {
        "error": {
            "code": "too_many_unauthenticated",
            "message": "Too many sockets from this address are waiting to sign in.",
        }
    }
)


@dataclass(eq=False)
class Ticket:
    gate: PendingSockets
    address: str
    released: bool = False
    adopted: bool = False
    """An Engine.IO session holds it (until it signs in or closes)."""

    def release(self) -> None:
        """Signed in or gone: no longer counted (a second call does nothing)."""
        if not self.released:
            self.released = True
            self.gate._release(self.address)


@dataclass
class PendingSockets:
    limit: int
    refused: int = 0
    """Sockets refused (a metric)."""
    _open: dict[str, int] = field(default_factory=dict)

    def open(self, scope: Scope) -> Ticket | None:
        """A ticket for a new socket from the scope's client, or None past the limit."""
        client = scope.get("client")
        address = str(client[0]) if client else ""
        count = self._open.get(address, 0)
        if count >= self.limit:
            self.refused += 1
            return None
        self._open[address] = count + 1
        return Ticket(self, address)

    def count(self, address: str) -> int:
        return self._open.get(address, 0)

    def _release(self, address: str) -> None:
        left = self._open.get(address, 0) - 1
        if left > 0:
            self._open[address] = left
        else:
            self._open.pop(address, None)


def release_of(scope: Scope) -> None:
    """The socket of this scope signed in: its ticket, if it has one, is given back."""
    ticket = scope.get(SCOPE_KEY)
    if isinstance(ticket, Ticket):
        ticket.release()


def adopt(scope: Scope) -> Ticket | None:
    """The ticket of a new Engine.IO session's handshake, which the session now holds."""
    ticket = scope.get(SCOPE_KEY)
    if not isinstance(ticket, Ticket):
        return None
    ticket.adopted = True
    return ticket


def is_handshake(scope: Scope) -> bool:
    """An Engine.IO request that opens a session (no `sid` yet)."""
    return b"sid=" not in scope.get("query_string", b"")


async def refuse(scope: Scope, send: Send) -> None:
    """429 with the error, where the server can answer an upgrade so (uvicorn can); otherwise
    a close before the handshake (403)."""
    if scope["type"] == "websocket" and "websocket.http.response" not in scope.get(
        "extensions", {}
    ):
        await send({"type": "websocket.close", "code": 1008})
        return
    prefix = "websocket." if scope["type"] == "websocket" else ""
    await send(
        {
            "type": f"{prefix}http.response.start",
            "status": 429,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(REFUSAL)).encode()),
            ],
        }
    )
    await send({"type": f"{prefix}http.response.body", "body": REFUSAL})

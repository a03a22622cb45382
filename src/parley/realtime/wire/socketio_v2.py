"""Socket.IO v2 (protocol 4, over Engine.IO 3): the packets where it differs from v5.

What differs (socketio/socket.io-protocol, branch v4; socket.io 2.x), and nothing else does:

- the client is connected to `/` without asking: the server sends `0` (CONNECT) as the session
  opens, and a client never sends a CONNECT for `/`;
- a CONNECT carries no payload either way: the client puts what it has to say in a query on
  the namespace (`0/gameplay?token=…,`), the server answers `0/gameplay,` without a sid;
- a refused CONNECT is an ERROR (type 4, the number v5's CONNECT_ERROR kept) whose payload is
  any JSON value: socket.io 2.x sends a string (`4/gameplay,"Invalid namespace"`) or its
  middleware's `err.data`. Parley sends `{code, message}` (and `details` when it has them) for
  a refused sign-in, the shape of its `error` events, and the reference server's strings for
  a namespace that does not exist or is not connected.

Events, acknowledgements and DISCONNECT are the same in both versions.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import orjson

CONNECT, ERROR = "0", "4"
INVALID_NAMESPACE = "Invalid namespace"
NOT_CONNECTED = "Not connected to namespace"


def connect_target(namespace: str) -> tuple[str, dict[str, str]]:
    """A CONNECT's namespace and query: `/gameplay?token=t` → `/gameplay`, `{"token": "t"}`
    (the auth payload the namespace sees, as socket.io 4 does for a v2 client). A name given
    twice keeps its first value."""
    path, _, query = namespace.partition("?")
    auth: dict[str, str] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        auth.setdefault(name, value)
    return path or "/", auth


def _head(kind: str, namespace: str) -> str:
    return kind if namespace == "/" else f"{kind}{namespace},"


def connected(namespace: str) -> str:
    """The CONNECT answer: no payload (a v2 client's parser refuses one before 3.3.x)."""
    return _head(CONNECT, namespace)


def refused(namespace: str, code: str, message: str, details: dict[str, Any] | None = None) -> str:
    """A sign-in refused at CONNECT: `4{"code","message"}` (socket.io-client 2.x emits it as
    the socket's `error` event)."""
    data: dict[str, Any] = {"code": code, "message": message}
    if details:
        data["details"] = details
    return _head(ERROR, namespace) + orjson.dumps(data).decode()


def namespace_error(namespace: str, message: str) -> str:
    """The reference server's own ERROR: a string payload."""
    return _head(ERROR, namespace) + orjson.dumps(message).decode()

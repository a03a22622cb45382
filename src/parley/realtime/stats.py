"""Each socket's life, counted and logged: connect, sign-in (or its failure), disconnect.

Both protocols report the same moments here, so `/metrics` and the log tell one story. The
counts are plain integers read at scrape time (`api.readings`): nothing here runs per
frame. A connection counts its own frames (`Connection.frames_in`, `frames_out`, one
integer add each); the frames of the connections still open are summed when `/metrics` is
read, and a connection's totals join its protocol's when it closes.

The log lines carry the connection id, never a token: `socket.connected` (protocol, client
address, request id), `socket.signed_in` (user id), `socket.sign_in_failed` (code) and
`socket.disconnected` (reason, duration, frames in and out).
"""

from __future__ import annotations

import logging
import time
from collections import Counter

import structlog

from parley.realtime.connection import Connection

log = structlog.get_logger("parley.socket")
_logs_info = logging.getLogger("parley.socket").isEnabledFor
"""Whether an info line would be written (the standard library caches the answer): below
LOG_LEVEL, structlog's own call still built and dropped each line, three per connection."""

PROTOCOLS = ("socketio", "websocket")
TOO_SLOW = "too slow"
"""The disconnect reason of a client whose outbox overflowed (closed with 4429)."""


class ProtocolCounts:
    """One protocol's totals (the frames of its connections that have closed)."""

    __slots__ = ("connects", "disconnects", "frames_in", "frames_out", "outbox_drops", "sent")

    def __init__(self) -> None:
        self.connects = 0
        self.disconnects = 0
        self.frames_in = 0
        self.frames_out = 0
        self.outbox_drops = 0
        self.sent = 0
        """Messages stored that arrived over this transport."""


class SocketStats:
    def __init__(self) -> None:
        self.protocols = {name: ProtocolCounts() for name in (*PROTOCOLS, "rest")}
        self.auth_failures: Counter[str] = Counter()
        self._open: set[Connection] = set()

    def connected(
        self, connection: Connection, *, client: str | None, request_id: str | None
    ) -> None:
        connection.opened_at = time.monotonic()
        self._open.add(connection)
        self.protocols[connection.protocol].connects += 1
        if _logs_info(logging.INFO):
            log.info(
                "socket.connected",
                protocol=connection.protocol,
                connection_id=connection.id,
                client=client,
                request_id=request_id,
            )

    def signed_in(self, connection: Connection) -> None:
        if _logs_info(logging.INFO):
            log.info(
                "socket.signed_in",
                protocol=connection.protocol,
                connection_id=connection.id,
                user_id=connection.user_id,
            )

    def sign_in_failed(self, connection: Connection, code: str) -> None:
        self.auth_failures[code] += 1
        if _logs_info(logging.INFO):
            log.info(
                "socket.sign_in_failed",
                protocol=connection.protocol,
                connection_id=connection.id,
                code=code,
            )

    def disconnected(self, connection: Connection, reason: str) -> None:
        """Once per connection: counted, its frames added to its protocol's, logged."""
        if connection not in self._open:
            return
        self._open.discard(connection)
        counts = self.protocols[connection.protocol]
        counts.disconnects += 1
        counts.frames_in += connection.frames_in
        counts.frames_out += connection.frames_out
        if reason == TOO_SLOW:
            counts.outbox_drops += 1
        if _logs_info(logging.INFO):
            log.info(
                "socket.disconnected",
                protocol=connection.protocol,
                connection_id=connection.id,
                user_id=connection.user_id if connection.principal is not None else None,
                reason=reason,
                duration_secs=round(time.monotonic() - connection.opened_at, 3),
                frames_in=connection.frames_in,
                frames_out=connection.frames_out,
            )

    def sent_over(self, transport: str) -> None:
        """A message stored from this transport (`rest`, `socketio`, `websocket`)."""
        self.protocols[transport].sent += 1

    def frames(self, protocol: str) -> tuple[int, int]:
        """(in, out): the closed connections' totals plus the open ones' counts so far."""
        counts = self.protocols[protocol]
        frames_in, frames_out = counts.frames_in, counts.frames_out
        for connection in self._open:
            if connection.protocol == protocol:
                frames_in += connection.frames_in
                frames_out += connection.frames_out
        return frames_in, frames_out

    @property
    def open_count(self) -> int:
        return len(self._open)

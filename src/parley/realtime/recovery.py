"""Socket.IO connection-state recovery (socket.io 4.6+): a socket that drops comes back as itself.

The CONNECT answer carries a private session id, `pid`, beside the public `sid`; every new
message event carries its position in the recovery log as a last argument, the offset. A
socket.io client that loses its connection reconnects with `{pid, offset}` in its CONNECT
payload (the last offset it received). Within `SIO_RECOVERY_WINDOW` it gets the same socket
id, the same user (checked again: a revoked session, a disabled account or an expired token
is not restored), its joined conversations, and every message it missed, in order, before
anything new — then `recovered` is true on the client. Otherwise (unknown, forged, used or
expired pid; another user's token) the socket is a new session with a new pid.

Nothing lives only in one process: the record of a signed-in socket is in the
`RecoveryStore` from its sign-in on (updated when it joins or leaves a conversation, kept
alive while it is connected), and the log tells, from the client's offset alone, which
messages it missed: the log's order is the order every instance delivers in. So a client
may come back to another instance, and the instance that held it may have died. The
in-process store dies with its process anyway: it gets a socket's record only once the
socket is gone, and a resume while the old connection is still (half-)open is served from
the socket itself, so a connected socket costs it nothing.

What is replayed is what the `since` catch-up replays: new messages, from the database.
Ephemeral events (typing, presence, who is viewing, read receipts) and changes to older
messages are not; the resumed socket hears them again from then on.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import secrets
import time
import uuid
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, Protocol

import orjson
import structlog

from parley.domain.accounts.auth import AuthService
from parley.domain.accounts.principal import Principal
from parley.domain.ports import LoggedMessage, RecoveryStore, parse_position
from parley.errors import ParleyError
from parley.realtime.connection import Connection

log = structlog.get_logger(__name__)

MAX_PID_CHARS = 64
SCAN_LIMIT = 100_000
"""Logged messages (of every conversation) a resume may read; past that it is refused and the
client starts a new session (and should catch up with `since`)."""


def pid_key(pid: str) -> str:
    """The store's key for a pid: (half of) its hash, so the store never holds a usable pid."""
    return hashlib.sha256(pid.encode()).hexdigest()[:32]


def later(a: str, b: str) -> str:
    """The later of two valid log positions."""
    return a if (parse_position(a) or (0, 0)) >= (parse_position(b) or (0, 0)) else b


def valid_position(value: Any) -> str | None:
    return value if isinstance(value, str) and parse_position(value) is not None else None


class Recoverable(Protocol):
    """A Socket.IO connection as recovery sees it (`transports.socketio.SocketIOConnection`)."""

    @property
    def id(self) -> str: ...
    @property
    def sid(self) -> str: ...
    @property
    def pid(self) -> str | None: ...
    @property
    def namespace(self) -> str: ...
    @property
    def principal(self) -> Principal | None: ...
    @property
    def viewing_now(self) -> AbstractSet[str]: ...
    @property
    def ended(self) -> ParleyError | None: ...


@dataclass(slots=True)
class Resumable:
    """What it takes to bring a socket back, as stored."""

    sid: str
    """The public socket id, the same after a resume."""
    connection_id: str
    """The connection's internal id (its own sends are not replayed to it)."""
    namespace: str
    user_id: str
    session_id: str
    expires_at: float | None
    """When the access token it signed in with expires (epoch seconds)."""
    start: str
    """The log position it has everything up to, whatever offset a client names."""
    rooms: list[str] = field(default_factory=list)
    """Conversations it had joined (viewing)."""
    disconnected_at: float | None = None
    """Set when the instance saw it go; None while connected (or if that instance died)."""

    def encode(self) -> bytes:
        # A copy: the bytes orjson returns keep its whole 4 KiB output buffer allocated, and
        # the in-process store keeps one record per connected socket (4 KiB of RSS each).
        return bytes(memoryview(orjson.dumps({name: getattr(self, name) for name in FIELDS})))

    @classmethod
    def decode(cls, raw: bytes) -> Resumable | None:
        try:
            return cls(**orjson.loads(raw))
        except (TypeError, ValueError):
            return None


FIELDS = tuple(f.name for f in fields(Resumable))


@dataclass(frozen=True, slots=True)
class Resumed:
    """A socket coming back: who it is and what it missed (decided before CONNECT is answered)."""

    pid: str
    record: Resumable
    principal: Principal
    missed: list[LoggedMessage]
    end: str
    """The log position read up to."""


class Recovery:
    """Recoverable sessions of the `/` namespace: pid, record, resume."""

    def __init__(
        self,
        store: RecoveryStore,
        auth: AuthService,
        *,
        window_secs: float,
        in_flight_secs: float,
    ) -> None:
        self._store = store
        self._auth = auth
        self.window_secs = window_secs
        self._in_flight_ms = int(in_flight_secs * 1000)
        """How long before the server saw a connection go its client may have stopped
        receiving (a ping interval and timeout, and some): the log is kept that much longer
        than the window, and a replay starts no earlier than that before the drop."""
        self._sockets: dict[str, tuple[Recoverable, str]] = {}
        """Signed-in sockets on this instance: store key -> (socket, start). By key, so that
        a socket resuming while its old connection here is still half-open takes the record
        over in one step (a scan of every socket per sign-in was quadratic). With a store
        that dies with this process, a connected socket's record is made from it."""
        self._keeper: asyncio.Task[None] | None = None

    @staticmethod
    def new_pid() -> str:
        return secrets.token_urlsafe(24)

    # -- resuming ------------------------------------------------------------------------------

    async def resume(
        self, auth: Any, namespace: str, principal: Principal | None
    ) -> Resumed | None:
        """The session `{pid, offset}` names, if it may come back; None for a new session.

        `principal` is the one the CONNECT's own token proves (None without a token): it must
        be the record's user, and replaces the stored one; without it the stored one is
        checked again."""
        pid = auth.get("pid") if isinstance(auth, dict) else None
        if not isinstance(pid, str) or not pid or len(pid) > MAX_PID_CHARS:
            return None
        key = pid_key(pid)
        raw = await self._store.take(key)  # once: a second resume is a new session
        record = Resumable.decode(raw) if raw is not None else self._take_connected(key)
        if record is None or record.namespace != namespace:
            return None
        now = time.time()
        if record.disconnected_at is not None and now - record.disconnected_at > self.window_secs:
            return None
        if principal is not None:
            if str(principal.user_id) != record.user_id:
                log.info("recovery.other_user", namespace=namespace)
                return None
        else:
            try:
                principal = await self._auth.resume(
                    uuid.UUID(record.user_id),
                    uuid.UUID(record.session_id),
                    None
                    if record.expires_at is None
                    else datetime.fromtimestamp(record.expires_at, UTC),
                )
            except ParleyError as exc:
                log.info("recovery.refused", reason=exc.code)
                return None
        offset = valid_position(auth.get("offset"))
        position = record.start if offset is None else later(offset, record.start)
        if record.disconnected_at is not None:  # what came well before the drop, it has
            position = later(
                position, f"{int(record.disconnected_at * 1000) - self._in_flight_ms}-0"
            )
        missed = await self._store.messages_after(position, limit=SCAN_LIMIT)
        if missed is None:
            log.info("recovery.too_much_missed", namespace=namespace)
            return None
        end = missed[-1].position if missed else position
        mine = [m for m in missed if m.origin != record.connection_id]
        return Resumed(pid, record, principal, mine, end)

    async def missed_since(self, resumed: Resumed) -> tuple[list[LoggedMessage], str]:
        """What was logged after the first read: the socket is attached now, so anything
        later reaches it live."""
        more = await self._store.messages_after(resumed.end, limit=SCAN_LIMIT)
        if not more:
            return resumed.missed, resumed.end
        mine = [m for m in more if m.origin != resumed.record.connection_id]
        return resumed.missed + mine, more[-1].position

    @staticmethod
    def replay_plan(
        connection: Connection, missed: list[LoggedMessage]
    ) -> tuple[dict[str, int], dict[str, set[int]]]:
        """`since` and the exact seqs for `LiveService.catch_up`, over the conversations the
        connection receives now (a conversation it was removed from stays out)."""
        only: dict[str, set[int]] = {}
        for message in missed:
            if "c:" + message.conversation_id in connection.member_of:
                only.setdefault(message.conversation_id, set()).add(message.seq)
        since = {conversation: min(seqs) - 1 for conversation, seqs in only.items()}
        return since, only

    # -- remembering ---------------------------------------------------------------------------

    async def remember(self, socket: Recoverable, *, start: str | None = None) -> None:
        """The socket signed in (or came back): its record, from now on, for the window."""
        assert socket.pid is not None
        if start is None:
            try:
                start = await self._store.last_position()
            except Exception:  # best effort: the socket works on, it just cannot come back
                log.exception("recovery.unavailable")
                return
        key = pid_key(socket.pid)
        self._sockets[key] = (socket, start)  # an old, half-open connection's: this one's now
        if self._store.outlives_instance:
            await self._save(key, self._record(socket, start))

    async def changed(self, socket: Recoverable) -> None:
        """Its rooms or its token changed: the record follows."""
        if not self._store.outlives_instance:
            return  # its record is made from it when needed
        key = self._owned(socket)
        if key is not None and socket.principal is not None:  # while it owns the record
            await self._save(key, self._record(socket, self._sockets[key][1]), unless_taken=True)

    async def gone(self, socket: Recoverable, *, recoverable: bool) -> None:
        """The socket is gone: kept for the window if it may come back (its connection
        dropped), forgotten if not (it disconnected, or was disconnected for a reason)."""
        key = self._owned(socket)
        if key is None:
            return
        _, start = self._sockets.pop(key)
        if socket.principal is None:
            return
        if recoverable and socket.ended is None:
            record = self._record(socket, start, disconnected_at=time.time())
            await self._save(key, record, unless_taken=True)
        else:
            with contextlib.suppress(Exception):
                await self._store.take(key)

    def _owned(self, socket: Recoverable) -> str | None:
        """The store key of the record this socket owns here, if it owns one."""
        if socket.pid is None:
            return None
        key = pid_key(socket.pid)
        tracked = self._sockets.get(key)
        return key if tracked is not None and tracked[0] is socket else None

    def _take_connected(self, key: str) -> Resumable | None:
        """With a store that dies with this process: the record of a socket still connected
        here (its connection half-open), made from it, and taken (it resumes once)."""
        if self._store.outlives_instance or key not in self._sockets:
            return None
        socket, start = self._sockets.pop(key)
        return None if socket.principal is None else self._record(socket, start)

    @staticmethod
    def _record(
        socket: Recoverable, start: str, *, disconnected_at: float | None = None
    ) -> Resumable:
        """Built when saved rather than kept: a connected socket costs its key and start."""
        principal = socket.principal
        assert principal is not None
        expires_at = principal.expires_at
        return Resumable(
            sid=socket.sid,
            connection_id=socket.id,
            namespace=socket.namespace,
            user_id=str(principal.user_id),
            session_id=str(principal.session_id),
            expires_at=None if expires_at is None else expires_at.timestamp(),
            start=start,
            rooms=sorted(socket.viewing_now),
            disconnected_at=disconnected_at,
        )

    async def _save(self, key: str, record: Resumable, *, unless_taken: bool = False) -> None:
        """Best effort: a socket works on without it, it just cannot come back. A socket
        whose old connection was still open when it resumed elsewhere is not overwritten
        when that old connection goes (`unless_taken`)."""
        try:
            await self._store.save(
                key,
                record.encode(),
                self.window_secs,
                owner=record.connection_id,
                unless_taken=unless_taken,
            )
        except Exception:
            log.exception("recovery.save_failed")

    # -- keeping the records of connected sockets alive ----------------------------------------

    def start(self) -> None:
        self._keeper = asyncio.create_task(self._keep(), name="recovery-keeper")

    async def close(self) -> None:
        if self._keeper is not None:
            self._keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keeper

    async def _keep(self) -> None:
        """A connected socket's record lives on while its instance does: if the instance
        dies, the record outlives it by two thirds of the window to the whole window."""
        every = self.window_secs / 3
        if not self._store.outlives_instance:
            return  # nothing of a connected socket is stored
        while True:
            await asyncio.sleep(every)
            keys = list(self._sockets)
            try:
                await self._store.keep(keys, self.window_secs)
            except Exception:
                log.exception("recovery.keep_failed", sockets=len(keys))

"""Socket.IO v5 over Parley's Engine.IO: packets, namespaces, acknowledgements.

Packet text: `<type>[<namespace>,][<ack id>][<json>]`, types 0 CONNECT, 1 DISCONNECT, 2 EVENT,
3 ACK, 4 CONNECT_ERROR, and the binary forms 5 BINARY_EVENT and 6 BINARY_ACK (`5<n>-…` then n
attachments: see `binary`). Each namespace a client connects to is one `Socket`; its handlers
come from the namespace object.

Bytes anywhere in what a socket emits or acknowledges go out as a binary packet. Bytes a client
sends reach only the events a namespace `accepts_binary` for; any other event carrying them is
refused with `binary_not_supported` (on its ack, else the `error` event). A binary header is
decoded as the EVENT or ACK it stands for, so it falls on the same side of the line below;
its attachments must follow it, all of them and nothing else (an attachment nobody waits for,
or a text packet before the last one, cannot be decoded either), and a packet with its
attachments is at most `max_packet_bytes` (past it, the session closes as too large, 4413).

A session of Engine.IO 3 speaks Socket.IO v2 (protocol 4): connected to `/` as it opens,
CONNECT answers and refusals in v2's shapes (`socketio_v2`); the rest is the same.

Where the line falls, as the specification and the reference server (socket.io-parser) draw
it: a packet that cannot be decoded closes the Engine.IO session (`BadPacket`): an unknown
type, an ack id that is not at most 15 ASCII digits, a payload that is not JSON or not of its
type's shape (CONNECT: an object; DISCONNECT: none; EVENT: a non-empty array whose first
element is a number or a string other than a reserved name; ACK: an array), a CONNECT_ERROR
from the client, and a packet the session's state does not allow (anything but CONNECT for
a namespace not connected, a second CONNECT for one that is). A decodable packet whose JSON
breaks Parley's input policy (`wirejson`: NUL, lone surrogates, depth, 64-bit integers) is
well-formed at the protocol level: it is answered (`RefusedPacket`), like a command with bad
fields, and the connection stays.

Why one module: the packet codec and the dispatch that draws the line above change together,
and the assembly of binary packets acts on the same session state (its namespace sockets, the
binary packet arriving); the version-specific shapes live apart (`socketio_v2`), as does the
binary codec (`binary`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import orjson
import structlog

from parley.errors import MalformedRequest
from parley.realtime.pipeline import CommandPipeline
from parley.realtime.protocol import CloseCode
from parley.realtime.wire import socketio_v2
from parley.realtime.wire.binary import (
    Assembly,
    AttachmentError,
    check_placeholders,
    encode_binary,
    split_count,
)
from parley.realtime.wire.engineio import EngineHandler, EngineSession
from parley.wirejson import JsonPolicy, JsonRefused, deliverable

log = structlog.get_logger(__name__)

CONNECT, DISCONNECT, EVENT, ACK, CONNECT_ERROR, BINARY_EVENT, BINARY_ACK = "0123456"
SOCKETS = "sio.sockets"
ASSEMBLY = "sio.assembly"
"""In a session's state while a binary packet's attachments are arriving."""
BINARY_KINDS = (BINARY_EVENT, BINARY_ACK)
DEFAULT_MAX_ATTACHMENTS = 10
"""The reference parser's `maxAttachments`."""
BINARY_NOT_SUPPORTED = "binary_not_supported"
DEFAULT_POLICY = JsonPolicy()
MAX_ACK_ID_DIGITS = 15
"""Ack ids are ASCII digits (the protocol's); 15 of them always fit a JavaScript number."""
RESERVED_EVENTS = frozenset(
    {"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"}
)
"""Event names socket.io-parser refuses: they mean something to the client or server API."""
JSON_SPACE = " \t\n\r"

S = TypeVar("S", bound="Socket")


@dataclass(frozen=True, slots=True)
class Packet:
    kind: str
    namespace: str
    ack_id: int | None
    data: Any
    attachments: int = 0
    """How many attachments a binary packet brought (its `kind` is then EVENT or ACK)."""


class BadPacket(ValueError):
    """A packet the codec cannot decode: the Engine.IO session closes (see the module)."""


class RefusedPacket(ValueError):
    """A well-formed packet whose JSON breaks the edge policy; answered (on its own ack when
    it has one) and the connection stays."""

    def __init__(self, refused: JsonRefused, kind: str, namespace: str, ack_id: int | None) -> None:
        super().__init__(refused.message)
        self.refused = refused
        self.kind = kind
        self.namespace = namespace
        self.ack_id = ack_id

    def error(self) -> dict[str, Any]:
        refused = self.refused
        error: dict[str, Any] = {"code": refused.code, "message": refused.message}
        args = refused.value
        if isinstance(args, list) and args and isinstance(args[0], str) and deliverable(args[0]):
            error["event"] = args[0]
        error["details"] = refused.details
        return error


@dataclass(frozen=True, slots=True)
class Acknowledgement:
    """What an event handler returns to acknowledge with several arguments (any other return
    value is the acknowledgement's one argument)."""

    args: tuple[Any, ...]


def parse_packet(text: str, json_policy: JsonPolicy = DEFAULT_POLICY) -> Packet:
    if not text or text[0] not in "0123456":
        raise BadPacket("unknown packet type")
    kind, rest = text[0], text[1:]
    if kind in (BINARY_EVENT, BINARY_ACK):
        raise BadPacket("binary packets are not supported")
    namespace = "/"
    if rest.startswith("/"):
        end = rest.find(",")
        namespace, rest = (rest, "") if end == -1 else (rest[:end], rest[end + 1 :])
    digits = 0
    while digits < len(rest) and "0" <= rest[digits] <= "9":  # ASCII only: not "²" or "٣"
        digits += 1
    if digits > MAX_ACK_ID_DIGITS:
        raise BadPacket(f"an ack id has at most {MAX_ACK_ID_DIGITS} digits")
    ack_id = int(rest[:digits]) if digits else None
    payload = rest[digits:]
    try:
        data = json_policy.loads(payload) if payload else None
    except JsonRefused as exc:
        # Refused by the policy, yet maybe not even of the packet's shape: that is decided
        # on the value where it could be decoded, else on the text (nesting past the
        # decoder's own limit).
        if exc.value is not None:
            shape_problem = _shape_problem(kind, exc.value)
        else:
            shape_problem = _text_shape_problem(kind, payload)
        if shape_problem is not None:
            raise BadPacket(shape_problem) from exc
        raise RefusedPacket(exc, kind, namespace, ack_id) from exc
    except MalformedRequest as exc:
        raise BadPacket("payload is not JSON") from exc
    shape_problem = _shape_problem(kind, data)
    if shape_problem is not None:
        raise BadPacket(shape_problem)
    return Packet(kind, namespace, ack_id, data)


def _shape_problem(kind: str, data: Any) -> str | None:
    """What is wrong with a decoded payload (None: no payload) for its packet type."""
    if kind == CONNECT:
        return None if data is None or isinstance(data, dict) else "a CONNECT payload is an object"
    if kind == DISCONNECT:
        return None if data is None else "a DISCONNECT has no payload"
    if kind == EVENT:
        name = data[0] if isinstance(data, list) and data else None
        if isinstance(name, str):
            return "reserved event name" if name in RESERVED_EVENTS else None
        if isinstance(name, int | float) and not isinstance(name, bool):
            return None
        return "an EVENT payload is [name, ...arguments]"
    if kind == ACK:
        return None if isinstance(data, list) else "an ACK payload is an array"
    return "a client does not send CONNECT_ERROR"


def _text_shape_problem(kind: str, payload: str) -> str | None:
    """`_shape_problem` for a JSON text that was not decoded: by its first characters."""
    text = payload.lstrip(JSON_SPACE)
    if kind == CONNECT:
        return None if text.startswith("{") else "a CONNECT payload is an object"
    if kind == EVENT:
        first = text[1:].lstrip(JSON_SPACE)[:1]
        if text.startswith("[") and first and first in '"-0123456789':
            return None
        return "an EVENT payload is [name, ...arguments]"
    if kind == ACK:
        return None if text.startswith("[") else "an ACK payload is an array"
    return _shape_problem(kind, payload)


def encode_packet(kind: str, namespace: str, data: Any = None, ack_id: int | None = None) -> str:
    head = kind if namespace == "/" else f"{kind}{namespace},"
    if ack_id is not None:
        head += str(ack_id)
    return head if data is None else head + orjson.dumps(data).decode()


def event_packet(namespace: str, name: str, data: Any) -> str:
    """The Engine.IO message carrying a Socket.IO event: `42["name",{...}]` on `/`."""
    return "4" + encode_packet(EVENT, namespace, [name, data])


class Socket(ABC):
    """A client's connection to one namespace, as the Socket.IO server addresses it."""

    id: str
    session: EngineSession
    namespace: str
    pipeline: CommandPipeline
    """The socket's events in arrival order (some may overlap: `Namespace.overlapping_events`)."""

    @abstractmethod
    def push(self, frame: Any) -> None:
        """Queue an Engine.IO message for the client; never blocks."""

    def emit(self, name: str, *args: Any) -> None:
        try:
            packet = "4" + encode_packet(EVENT, self.namespace, [name, *args])
        except TypeError:  # bytes in it (orjson encodes none): a binary packet
            self.push_binary(BINARY_EVENT, [name, *args])
            return
        self.push(packet)

    def ack(self, ack_id: int, *args: Any) -> None:
        try:
            packet = "4" + encode_packet(ACK, self.namespace, list(args), ack_id)
        except TypeError:
            self.push_binary(BINARY_ACK, list(args), ack_id)
            return
        self.push(packet)

    def push_binary(self, kind: str, data: list[Any], ack_id: int | None = None) -> None:
        """A binary packet: its header, then its attachments as binary messages."""
        header, attachments = encode_binary(kind, self.namespace, data, ack_id)
        self.push("4" + header)
        for attachment in attachments:
            self.session.send_binary(attachment)


class Namespace(ABC, Generic[S]):
    """The events of one namespace (`/` for chat, `/gameplay` for games)."""

    name: str
    overlapping_events: frozenset[str] = frozenset()
    """Events that may run while the next ones are read (sends: see `pipeline`)."""

    def accepts_binary(self, event: str) -> bool:
        """Whether `event` may carry bytes; any other event that does is refused with
        `binary_not_supported` before the namespace sees it."""
        return False

    @abstractmethod
    def open_socket(self, session: EngineSession, server: SocketIOServer) -> S:
        """A new socket of this namespace on the client's Engine.IO session."""

    @abstractmethod
    async def on_connect(self, socket: S, auth: Any) -> dict[str, Any] | None:
        """Accept (return extra CONNECT data, or None) or raise to refuse the connection."""

    async def after_connect(self, socket: S) -> None:
        """Runs once the client has its CONNECT answer (greetings, catch-up)."""
        return

    @abstractmethod
    async def on_event(self, socket: S, event: str, args: list[Any], *, wants_ack: bool) -> Any:
        """Handle an event; the return value is the acknowledgement's payload."""

    @abstractmethod
    async def on_disconnect(self, socket: S) -> None: ...


class SocketIOServer(EngineHandler):
    def __init__(
        self,
        namespaces: list[Namespace[Any]],
        *,
        json_policy: JsonPolicy = DEFAULT_POLICY,
        max_attachments: int = DEFAULT_MAX_ATTACHMENTS,
        max_packet_bytes: int = 1_000_000,
    ) -> None:
        self._namespaces = {n.name: n for n in namespaces}
        self._json = json_policy
        self._max_attachments = max_attachments
        self._max_packet_bytes = max_packet_bytes
        """A binary packet's header and attachments together (Engine.IO's `maxPayload`)."""

    def namespace(self, name: str) -> Namespace[Any] | None:
        return self._namespaces.get(name)

    async def on_open(self, session: EngineSession) -> None:
        session.state[SOCKETS] = {}
        if session.protocol == 3:  # v2: connected to `/` without asking
            await self._connect(session, session.state[SOCKETS], Packet(CONNECT, "/", None, {}))

    async def on_message(self, session: EngineSession, data: str) -> None:
        if ASSEMBLY in session.state:
            await _protocol_error(session, "a text packet before the last attachment")
            return
        binary: Assembly[Packet | RefusedPacket] | None = None
        try:
            if data[:1] in BINARY_KINDS:
                binary = self._binary_header(data)
            else:
                packet = parse_packet(data, self._json)
        except RefusedPacket as exc:
            await self._answer_refused(session, exc)
            return
        except BadPacket as exc:
            await _protocol_error(session, str(exc))
            return
        if binary is None:
            await self._dispatch(session, packet)
        elif binary.over_limit:  # only a WebSocket frame's own limit let it in
            await session.close("payload too large", CloseCode.FRAME_TOO_LARGE)
        elif binary.complete:  # no attachments
            await self._assembled(session, binary)
        else:
            session.state[ASSEMBLY] = binary

    async def _dispatch(self, session: EngineSession, packet: Packet) -> None:
        sockets: dict[str, Socket] = session.state[SOCKETS]
        if packet.kind == CONNECT and session.protocol == 3:  # `0/gameplay?token=…,`
            path, auth = socketio_v2.connect_target(packet.namespace)
            packet = Packet(CONNECT, path, None, auth)
        problem = _state_problem(sockets, packet.kind, packet.namespace)
        if problem is not None and session.protocol == 3 and packet.kind != CONNECT:
            # socket.io 2.x ignores a packet for a namespace not connected; Parley says so.
            if packet.kind != DISCONNECT:
                message = socketio_v2.NOT_CONNECTED
                session.send_message(socketio_v2.namespace_error(packet.namespace, message))
            return
        if problem is not None:
            await _protocol_error(session, problem)
            return
        socket = sockets.get(packet.namespace)
        if packet.kind == CONNECT:
            await self._connect(session, sockets, packet)
        elif socket is None:
            return  # not reached: _state_problem closed the session
        elif packet.kind == EVENT:
            namespace = self._namespaces[socket.namespace]
            name = packet.data[0] if isinstance(packet.data, list) and packet.data else None
            # A binary send stores its files before it joins the commit queue: it runs alone,
            # so that it keeps its place among the sends around it.
            overlaps = isinstance(name, str) and name in namespace.overlapping_events
            if overlaps and not packet.attachments:
                await socket.pipeline.overlap(self._event(socket, packet))
            else:
                await socket.pipeline.run(self._event(socket, packet))
        elif packet.kind == DISCONNECT:
            del sockets[packet.namespace]
            socket.pipeline.cancel()
            await self._namespaces[packet.namespace].on_disconnect(socket)

    async def _answer_refused(self, session: EngineSession, refused: RefusedPacket) -> None:
        problem = _state_problem(session.state[SOCKETS], refused.kind, refused.namespace)
        if problem is not None:
            await _protocol_error(session, problem)
        else:
            self._refused(session, refused)

    def _binary_header(self, text: str) -> Assembly[Packet | RefusedPacket]:
        """`5<n>-…` / `6<n>-…`, parsed as the EVENT / ACK it stands for, placeholders checked:
        the assembly its n attachments go to. What cannot be decoded is a `BadPacket`, as for a
        text packet; a header whose JSON the input policy refuses is answered, like a text one,
        but after its attachments (they are its own, not strays)."""
        kind = EVENT if text[0] == BINARY_EVENT else ACK
        refused: RefusedPacket | None = None
        try:
            count, rest = split_count(text[1:], self._max_attachments)
            try:
                packet = parse_packet(kind + rest, self._json)
            except RefusedPacket as exc:
                refused, packet = exc, Packet(kind, exc.namespace, exc.ack_id, None)
            check_placeholders(packet.data, count)
        except AttachmentError as exc:
            raise BadPacket(str(exc)) from exc
        header = refused or Packet(kind, packet.namespace, packet.ack_id, packet.data, count)
        size = len(text) if text.isascii() else len(text.encode())
        return Assembly(
            header, packet.data, count, size_bytes=size, limit_bytes=self._max_packet_bytes
        )

    async def on_binary(self, session: EngineSession, data: bytes) -> None:
        assembly: Assembly[Packet | RefusedPacket] | None = session.state.get(ASSEMBLY)
        if assembly is None:
            await _protocol_error(session, "an attachment with no binary packet before it")
            return
        try:
            complete = assembly.add(data)
        except AttachmentError:
            await session.close("payload too large", CloseCode.FRAME_TOO_LARGE)
            return
        if complete:
            del session.state[ASSEMBLY]
            await self._assembled(session, assembly)

    async def _assembled(
        self, session: EngineSession, assembly: Assembly[Packet | RefusedPacket]
    ) -> None:
        header = assembly.header
        if isinstance(header, RefusedPacket):
            await self._answer_refused(session, header)
            return
        data = assembly.result()
        await self._dispatch(
            session, Packet(header.kind, header.namespace, header.ack_id, data, header.attachments)
        )

    async def on_close(self, session: EngineSession, reason: str) -> None:
        session.state.pop(ASSEMBLY, None)
        sockets: dict[str, Socket] = session.state.pop(SOCKETS, {})
        for namespace, socket in sockets.items():
            socket.pipeline.cancel()
            try:
                await self._namespaces[namespace].on_disconnect(socket)
            except Exception:
                log.exception("socketio.disconnect_failed", namespace=namespace)

    async def disconnect(self, socket: Socket) -> None:
        """The server ends one namespace's socket: the client gets a DISCONNECT (socket.io
        clients report "io server disconnect") and the namespace forgets the socket. The
        Engine.IO connection stays for the client's other namespaces (clients close it when
        none is left)."""
        sockets: dict[str, Socket] = socket.session.state.get(SOCKETS, {})
        if sockets.get(socket.namespace) is not socket:
            return
        del sockets[socket.namespace]
        socket.push("4" + encode_packet(DISCONNECT, socket.namespace))
        socket.pipeline.cancel()
        await self._namespaces[socket.namespace].on_disconnect(socket)

    @staticmethod
    def _refused(session: EngineSession, refused: RefusedPacket) -> None:
        """Answer a refused packet the way its sender waits for: a CONNECT with
        CONNECT_ERROR, an event with an ack id on that ack, anything else with `error`."""
        error = refused.error()
        socket = session.state[SOCKETS].get(refused.namespace)
        if refused.kind == CONNECT and session.protocol == 3:
            namespace = socketio_v2.connect_target(refused.namespace)[0]
            session.send_message(
                socketio_v2.refused(namespace, error["code"], error["message"], error["details"])
            )
        elif refused.kind == CONNECT:
            data = {
                "message": error["message"],
                "data": {"code": error["code"], "details": error["details"]},
            }
            session.send_message(encode_packet(CONNECT_ERROR, refused.namespace, data))
        elif socket is not None and refused.kind == EVENT and refused.ack_id is not None:
            socket.ack(refused.ack_id, {"error": error})
        elif socket is not None:
            socket.emit("error", error)
        else:
            session.send_message(encode_packet(EVENT, "/", ["error", error]))

    async def _connect(
        self, session: EngineSession, sockets: dict[str, Socket], packet: Packet
    ) -> None:
        handler = self._namespaces.get(packet.namespace)
        v2 = session.protocol == 3
        if handler is None and v2:
            message = socketio_v2.INVALID_NAMESPACE
            session.send_message(socketio_v2.namespace_error(packet.namespace, message))
            return
        if handler is None:
            session.send_message(
                encode_packet(CONNECT_ERROR, packet.namespace, {"message": "Invalid namespace"})
            )
            return
        if packet.namespace in sockets:
            return
        socket = handler.open_socket(session, self)
        try:
            extra = await handler.on_connect(socket, packet.data)
        except ConnectRefused as exc:
            if v2:
                session.send_message(
                    socketio_v2.refused(packet.namespace, exc.code, exc.message, exc.details)
                )
                return
            data: dict[str, Any] = {"code": exc.code}
            if exc.details:
                data["details"] = exc.details
            session.send_message(
                encode_packet(
                    CONNECT_ERROR, packet.namespace, {"message": exc.message, "data": data}
                )
            )
            return
        sockets[packet.namespace] = socket
        session.in_use = True  # the connect timeout is over for it
        if v2:
            session.send_message(socketio_v2.connected(packet.namespace))
        else:
            session.send_message(
                encode_packet(CONNECT, packet.namespace, {"sid": socket.id, **(extra or {})})
            )
        await handler.after_connect(socket)

    async def _event(self, socket: Socket, packet: Packet) -> None:
        args: list[Any] = packet.data  # parse_packet: [name, ...arguments]
        if not isinstance(args[0], str):  # a number: the protocol's, not a Parley event
            error = {"code": "bad_packet", "message": "An event name is a string."}
            if packet.ack_id is not None:
                socket.ack(packet.ack_id, {"error": error})
            else:
                socket.emit("error", error)
            return
        wants_ack = packet.ack_id is not None
        namespace = self._namespaces[socket.namespace]
        if packet.attachments and not namespace.accepts_binary(args[0]):
            error = {
                "code": BINARY_NOT_SUPPORTED,
                "message": f"{args[0]!r} takes no binary data (bytes) in its arguments.",
                "event": args[0],
            }
            if packet.ack_id is None:
                socket.emit("error", error)
            else:
                socket.ack(packet.ack_id, {"error": error})
            return
        result = await namespace.on_event(socket, args[0], args[1:], wants_ack=wants_ack)
        if packet.ack_id is not None:
            if isinstance(result, Acknowledgement):
                socket.ack(packet.ack_id, *result.args)
            else:
                socket.ack(packet.ack_id, result)


def _state_problem(sockets: dict[str, Socket], kind: str, namespace: str) -> str | None:
    """A packet the session's state does not allow (the reference server closes on it)."""
    if kind == CONNECT:
        return "already connected to namespace" if namespace in sockets else None
    return None if namespace in sockets else "not connected to namespace"


async def _protocol_error(session: EngineSession, problem: str) -> None:
    """A packet the codec cannot take: the session closes, as the protocol says."""
    log.debug("socketio.protocol_error", sid=session.sid, problem=problem)
    await session.close(f"invalid Socket.IO packet: {problem}", CloseCode.PROTOCOL_ERROR)


class ConnectRefused(Exception):
    def __init__(self, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details

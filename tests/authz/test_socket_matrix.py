"""Authorization, sockets: every command of every socket handler table — `/ws` (and
`/api/ws`), `/ws/gameplay`, the Socket.IO namespaces `/` and `/gameplay` — sent by every
actor, gets the answer in the table: `ok` (acknowledged) or the error code. A command in a
table with no rule fails `test_every_socket_command_has_a_rule`.

Columns: anonymous (connected, not signed in), outsider, member, owner, agent, super_agent,
admin (see `ACTORS` in conftest; no API key on sockets). Each command runs on a connection of
its own, so no answer depends on what an earlier one did.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import pytest
import socketio.exceptions
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from parley.realtime.chat.namespace import EVENTS as CHAT_EVENTS
from parley.realtime.chat.websocket import HANDLERS as WS_HANDLERS
from parley.realtime.gameplay.namespace import EVENTS as GAME_EVENTS
from parley.realtime.gameplay.websocket import GameplayWebSocketSession
from tests.authz.conftest import ACTORS as ALL_ACTORS
from tests.authz.conftest import Cast, Scene, build_scene
from tests.support.accounts import login
from tests.support.clients import RECEIVE_TIMEOUT_SECS, WsClient
from tests.support.server import ServerProcess
from tests.support.sio import SioClient

ACTORS = tuple(a for a in ALL_ACTORS if a != "api_key")

OK = "ok"
NA = "not_authenticated"
NM = "not_a_member"

SIGNED_IN = (NA, OK, OK, OK, OK, OK, OK)
EVERYONE = (OK,) * 7
MEMBERS = (NA, NM, OK, OK, NM, NM, NM)
SUPPORT = (NA, NM, NM, OK, OK, OK, OK)

TABLES: dict[str, Any] = {
    "ws": WS_HANDLERS,
    "sio": CHAT_EVENTS,
    "ws-game": GameplayWebSocketSession.handlers,
    "sio-game": GAME_EVENTS,
}
"""Each transport's command table, as the server dispatches it."""

ALIASES = {
    "message": "send_message",
    "send": "send_message",
    "join_room": "join",
    "join_chat": "join",
    "leave_room": "leave",
    "leave_chat": "leave",
    "read_receipt": "read",
    "mark_read": "read",
    "heartbeat": "ping",
    "authenticate": "auth",
    "add_reaction": "react",
    "remove_reaction": "unreact",
}
GAME_ALIASES = {"join": "join_room", "leave": "leave_room", "heartbeat": "ping"}
GAME_ALIASES["authenticate"] = "auth"


@dataclass
class Ctx:
    cast: Cast
    scene: Scene
    host_room: str  # a game room of the host's, with free seats
    actor: str

    def token(self) -> str:
        who = "outsider" if self.actor == "anonymous" else self.actor
        return self.cast.accounts[who].access_token


Payload = Callable[[Ctx], dict[str, Any]]


@dataclass
class Rule:
    variant: str
    payload: Payload
    expected: tuple[str, ...] | dict[str, tuple[str, ...]]
    fresh: bool = False

    def want(self, transport: str) -> tuple[str, ...]:
        if isinstance(self.expected, dict):
            return self.expected["ws" if transport.startswith("ws") else "sio"]
        return self.expected


MODERATE = (NA, NM, "not_a_moderator", OK, NM, OK, OK)


def new_room_member(c: Ctx) -> dict[str, Any]:
    """Someone who has just joined the scene's room, to mute or ban."""
    newcomer = c.cast.fresh_customer()
    joined = c.cast.api.post(f"/api/v1/rooms/{c.scene.room}/join", headers=newcomer.headers)
    assert joined.status_code == 200, joined.text
    return {"room_id": c.scene.room, "user_id": newcomer.id}


STAFF = (NA, "role_required", "role_required", "role_required", OK, OK, OK)


def members_open_report(c: Ctx) -> dict[str, Any]:
    """The member's open report of the owner's group message (made now if none is open)."""
    made = c.cast.api.post(
        f"/api/v1/messages/{c.scene.group_message}/reports",
        headers=c.cast.headers("member"),
        json={"reason": "abuse"},
    )
    assert made.status_code in (200, 201), made.text
    return {"report_id": made.json()["id"], "status": "dismissed"}


def room_and(actor: str) -> Payload:
    return lambda c: {"room_id": c.scene.room, "user_id": c.cast.id(actor)}


def in_(field: str) -> Payload:
    return lambda ctx: {"room_id": getattr(ctx.scene, field)}


def peer_of(ctx: Ctx, actor: str) -> str:
    """Someone new who shares a direct chat with `actor` and nothing with anyone else."""
    peer = ctx.cast.fresh_customer()
    opened = ctx.cast.api.post(
        "/api/v1/conversations", headers=peer.headers, json={"participant_id": ctx.cast.id(actor)}
    )
    assert opened.status_code == 201, opened.text
    return peer.id


def number() -> str:
    return f"+1415555{uuid.uuid4().int % 10_000:04d}"


CHAT_RULES: dict[str, list[Rule]] = {
    "send_message": [
        Rule("group", lambda c: {"room_id": c.scene.group, "content": "hi"}, MEMBERS),
        Rule("support", lambda c: {"room_id": c.scene.support, "content": "hi"}, SUPPORT),
    ],
    "join": [
        Rule("group", in_("group"), MEMBERS),
        Rule("open room", in_("room"), SIGNED_IN, fresh=True),
        Rule("support", in_("support"), SUPPORT),
    ],
    "leave": [Rule("group", in_("group"), MEMBERS)],
    "typing": [Rule("group", lambda c: {"room_id": c.scene.group, "is_typing": True}, MEMBERS)],
    "read": [
        Rule("group", in_("group"), MEMBERS),
        # As over REST: supervisors keep no read pointer in a chat they are not in.
        Rule("support", in_("support"), (NA, NM, NM, OK, OK, NM, NM)),
    ],
    "edit_message": [
        Rule(
            "the owner's",
            lambda c: {"message_id": c.scene.group_message, "content": "edited"},
            (NA, NM, "not_the_sender", OK, NM, NM, NM),
        )
    ],
    "delete_message": [
        Rule(
            "the owner's",
            lambda c: {"message_id": c.scene.group_message},
            # Admins may delete any message (README, Conversations and messages), and
            # super-agents and the conversation's owner and admins any in a group or room.
            (NA, NM, "not_the_sender", OK, NM, OK, OK),
            fresh=True,
        )
    ],
    # Presence: for people who share a conversation with the owner (the member in the group,
    # the agent in the support chat), friends and admins; not for anyone else.
    "subscribe_status": [
        Rule(
            "the member's direct-chat peer",
            lambda c: {"target_user_id": peer_of(c, "member")},
            (NA,) + ("presence_not_shared",) + (OK,) + ("presence_not_shared",) * 3 + (OK,),
        ),
        Rule(
            "a stranger",
            lambda c: {"target_user_id": c.cast.fresh_customer().id},
            (NA,) + ("presence_not_shared",) * 5 + (OK,),
        ),
    ],
    "unsubscribe_status": [
        Rule("the owner", lambda c: {"target_user_id": c.cast.id("owner")}, SIGNED_IN)
    ],
    "sync": [
        Rule("group", lambda c: {"since": {c.scene.group: 0}}, MEMBERS),
    ],
    "ping": [Rule("", lambda c: {}, {"ws": SIGNED_IN, "sio": EVERYONE})],
    # Signs an anonymous connection in; on a signed-in one, renews its token (same user).
    "auth": [Rule("own token", lambda c: {"token": c.token()}, EVERYONE)],
    # The GOSOCKET seed's phone sign-in, on Socket.IO only.
    "login": [Rule("a new number", lambda c: {"mobile_no": number()}, EVERYONE)],
    "verify_otp": [
        Rule(
            "a wrong session",
            lambda c: {"mobile_no": number(), "session_token": "nope", "otp": "000000"},
            ("otp_session_invalid",) * 7,
        )
    ],
    "set_profile": [
        Rule(
            "a wrong session",
            lambda c: {"mobile_no": number(), "session_token": "nope", "full_name": "X"},
            ("otp_session_invalid",) * 7,
        )
    ],
    # Before sign-in too: kept for the device session the coming phone sign-in opens.
    "device_info": [Rule("", lambda c: {"device_id": "phone-1"}, EVERYONE)],
    # Friends and blocks: as over REST (tests/authz/test_rest_matrix.py).
    "friend_request": [
        Rule("someone new", lambda c: {"user_id": c.cast.fresh_customer().id}, SIGNED_IN)
    ],
    "accept_friend_request": [
        Rule(
            "the owner's to the member",
            lambda c: {"request_id": c.scene.friend_request},
            (NA, "not_the_recipient", OK) + ("not_the_recipient",) * 4,
            fresh=True,
        )
    ],
    "reject_friend_request": [
        Rule(
            "the owner's to the member",
            lambda c: {"request_id": c.scene.friend_request},
            (NA, "not_the_recipient", OK) + ("not_the_recipient",) * 4,
            fresh=True,
        )
    ],
    "cancel_friend_request": [
        Rule(
            "the owner's to the member",
            lambda c: {"request_id": c.scene.friend_request},
            (NA, "not_the_sender", "not_the_sender", OK) + ("not_the_sender",) * 3,
            fresh=True,
        )
    ],
    "remove_friend": [
        Rule(
            "not a friend",
            lambda c: {"user_id": c.cast.fresh_customer().id},
            (NA,) + ("not_friends",) * 6,
        )
    ],
    "list_friends": [Rule("", lambda c: {}, SIGNED_IN)],
    "list_friend_requests": [Rule("", lambda c: {}, SIGNED_IN)],
    "block_user": [
        Rule("someone new", lambda c: {"user_id": c.cast.fresh_customer().id}, SIGNED_IN)
    ],
    "unblock_user": [
        Rule("someone new", lambda c: {"user_id": c.cast.fresh_customer().id}, SIGNED_IN)
    ],
    "list_blocks": [Rule("", lambda c: {}, SIGNED_IN)],
    "react": [
        Rule("group", lambda c: {"message_id": c.scene.group_message, "emoji": "👍"}, MEMBERS)
    ],
    "unreact": [
        Rule("group", lambda c: {"message_id": c.scene.group_message, "emoji": "👍"}, MEMBERS)
    ],
    # Socket.IO only: bytes as a binary attachment; anyone signed in, as over REST.
    "upload": [
        Rule("a small file", lambda c: {"data": b"hello\n", "filename": "a.txt"}, SIGNED_IN)
    ],
    "mute_conversation": [
        Rule("group", lambda c: {"conversation_id": c.scene.group}, MEMBERS),
        Rule(
            "support",
            lambda c: {"conversation_id": c.scene.support, "until": "2999-01-01T00:00:00Z"},
            (NA, NM, NM, OK, OK, NM, NM),
        ),
    ],
    "unmute_conversation": [Rule("group", lambda c: {"conversation_id": c.scene.group}, MEMBERS)],
    # Moderation: the room's owner (and room admins), super-agents and admins; the agent is
    # no member of the room, the member moderates nothing.
    "mute_member": [Rule("a new member of the room", new_room_member, MODERATE)],
    "ban_member": [Rule("a new member of the room", new_room_member, MODERATE)],
    "unmute_member": [Rule("the member", room_and("member"), MODERATE)],
    "unban_member": [Rule("the member", room_and("member"), MODERATE)],
    "list_mutes": [Rule("the room", lambda c: {"room_id": c.scene.room}, MODERATE)],
    "list_bans": [Rule("the room", lambda c: {"room_id": c.scene.room}, MODERATE)],
    # Reports: the message's readers report it (not its sender); staff list and close them.
    "report_message": [
        Rule(
            "the owner's, in the group",
            lambda c: {"message_id": c.scene.group_message, "reason": "spam"},
            (NA, NM, OK, "own_message", NM, NM, NM),
        )
    ],
    "list_reports": [Rule("", lambda c: {"status": "open"}, STAFF)],
    "resolve_report": [Rule("the member's open report", members_open_report, STAFF)],
    "set_push_token": [Rule("", lambda c: {"fcm_token": "authz-socket-token"}, SIGNED_IN)],
    "clear_push_token": [Rule("", lambda c: {}, SIGNED_IN)],
    "search_messages": [
        Rule("everywhere", lambda c: {"q": "hi"}, SIGNED_IN),
        Rule("group", lambda c: {"q": "hi", "conversation_id": c.scene.group}, MEMBERS),
        Rule("support", lambda c: {"q": "hi", "conversation_id": c.scene.support}, SUPPORT),
    ],
}

GAME_RULES: dict[str, list[Rule]] = {
    "create_room": [Rule("", lambda c: {"name": "g", "capacity": 4}, SIGNED_IN)],
    "join_room": [Rule("the host's", lambda c: {"room_id": c.host_room}, SIGNED_IN)],
    "quick_match": [Rule("", lambda c: {"game": "relay"}, SIGNED_IN)],
    "leave_room": [
        Rule(
            "the host's, not seated",
            lambda c: {"room_id": c.host_room},
            (NA,) + ("not_in_room",) * 6,
        )
    ],
    "list_rooms": [Rule("", lambda c: {}, SIGNED_IN)],
    "player_action": [
        Rule(
            "the host's, not seated",
            lambda c: {"room_id": c.host_room, "action_type": "move"},
            (NA,) + ("not_in_room",) * 6,
        )
    ],
    "ping": [Rule("", lambda c: {}, {"ws": SIGNED_IN, "sio": EVERYONE})],
    # Signs an anonymous connection in; on a signed-in one, renews its token (same user).
    "auth": [Rule("own token", lambda c: {"token": c.token()}, EVERYONE)],
}


def rules_for(transport: str) -> tuple[dict[str, list[Rule]], dict[str, str]]:
    if transport.endswith("game"):
        return GAME_RULES, GAME_ALIASES
    return CHAT_RULES, ALIASES


def test_every_socket_command_has_a_rule() -> None:
    missing = []
    for transport, table in TABLES.items():
        rules, aliases = rules_for(transport)
        missing += [f"{transport}: {n}" for n in table if aliases.get(n, n) not in rules]
    assert not missing, f"socket commands with no authorization rule: {missing}"


def outcome(result: Any) -> str:
    """`ok`, or the error code inside an acknowledgement that reports one per item (sync)."""
    if isinstance(result, dict):
        items = result.get("conversations", result)
        for value in items.values() if isinstance(items, dict) else []:
            if isinstance(value, dict) and isinstance(value.get("error"), dict):
                return str(value["error"].get("code"))
    return OK


async def answer_ws(server: ServerProcess, path: str, ctx: Ctx, name: str, data: Any) -> str:
    anonymous = ctx.actor == "anonymous"
    client = await WsClient.open(server.base_url, None if anonymous else ctx.token(), path=path)
    request_id = f"authz-{uuid.uuid4().hex[:8]}"
    try:
        await client.send({"type": name, "id": request_id, "data": data})
        # Signing in on the connection answers with `authenticated` (no id) rather than an ack.
        reply = await client.next(
            lambda f: f.get("id") == request_id or (anonymous and f.get("type") == "authenticated")
        )
    finally:
        await client.close()
    if reply["type"] == "error":
        return str(reply.get("code"))
    return outcome(reply.get("data"))


async def answer_sio(server: ServerProcess, namespace: str, ctx: Ctx, name: str, data: Any) -> str:
    client = SioClient(namespace)
    auth = None if ctx.actor == "anonymous" else {"token": ctx.token()}
    await client.connect(server.base_url, auth=auth)
    try:
        if auth is not None:
            await client.expect("authenticated")
        reply = await client.call(name, data)
    finally:
        await client.disconnect()
    if isinstance(reply, dict) and isinstance(reply.get("error"), dict):
        return str(reply["error"].get("code"))
    return outcome(reply)


@pytest.fixture
async def host_room(authz_server: ServerProcess, cast: Cast) -> AsyncIterator[Callable[[], Any]]:
    """A player of their own (none of the actors), on /ws/gameplay, who opens a fresh room
    on request."""
    host = await WsClient.open(
        authz_server.base_url, cast.fresh_customer().access_token, path="/ws/gameplay"
    )

    async def make() -> str:
        room = await host.ack("create_room", {"name": "hosted", "capacity": 100})
        return str(room["room_id"])

    yield make
    await host.close()


@pytest.mark.parametrize("transport", sorted(TABLES))
async def test_the_socket_matrix(
    transport: str, authz_server: ServerProcess, cast: Cast, host_room: Any
) -> None:
    table = TABLES[transport]
    rules, aliases = rules_for(transport)
    shared = build_scene(cast)
    differences = []
    for name in sorted(table):
        for rule in rules.get(aliases.get(name, name), []):
            observed = []
            for actor in ACTORS:
                scene = build_scene(cast) if rule.fresh else shared
                ctx = Ctx(cast, scene, await host_room(), actor)
                data = rule.payload(ctx)
                if transport == "ws":
                    got = await answer_ws(authz_server, "/ws", ctx, name, data)
                elif transport == "ws-game":
                    got = await answer_ws(authz_server, "/ws/gameplay", ctx, name, data)
                elif transport == "sio":
                    got = await answer_sio(authz_server, "/", ctx, name, data)
                else:
                    got = await answer_sio(authz_server, "/gameplay", ctx, name, data)
                observed.append(got)
            want = rule.want(transport)
            if tuple(observed) != want:
                cells = [
                    f"{actor} {got} (want {w})"
                    for actor, got, w in zip(ACTORS, observed, want, strict=True)
                    if got != w
                ]
                label = f"{name}" + (f" [{rule.variant}]" if rule.variant else "")
                differences.append(f"{transport} {label}: " + ", ".join(cells))
    assert not differences, f"{len(differences)} rules broken:\n" + "\n".join(differences)


def bad_tokens(cast: Cast) -> dict[str, str]:
    revoked = login(cast.api, cast.accounts["outsider"].username)
    assert cast.api.post("/api/v1/auth/logout", headers=revoked.headers).status_code == 200
    return {
        "revoked": revoked.access_token,
        "forged": "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl",
        "garbage": "not-a-jwt",
    }


async def closed_code(connection: ClientConnection) -> int | None:
    """Read until the server closes; its close code (None: still open after the timeout)."""
    try:
        async with asyncio.timeout(RECEIVE_TIMEOUT_SECS):
            while True:
                await connection.recv()
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd is not None else None
    except TimeoutError:
        return None


@pytest.mark.parametrize("path", ["/ws", "/api/ws", "/ws/gameplay", "/api/ws/gameplay"])
async def test_bad_tokens_are_refused_on_plain_websockets(
    path: str, authz_server: ServerProcess, cast: Cast
) -> None:
    url = authz_server.base_url.replace("http://", "ws://") + path
    codes = {}
    for label, token in bad_tokens(cast).items():
        async with connect(f"{url}?token={token}", open_timeout=RECEIVE_TIMEOUT_SECS) as ws:
            codes[label] = await closed_code(ws)
    assert codes == dict.fromkeys(codes, 4401)


@pytest.mark.parametrize("namespace", ["/", "/gameplay"])
async def test_bad_tokens_are_refused_on_socketio(
    namespace: str, authz_server: ServerProcess, cast: Cast
) -> None:
    refused = {}
    for label, token in bad_tokens(cast).items():
        client = SioClient(namespace)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await client.connect(authz_server.base_url, auth={"token": token})
        refused[label] = (await client.expect("connect_error"))["data"]["code"]
    assert set(refused.values()) <= {"invalid_token", "session_revoked", "token_expired"}, refused


@pytest.mark.parametrize("path", ["/ws", "/ws/gameplay"])
async def test_a_revoked_session_closes_its_plain_websockets(
    path: str, authz_server: ServerProcess, cast: Cast
) -> None:
    device = login(cast.api, cast.accounts["outsider"].username)
    client = await WsClient.open(authz_server.base_url, device.access_token, path=path)
    assert cast.api.post("/api/v1/auth/logout", headers=device.headers).status_code == 200
    code = await closed_code(client.connection)
    shown = "stayed open" if code is None else f"closed {code}"
    assert code == 4401, f"after its session was revoked the socket {shown}"


@pytest.mark.parametrize("namespace", ["/", "/gameplay"])
async def test_a_revoked_session_disconnects_its_socketio_clients(
    namespace: str, authz_server: ServerProcess, cast: Cast
) -> None:
    device = login(cast.api, cast.accounts["outsider"].username)
    client = SioClient(namespace)
    gone = asyncio.Event()
    client.client.on("disconnect", gone.set, namespace=namespace)
    await client.connect(authz_server.base_url, auth={"token": device.access_token})
    try:
        await client.expect("authenticated")
        assert cast.api.post("/api/v1/auth/logout", headers=device.headers).status_code == 200
        try:
            async with asyncio.timeout(RECEIVE_TIMEOUT_SECS):
                await gone.wait()
        except TimeoutError:
            pytest.fail(f"still connected {RECEIVE_TIMEOUT_SECS}s after its session was revoked")
    finally:
        await client.disconnect()

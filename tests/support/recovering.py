"""A Socket.IO client on `/` by hand, for connection-state recovery: any CONNECT payload, the
answer's `sid` and `pid`, and each message with the offset it carries."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import orjson

from tests.support.accounts import Account
from tests.support.eio import EioSocket
from tests.support.server import ServerProcess


@dataclass
class Recovering:
    eio: EioSocket
    answer: dict[str, Any]

    @classmethod
    async def connect(cls, server: ServerProcess, auth: Any) -> Recovering:
        eio = await EioSocket.open(server)
        await eio.send("40" + orjson.dumps(auth).decode())
        packet = await eio.next(lambda p: p.startswith(("40", "44")))
        assert packet.startswith("40"), packet
        return cls(eio, orjson.loads(packet[2:]))

    @property
    def sid(self) -> str:
        return str(self.answer["sid"])

    @property
    def pid(self) -> str | None:
        pid = self.answer.get("pid")
        return None if pid is None else str(pid)

    async def event(self, name: str) -> Any:
        return await self.eio.event(name)

    async def message(self) -> tuple[str, str | None]:
        """The next message's content and offset (None when it carries none)."""
        packet = await self.eio.next(lambda p: p.startswith('42["message"'))
        args = orjson.loads(packet[2:])
        assert len(args) in (2, 3), args
        return args[1]["content"], args[2] if len(args) == 3 else None

    async def call(self, ack_id: int, name: str, data: Any) -> Any:
        await self.eio.send(f"42{ack_id}" + orjson.dumps([name, data]).decode())
        packet = await self.eio.next(lambda p: p.startswith(f"43{ack_id}"))
        return orjson.loads(packet[2 + len(str(ack_id)) :])[0]

    async def drop(self) -> None:
        """The connection goes (the server sees its transport close, as on a lost network)."""
        await self.eio.close()


def post(api: httpx.Client, who: Account, chat: str, text: str) -> int:
    response = api.post(
        f"/api/v1/conversations/{chat}/messages", headers=who.headers, json={"content": text}
    )
    assert response.status_code == 201, response.text
    return int(response.json()["seq"])


async def lingering_old_connection(
    old_server: ServerProcess, new_server: ServerProcess, alice: Account, bob: Account
) -> None:
    """Alice resumes on `new_server` while her old connection on `old_server` is still open;
    the new one goes first, the old one later: the state that comes back is the newer one's
    (here: the room it joined). Bob, on `new_server`, watches the rooms."""
    watcher = await Recovering.connect(new_server, {"token": bob.access_token})
    await watcher.event("authenticated")
    rooms = []
    for ack, name in enumerate(f"linger-{uuid.uuid4().hex[:8]}" for _ in range(2)):
        rooms.append((await watcher.call(ack, "join", {"room_id": name}))["room_id"])
    first_room, second_room = rooms

    old = await Recovering.connect(old_server, {"token": alice.access_token})
    await old.event("authenticated")
    new = await Recovering.connect(new_server, {"pid": old.pid})  # the old one is still open
    assert new.sid == old.sid
    await new.event("authenticated")
    await new.call(1, "join", {"room_id": second_room})
    await old.call(1, "join", {"room_id": first_room})  # (a test's liberty: it still talks)

    # The new connection goes, then the old one; each server is done with its connection
    # when alice leaves the room only that connection was viewing.
    await new.drop()
    assert (await watcher.event("user_left"))["room_id"] == second_room
    await old.drop()
    assert (await watcher.event("user_left"))["room_id"] == first_room

    last = await Recovering.connect(new_server, {"pid": old.pid})
    assert last.sid == old.sid
    await last.event("authenticated")  # its rooms are joined again before this
    # The newer connection's room came back, not the old one's.
    viewing_second = await watcher.call(3, "join", {"room_id": second_room})
    viewing_first = await watcher.call(4, "join", {"room_id": first_room})
    assert alice.id in viewing_second["users"]
    assert alice.id not in viewing_first["users"]
    await last.drop()
    await watcher.drop()

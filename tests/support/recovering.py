"""A Socket.IO client on `/` by hand, for connection-state recovery: any CONNECT payload, the
answer's `sid` and `pid`, and each message with the offset it carries."""

from __future__ import annotations

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

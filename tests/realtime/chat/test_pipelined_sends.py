"""A client that sends without waiting for each answer: every message is stored and delivered
in the order it was sent, each answered once, and a later command never overtakes them."""

from __future__ import annotations

import asyncio
import base64
import os
import struct
import uuid
from typing import Any

import httpx
import orjson

from tests.support.accounts import direct_chat, register
from tests.support.clients import RECEIVE_TIMEOUT_SECS, WsClient
from tests.support.rawws import CLOSE, TEXT, client_frame, open_raw
from tests.support.server import ServerProcess
from tests.support.sio import SioClient

BURST = 40


async def test_websocket_burst_keeps_its_order(api: httpx.Client, server: ServerProcess) -> None:
    alice, bob = register(api), register(api)
    chat = direct_chat(api, alice, bob)
    sender = await WsClient.open(server.base_url, alice.access_token)
    reader = await WsClient.open(server.base_url, bob.access_token)
    try:
        for i in range(BURST):  # all written before any answer is read
            await sender.send(
                {
                    "type": "send_message",
                    "id": f"s{i}",
                    "data": {"conversation_id": chat, "content": f"m{i}"},
                }
            )
        await sender.send({"type": "read", "id": "read", "data": {"conversation_id": chat}})
        acks: dict[str, dict[str, Any]] = {}
        while "read" not in acks:
            frame = await sender.next(lambda f: f.get("type") in ("ack", "error"))
            assert frame["type"] == "ack", frame
            acks[frame["id"]] = frame["data"]
        # Every send was answered before the read that came after them, in seq = send order.
        assert [acks[f"s{i}"]["seq"] for i in range(BURST)] == list(range(1, BURST + 1))
        assert [acks[f"s{i}"]["content"] for i in range(BURST)] == [f"m{i}" for i in range(BURST)]
        assert acks["read"]["last_read_seq"] == BURST
        received = [(await reader.expect("new_message"))["data"] for _ in range(BURST)]
        assert [m["content"] for m in received] == [f"m{i}" for i in range(BURST)]
    finally:
        await sender.close()
        await reader.close()


async def test_socketio_burst_keeps_its_order(api: httpx.Client, server: ServerProcess) -> None:
    alice, bob = register(api), register(api)
    room = f"room-{uuid.uuid4().hex[:8]}"
    sender, reader = SioClient(), SioClient()
    await sender.connect(server.base_url, auth={"token": alice.access_token})
    await reader.connect(server.base_url, auth={"token": bob.access_token})
    try:
        await sender.call("join", {"room_id": room})
        await reader.call("join", {"room_id": room})
        acks: dict[int, asyncio.Future[Any]] = {}
        loop = asyncio.get_running_loop()
        for i in range(BURST):
            acks[i] = loop.create_future()
            await sender.client.emit(
                "message",
                {"room_id": room, "content": f"m{i}", "client_msg_id": f"c{i}"},
                callback=acks[i].set_result,
            )
        # Sent right behind the burst: it waits for all of it.
        receipt = await sender.call("read", {"room_id": room})
        stored = await asyncio.wait_for(asyncio.gather(*acks.values()), RECEIVE_TIMEOUT_SECS)
        assert [m["seq"] for m in stored] == list(range(1, BURST + 1))
        assert [m["content"] for m in stored] == [f"m{i}" for i in range(BURST)]
        assert receipt["last_read_seq"] == BURST
        received = [await reader.expect("message") for _ in range(BURST)]
        assert [m["content"] for m in received] == [f"m{i}" for i in range(BURST)]
        # A resend of one already stored is answered with the stored message, not a copy.
        again = await sender.call(
            "message", {"room_id": room, "content": "m3", "client_msg_id": "c3"}
        )
        assert again["seq"] == 4
    finally:
        await sender.disconnect()
        await reader.disconnect()


async def test_a_send_followed_at_once_by_a_close_is_still_stored(
    api: httpx.Client, server: ServerProcess
) -> None:
    alice, bob = register(api), register(api)
    chat = direct_chat(api, alice, bob)
    reader = await WsClient.open(server.base_url, bob.access_token)
    sender = await open_raw(
        server, f"/ws?token={alice.access_token}", key=base64.b64encode(os.urandom(16)).decode()
    )
    try:
        await sender.frame_of(TEXT)  # authenticated
        send = orjson.dumps(
            {"type": "send_message", "data": {"conversation_id": chat, "content": "last words"}}
        )
        # One write: the server reads the send and the close in the same pass.
        sender.send(client_frame(TEXT, send) + client_frame(CLOSE, struct.pack("!H", 1000)))
        assert (await reader.expect("new_message"))["data"]["content"] == "last words"
    finally:
        sender.writer.close()
        await reader.close()

"""A send with an attachment over each socket protocol, seen by another member live."""

from __future__ import annotations

import httpx

from tests.support.accounts import direct_chat, register
from tests.support.clients import WsClient
from tests.support.server import ServerProcess
from tests.support.sio import SioClient
from tests.uploads.test_uploads_api import png, upload


async def test_socketio_and_ws_sends_carry_attachments_to_the_other_member(
    api: httpx.Client, server: ServerProcess
) -> None:
    alice, bob = register(api), register(api)
    chat = direct_chat(api, alice, bob)
    image = png(64, 64)
    first = upload(api, alice, image, "a.png").json()
    second = upload(api, alice, b"plain words\n", "b.txt").json()
    bob_ws = await WsClient.open(server.base_url, bob.access_token)
    alice_sio = SioClient()
    await alice_sio.connect(server.base_url, auth={"token": alice.access_token})
    alice_ws = await WsClient.open(server.base_url, alice.access_token)
    try:
        answer = await alice_sio.call(
            "message",
            {"room_id": chat, "content": "pic", "attachments": [{"upload_id": first["id"]}]},
        )
        assert answer["attachments"][0]["id"] == first["id"], answer
        heard = await bob_ws.expect("new_message")
        attachment = heard["data"]["attachments"][0]
        assert (attachment["width"], attachment["height"]) == (64, 64)
        assert attachment["content_type"] == "image/png"
        got = api.get(attachment["url"], headers=bob.headers)
        assert got.content == image

        acked = await alice_ws.ack(
            "send_message",
            {"room_id": chat, "content": "", "attachments": [{"upload_id": second["id"]}]},
        )
        assert acked["attachments"][0]["content_type"] == "text/plain"
        heard = await bob_ws.expect("new_message")
        assert heard["data"]["attachments"][0]["id"] == second["id"]

        refused = await alice_sio.call(
            "message",
            {"room_id": chat, "content": "again", "attachments": [{"upload_id": first["id"]}]},
        )
        assert refused["error"]["code"] == "upload_already_attached"
    finally:
        await alice_sio.disconnect()
        await alice_ws.close()
        await bob_ws.close()

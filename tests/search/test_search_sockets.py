"""`search_messages` on /ws and Socket.IO: the same service, answers and codes as REST."""

from __future__ import annotations

import httpx

from tests.search.support import group, say, word
from tests.support.accounts import direct_chat, register
from tests.support.clients import WsClient
from tests.support.server import ServerProcess
from tests.support.sio import SioClient


async def test_search_over_both_socket_protocols(api: httpx.Client, server: ServerProcess) -> None:
    alice, bob, carol = register(api), register(api), register(api)
    chat = direct_chat(api, alice, bob)
    team = group(api, alice, carol)
    term = word("sk")
    for i in range(3):
        say(api, alice, chat, f"{term} {i} <i>")
    say(api, carol, team, f"{term} for carol")
    ws = await WsClient.open(server.base_url, bob.access_token)
    sio = SioClient()
    await sio.connect(server.base_url, auth={"token": carol.access_token})
    try:
        page = await ws.ack("search_messages", {"q": term, "limit": 2})
        assert [len(page["results"]), page["has_more"]] == [2, True]
        assert page["results"][0]["highlight"].startswith(f"<mark>{term}</mark> ")
        assert page["results"][0]["highlight"].endswith(" &lt;i&gt;")
        rest = await ws.ack("search_messages", {"query": term, "cursor": page["next_cursor"]})
        assert (len(rest["results"]), rest["next_cursor"]) == (1, None)
        one = await ws.ack("search_messages", {"q": term, "conversation_id": chat, "limit": 1})
        assert one["results"][0]["message"]["conversation_id"] == chat

        refused = await ws.command("search_messages", {"q": "🍕"})
        assert (refused["type"], refused["code"]) == ("error", "search_query_empty"), refused
        outside = await ws.command("search_messages", {"q": term, "conversation_id": team})
        assert outside["code"] == "not_a_member", outside
        for bad in ({}, {"q": 5}, {"q": term, "limit": 0}, {"q": term, "cursor": "x" * 300}):
            answer = await ws.command("search_messages", bad)
            assert answer["code"] == "validation_error", (bad, answer)
        assert (await ws.ack("search_messages", {"q": term}))["results"]  # still connected

        heard = await sio.call("search_messages", {"q": term})
        assert [h["message"]["content"] for h in heard["results"]] == [f"{term} for carol"]
        in_room = await sio.call("search_messages", {"text": term, "room_id": team})
        assert len(in_room["results"]) == 1
        too_long = await sio.call("search_messages", {"q": "x" * 300})
        assert too_long["error"]["code"] == "search_query_too_long"
        hidden = await sio.call("search_messages", {"q": term, "room_id": chat})
        assert hidden["error"]["code"] == "not_a_member"
        assert (await sio.call("search_messages", {"q": term}))["results"]
    finally:
        await ws.close()
        await sio.disconnect()

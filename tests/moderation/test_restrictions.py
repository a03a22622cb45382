"""Room mutes and bans over REST, Socket.IO and /ws, on one instance: a mute refuses sends,
edits, new reactions and typing (`muted_in_room`) and leaves reading; a ban removes at once
and refuses rejoining (`banned_from_room`); members hear `member_muted` / `member_banned` and
their undoing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from tests.moderation.support import code, new_room, people, send
from tests.support.accounts import create_staff
from tests.support.clients import WsClient
from tests.support.server import ServerProcess
from tests.support.sio import SioClient


async def test_a_mute_refuses_sends_on_every_protocol_and_lets_read(
    api: httpx.Client, server: ServerProcess
) -> None:
    owner, bob, carol = people(api, 3)
    room = new_room(api, owner, bob, carol)
    bob_sio, carol_ws = SioClient(), await WsClient.open(server.base_url, carol.access_token)
    await bob_sio.connect(server.base_url, auth={"token": bob.access_token})
    bob_ws = await WsClient.open(server.base_url, bob.access_token)
    try:
        until = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
        muted = api.post(
            f"/api/v1/rooms/{room.name}/mutes",
            headers=owner.headers,
            json={"user_id": bob.id, "until": until, "reason": "flooding"},
        )
        assert muted.status_code == 201, muted.text
        assert muted.json()["kind"] == "mute"
        assert muted.json()["reason"] == "flooding"
        heard = await carol_ws.expect("member_muted")
        assert heard["data"]["user_id"] == bob.id
        assert heard["data"]["room_id"] == room.name
        assert (await bob_sio.expect("member_muted"))["user_id"] == bob.id

        refused = send(api, bob, room, "rest")
        assert refused.status_code == 403
        assert code(refused) == "muted_in_room"
        by_sio = await bob_sio.call("send_message", {"room_id": room.name, "content": "sio"})
        assert code(by_sio) == "muted_in_room"
        by_ws = await bob_ws.command("send_message", {"room_id": room.name, "content": "ws"})
        assert code(by_ws) == "muted_in_room"
        assert await bob_ws.ack("ping") is not None  # the socket stays open

        assert send(api, owner, room, "still heard").status_code == 201
        assert (await bob_sio.expect("message"))["content"] == "still heard"
        history = api.get(f"/api/v1/conversations/{room.id}/messages", headers=bob.headers)
        assert [m["content"] for m in history.json()["messages"]] == ["still heard"]

        listed = api.get(f"/api/v1/rooms/{room.id}/mutes", headers=owner.headers).json()
        assert [m["user_id"] for m in listed["items"]] == [bob.id]
        assert listed["items"][0]["until"] is not None
        by_ws_list = await WsClient.open(server.base_url, owner.access_token)
        try:
            assert (await by_ws_list.ack("list_mutes", {"room_id": room.name}))["items"]
            lifted = await by_ws_list.ack(
                "unmute_member", {"room_id": room.name, "user_id": bob.id}
            )
            assert lifted == {"user_id": bob.id, "kind": "mute", "lifted": True}
        finally:
            await by_ws_list.close()
        assert (await carol_ws.expect("member_unmuted"))["data"]["user_id"] == bob.id
        assert send(api, bob, room, "free again").status_code == 201
        empty = api.get(f"/api/v1/rooms/{room.id}/mutes", headers=owner.headers).json()
        assert empty == {"items": []}
    finally:
        await bob_sio.disconnect()
        await bob_ws.close()
        await carol_ws.close()


def test_a_mute_needs_a_future_end_and_a_member(api: httpx.Client) -> None:
    owner, bob, stranger = people(api, 3)
    room = new_room(api, owner, bob)
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    late = api.post(
        f"/api/v1/rooms/{room.id}/mutes",
        headers=owner.headers,
        json={"user_id": bob.id, "until": past},
    )
    assert late.status_code == 422
    assert code(late) == "until_past"
    outside = api.post(
        f"/api/v1/rooms/{room.id}/mutes", headers=owner.headers, json={"user_id": stranger.id}
    )
    assert outside.status_code == 404
    assert code(outside) == "member_not_found"
    assert send(api, bob, room, "never muted").status_code == 201


async def test_a_ban_removes_at_once_and_refuses_rejoining(
    api: httpx.Client, server: ServerProcess
) -> None:
    owner, bob, carol = people(api, 3)
    room = new_room(api, owner, bob, carol)
    owner_sio = SioClient()
    await owner_sio.connect(server.base_url, auth={"token": owner.access_token})
    bob_ws = await WsClient.open(server.base_url, bob.access_token)
    carol_ws = await WsClient.open(server.base_url, carol.access_token)
    try:
        await bob_ws.ack("join_room", {"room_id": room.name})
        banned = await owner_sio.call(
            "ban_member", {"room_id": room.name, "user_id": bob.id, "reason": "spam"}
        )
        assert (banned["kind"], banned["user_id"]) == ("ban", bob.id), banned
        assert (await bob_ws.expect("member_removed"))["data"]["user_id"] == bob.id
        assert (await bob_ws.expect("member_banned"))["data"]["conversation_id"] == room.id
        assert (await carol_ws.expect("member_banned"))["data"]["user_id"] == bob.id

        bob_ws.seen.clear()
        assert send(api, owner, room, "after the ban").status_code == 201
        await carol_ws.expect("new_message")
        assert await bob_ws.seen_by_now("new_message") == []

        rejoin = api.post(f"/api/v1/rooms/{room.name}/join", headers=bob.headers)
        assert rejoin.status_code == 403
        assert code(rejoin) == "banned_from_room"
        by_id = api.post(f"/api/v1/rooms/{room.id}/join", headers=bob.headers)
        assert code(by_id) == "banned_from_room"
        assert code(await bob_ws.command("join_room", {"room_id": room.name})) == "banned_from_room"
        invited = api.post(
            f"/api/v1/rooms/{room.id}/invite", headers=owner.headers, json={"user_id": bob.id}
        )
        assert invited.status_code == 403
        assert code(invited) == "banned_from_room"
        assert code(send(api, bob, room, "from outside")) == "not_a_member"

        bans = await owner_sio.call("list_bans", {"room_id": room.name})
        assert [b["user_id"] for b in bans["items"]] == [bob.id]
        unbanned = api.delete(f"/api/v1/rooms/{room.name}/bans/{bob.id}", headers=owner.headers)
        assert unbanned.status_code == 204
        assert (await bob_ws.expect("member_unbanned"))["data"]["user_id"] == bob.id
        again = api.post(f"/api/v1/rooms/{room.name}/join", headers=bob.headers)
        assert again.status_code == 200
        assert again.json()["joined"] is True
    finally:
        await owner_sio.disconnect()
        await bob_ws.close()
        await carol_ws.close()


def test_a_ban_ahead_of_time_keeps_a_user_out(api: httpx.Client) -> None:
    owner, troll = people(api, 2)
    room = new_room(api, owner)
    banned = api.post(
        f"/api/v1/rooms/{room.id}/bans", headers=owner.headers, json={"user_id": troll.id}
    )
    assert banned.status_code == 201, banned.text
    assert code(api.post(f"/api/v1/rooms/{room.name}/join", headers=troll.headers)) == (
        "banned_from_room"
    )


def test_who_moderates(api: httpx.Client, server: ServerProcess) -> None:
    owner, helper, bob, carol = people(api, 4)
    room = new_room(api, owner, bob, carol)
    made_admin = api.post(
        f"/api/v1/conversations/{room.id}/members",
        headers=owner.headers,
        json={"user_id": helper.id, "role": "admin"},
    )
    assert made_admin.status_code == 200, made_admin.text
    path = f"/api/v1/rooms/{room.id}/mutes"
    by_member = api.post(path, headers=bob.headers, json={"user_id": carol.id})
    assert by_member.status_code == 403
    assert code(by_member) == "not_a_moderator"
    assert api.get(path, headers=bob.headers).status_code == 403
    stranger = people(api, 1)[0]
    assert code(api.get(path, headers=stranger.headers)) == "not_a_member"
    assert api.post(path, headers=helper.headers, json={"user_id": carol.id}).status_code == 201
    on_owner = api.post(path, headers=helper.headers, json={"user_id": owner.id})
    assert on_owner.status_code == 403
    assert code(on_owner) == "cannot_moderate_owner"
    self_mute = api.post(path, headers=owner.headers, json={"user_id": owner.id})
    assert self_mute.status_code == 422
    assert code(self_mute) == "cannot_moderate_self"
    on_helper = api.post(path, headers=bob.headers, json={"user_id": helper.id})
    assert on_helper.status_code == 403
    assert api.post(path, headers=owner.headers, json={"user_id": helper.id}).status_code == 201
    super_agent = create_staff(api, server, "super-agent")
    assert api.post(path, headers=super_agent.headers, json={"user_id": bob.id}).status_code == 201
    agent = create_staff(api, server, "agent")
    assert code(api.post(path, headers=agent.headers, json={"user_id": bob.id})) == "not_a_member"
    direct = api.post(
        "/api/v1/conversations", headers=owner.headers, json={"participant_id": bob.id}
    )
    in_direct = api.post(
        f"/api/v1/rooms/{direct.json()['id']}/bans", headers=owner.headers, json={"user_id": bob.id}
    )
    assert in_direct.status_code == 422
    assert code(in_direct) == "not_moderated"


async def test_moderators_delete_any_message_in_their_room(
    api: httpx.Client, server: ServerProcess
) -> None:
    owner, bob, carol = people(api, 3)
    room = new_room(api, owner, bob, carol)
    first = send(api, bob, room, "first").json()
    second = send(api, bob, room, "second").json()
    by_member = api.delete(f"/api/v1/messages/{first['id']}", headers=carol.headers)
    assert by_member.status_code == 403
    assert code(by_member) == "not_the_sender"
    carol_ws = await WsClient.open(server.base_url, carol.access_token)
    try:
        deleted = api.delete(f"/api/v1/messages/{first['id']}", headers=owner.headers)
        assert deleted.status_code == 200
        assert deleted.json()["deleted_at"] is not None
        assert (await carol_ws.expect("message_deleted"))["data"]["id"] == first["id"]
        super_agent = create_staff(api, server, "super-agent")
        staff_ws = await WsClient.open(server.base_url, super_agent.access_token)
        try:
            gone = await staff_ws.ack("delete_message", {"message_id": second["id"]})
            assert gone["deleted_at"] is not None
        finally:
            await staff_ws.close()
        assert (await carol_ws.expect("message_deleted"))["data"]["id"] == second["id"]
    finally:
        await carol_ws.close()


async def test_a_mute_refuses_what_adds_to_the_room_and_lets_take_back(
    api: httpx.Client, server: ServerProcess
) -> None:
    """Edits, new reactions and typing starts are refused like sends, on every protocol;
    deleting one's own message, removing one's reaction and stopping typing go through."""
    owner, bob, carol = people(api, 3)
    room = new_room(api, owner, bob, carol)
    mine = send(api, bob, room, "mine").json()
    theirs = send(api, owner, room, "theirs").json()
    reaction = f"/api/v1/messages/{theirs['id']}/reactions"
    assert api.put(f"{reaction}/👍", headers=bob.headers).status_code == 200
    bob_sio, bob_ws = SioClient(), await WsClient.open(server.base_url, bob.access_token)
    await bob_sio.connect(server.base_url, auth={"token": bob.access_token})
    carol_ws = await WsClient.open(server.base_url, carol.access_token)
    try:
        await carol_ws.ack("join_room", {"room_id": room.name})
        await bob_ws.ack("join_room", {"room_id": room.name})
        await bob_ws.ack("typing", {"room_id": room.name, "is_typing": True})
        assert (await carol_ws.expect("typing"))["data"]["is_typing"] is True
        muted = api.post(
            f"/api/v1/rooms/{room.id}/mutes", headers=owner.headers, json={"user_id": bob.id}
        )
        assert muted.status_code == 201, muted.text
        await carol_ws.expect("member_muted")
        carol_ws.seen.clear()

        edit = {"message_id": mine["id"], "content": "edited"}
        react = {"message_id": theirs["id"], "emoji": "🎉"}
        start = {"room_id": room.name, "is_typing": True}
        rest_edit = api.patch(
            f"/api/v1/messages/{mine['id']}", headers=bob.headers, json={"content": "x"}
        )
        rest_react = api.put(f"{reaction}/🎉", headers=bob.headers)
        assert (rest_edit.status_code, rest_react.status_code) == (403, 403)
        refused = [code(rest_edit), code(rest_react)]
        for name, data in (("edit_message", edit), ("react", react), ("typing", start)):
            refused.append(code(await bob_sio.call(name, data)))
            refused.append(code(await bob_ws.command(name, data)))
        assert refused == ["muted_in_room"] * 8

        stop = await bob_ws.ack("typing", {"room_id": room.name, "is_typing": False})
        assert stop["is_typing"] is False
        taken_back = api.delete(f"{reaction}/👍", headers=bob.headers)
        assert taken_back.status_code == 200, taken_back.text
        assert taken_back.json()["count"] == 0
        gone = await bob_ws.ack("delete_message", {"message_id": mine["id"]})
        assert gone["deleted_at"] is not None
        assert (await bob_ws.ack("read", {"room_id": room.name}))["last_read_seq"] == 2

        await carol_ws.expect("message_deleted")
        heard = {f["type"] for f in carol_ws.seen}
        assert not heard & {"message_updated", "reaction_added"}, heard
        # Only the stop of the start before the mute reached the room: no refused start did.
        typing = await carol_ws.seen_by_now("typing")
        assert [t["data"]["is_typing"] for t in typing] == [False]
    finally:
        await bob_sio.disconnect()
        await bob_ws.close()
        await carol_ws.close()

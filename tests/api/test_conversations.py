"""Conversations and messages over REST: kinds, membership, history, receipts, permissions."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.support.accounts import Account, create_admin, login, register, run_cli
from tests.support.server import API_KEY, ServerProcess


def create(api: httpx.Client, who: Account, **body: object) -> dict:  # type: ignore[type-arg]
    response = api.post("/api/v1/conversations", headers=who.headers, json=body)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def send(
    api: httpx.Client, who: Account, conversation_id: str, content: str, **extra: object
) -> httpx.Response:
    return api.post(
        f"/api/v1/conversations/{conversation_id}/messages",
        headers=who.headers,
        json={"content": content, **extra},
    )


def test_a_pair_of_users_has_exactly_one_direct_chat(api: httpx.Client) -> None:
    alice, bob = register(api), register(api)
    first = create(api, alice, participant_id=bob.id)
    assert first["kind"] == first["type"] == "direct"
    assert {m["user_id"] for m in first["members"]} == {alice.id, bob.id}
    again = create(api, bob, participant_id=alice.id)
    assert again["id"] == first["id"]


def test_direct_chat_validation(api: httpx.Client) -> None:
    alice = register(api)
    with_self = api.post(
        "/api/v1/conversations", headers=alice.headers, json={"participant_id": alice.id}
    )
    assert with_self.status_code == 422
    with_nobody = api.post(
        "/api/v1/conversations", headers=alice.headers, json={"participant_id": str(uuid.uuid4())}
    )
    assert with_nobody.status_code == 404
    assert with_nobody.json()["error"]["code"] == "user_not_found"


def test_group_members_talk_and_outsiders_cannot_read(api: httpx.Client) -> None:
    owner, bob, carol, outsider = (register(api) for _ in range(4))
    group = create(api, owner, name="Trip", participant_ids=[bob.id, carol.id])
    assert group["kind"] == "group"
    roles = {m["user_id"]: m["role"] for m in group["members"]}
    assert roles == {owner.id: "owner", bob.id: "member", carol.id: "member"}

    sent = send(api, bob, group["id"], "hello group", title="Hi", payload={"k": 1})
    assert sent.status_code == 201, sent.text
    message = sent.json()
    assert (message["seq"], message["sender_id"], message["sender_username"]) == (
        1,
        bob.id,
        bob.username,
    )
    assert message["title"] == "Hi"
    assert message["payload"] == {"k": 1}

    history = api.get(f"/api/v1/conversations/{group['id']}/messages", headers=carol.headers)
    assert [m["content"] for m in history.json()["messages"]] == ["hello group"]

    for response in (
        api.get(f"/api/v1/conversations/{group['id']}", headers=outsider.headers),
        api.get(f"/api/v1/conversations/{group['id']}/messages", headers=outsider.headers),
        send(api, outsider, group["id"], "let me in"),
    ):
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "not_a_member"


def test_group_membership_is_managed_by_its_owner(api: httpx.Client) -> None:
    owner, bob, newcomer = register(api), register(api), register(api)
    group = create(api, owner, name="Team", participant_ids=[bob.id])
    refused = api.post(
        f"/api/v1/conversations/{group['id']}/members",
        headers=bob.headers,
        json={"user_id": newcomer.id},
    )
    assert refused.status_code == 403
    added = api.post(
        f"/api/v1/conversations/{group['id']}/members",
        headers=owner.headers,
        json={"user_id": newcomer.id},
    )
    assert added.status_code == 200
    assert newcomer.id in {m["user_id"] for m in added.json()["members"]}

    left = api.delete(f"/api/v1/conversations/{group['id']}/members/{bob.id}", headers=bob.headers)
    assert left.status_code == 204
    assert send(api, bob, group["id"], "still here?").status_code == 403

    renamed = api.patch(
        f"/api/v1/conversations/{group['id']}", headers=owner.headers, json={"name": "Renamed"}
    )
    assert renamed.json()["name"] == "Renamed"
    assert (
        api.patch(
            f"/api/v1/conversations/{group['id']}", headers=newcomer.headers, json={"name": "Mine"}
        ).status_code
        == 403
    )


def test_history_pages_newest_first_with_a_cursor(api: httpx.Client) -> None:
    alice, bob = register(api), register(api)
    chat = create(api, alice, participant_id=bob.id)
    for i in range(7):
        assert send(api, alice if i % 2 else bob, chat["id"], f"m{i}").status_code == 201
    url = f"/api/v1/conversations/{chat['id']}/messages"
    page = api.get(url, params={"limit": 3}, headers=alice.headers).json()
    assert [m["content"] for m in page["messages"]] == ["m6", "m5", "m4"]
    assert page["has_more"] is True
    page2 = api.get(
        url, params={"limit": 3, "cursor": page["next_cursor"]}, headers=alice.headers
    ).json()
    assert [m["content"] for m in page2["messages"]] == ["m3", "m2", "m1"]
    page3 = api.get(
        url, params={"limit": 3, "cursor": page2["next_cursor"]}, headers=alice.headers
    ).json()
    assert [m["content"] for m in page3["messages"]] == ["m0"]
    assert page3["has_more"] is False
    assert page3["next_cursor"] is None
    assert [m["seq"] for m in page["messages"] + page2["messages"] + page3["messages"]] == list(
        range(7, 0, -1)
    )

    bad = api.get(url, params={"cursor": "garbage!"}, headers=alice.headers)
    assert bad.status_code == 422
    assert api.get(url, params={"limit": 101}, headers=alice.headers).status_code == 422


def test_a_resend_with_the_same_client_id_is_not_duplicated(api: httpx.Client) -> None:
    alice, bob = register(api), register(api)
    chat = create(api, alice, participant_id=bob.id)
    first = send(api, alice, chat["id"], "once", client_msg_id="c-1")
    again = send(api, alice, chat["id"], "once", client_msg_id="c-1")
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    history = api.get(f"/api/v1/conversations/{chat['id']}/messages", headers=bob.headers)
    assert len(history.json()["messages"]) == 1


def test_edit_and_delete_your_own_messages(api: httpx.Client, server: ServerProcess) -> None:
    alice, bob = register(api), register(api)
    chat = create(api, alice, participant_id=bob.id)
    message = send(api, alice, chat["id"], "typo").json()
    edited = api.patch(
        f"/api/v1/messages/{message['id']}", headers=alice.headers, json={"content": "fixed"}
    )
    assert edited.status_code == 200
    assert edited.json()["content"] == "fixed"
    assert edited.json()["edited_at"] is not None
    not_yours = api.patch(
        f"/api/v1/messages/{message['id']}", headers=bob.headers, json={"content": "hijack"}
    )
    assert not_yours.status_code == 403
    assert not_yours.json()["error"]["code"] == "not_the_sender"
    assert api.delete(f"/api/v1/messages/{message['id']}", headers=bob.headers).status_code == 403

    deleted = api.delete(f"/api/v1/messages/{message['id']}", headers=alice.headers)
    assert deleted.status_code == 200
    history = api.get(f"/api/v1/conversations/{chat['id']}/messages", headers=bob.headers)
    shown = history.json()["messages"][0]
    assert shown["deleted_at"] is not None
    assert shown["content"] == ""

    admin = create_admin(api, server)
    group = create(api, alice, name="g", participant_ids=[admin.id])
    other = send(api, alice, group["id"], "rude").json()
    assert api.delete(f"/api/v1/messages/{other['id']}", headers=admin.headers).status_code == 200


def test_bad_messages_are_refused_with_a_reason(api: httpx.Client) -> None:
    alice, bob = register(api), register(api)
    chat = create(api, alice, participant_id=bob.id)
    empty = send(api, alice, chat["id"], "   ")
    assert empty.status_code == 422
    assert empty.json()["error"]["code"] == "message_empty"
    too_long = send(api, alice, chat["id"], "x" * 10_001)
    assert too_long.status_code == 422
    assert too_long.json()["error"]["code"] == "message_too_long"
    bad_type = send(api, alice, chat["id"], "hi", type="hologram")
    assert bad_type.status_code == 422
    assert bad_type.json()["error"]["fields"][0]["field"] == "type"


def test_unread_counts_and_read_pointers(api: httpx.Client) -> None:
    alice, bob = register(api), register(api)
    chat = create(api, alice, participant_id=bob.id)
    for text in ("one", "two", "three"):
        send(api, alice, chat["id"], text)

    def listed(who: Account) -> dict:  # type: ignore[type-arg]
        body = api.get("/api/v1/conversations", headers=who.headers).json()
        return next(c for c in body["conversations"] if c["id"] == chat["id"])

    assert listed(bob)["unread_count"] == 3
    assert listed(alice)["unread_count"] == 0
    assert listed(bob)["last_message"]["content"] == "three"

    receipt = api.post(
        f"/api/v1/conversations/{chat['id']}/read", headers=bob.headers, json={"seq": 2}
    )
    assert receipt.status_code == 200
    assert receipt.json()["last_read_seq"] == 2
    assert listed(bob)["unread_count"] == 1
    everything = api.post(f"/api/v1/conversations/{chat['id']}/read", headers=bob.headers)
    assert everything.json()["last_read_seq"] == 3
    assert listed(bob)["unread_count"] == 0
    back = api.post(
        f"/api/v1/conversations/{chat['id']}/read", headers=bob.headers, json={"seq": 1}
    )
    assert back.json()["last_read_seq"] == 3  # pointers never move backwards


def test_conversations_are_listed_by_recent_activity(api: httpx.Client) -> None:
    alice, bob, carol = register(api), register(api), register(api)
    with_bob = create(api, alice, participant_id=bob.id)
    with_carol = create(api, alice, participant_id=carol.id)
    send(api, alice, with_carol["id"], "first")
    send(api, alice, with_bob["id"], "later")
    ids = [
        c["id"]
        for c in api.get("/api/v1/conversations", headers=alice.headers).json()["conversations"]
    ]
    assert ids == [with_bob["id"], with_carol["id"]]
    only_groups = api.get("/api/v1/conversations", params={"kind": "group"}, headers=alice.headers)
    assert only_groups.json()["conversations"] == []


def test_the_conversation_list_pages_with_a_cursor(api: httpx.Client) -> None:
    alice = register(api)
    others = [register(api) for _ in range(5)]
    chats = [create(api, alice, participant_id=o.id)["id"] for o in others]
    for chat in chats[:2]:  # two with messages, three without (listed last, newest first)
        send(api, alice, chat, "hello")
    expected = [chats[1], chats[0], chats[4], chats[3], chats[2]]
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, object] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = api.get("/api/v1/conversations", params=params, headers=alice.headers).json()
        seen += [c["id"] for c in page["conversations"]]
        pages += 1
        cursor = page["next_cursor"]
        assert page["has_more"] is (cursor is not None)
        if cursor is None:
            break
    assert (seen, pages) == (expected, 3)
    everything = api.get("/api/v1/conversations", headers=alice.headers).json()
    assert [c["id"] for c in everything["conversations"]] == expected  # default page: 100
    for bad in ("not-a-cursor", "W10", "WzEsMiwzXQ"):  # garbage, [], [1,2,3]
        refused = api.get("/api/v1/conversations", params={"cursor": bad}, headers=alice.headers)
        assert refused.status_code == 422, bad
        assert refused.json()["error"]["details"]["field"] == "cursor"
    too_many = api.get("/api/v1/conversations", params={"limit": 201}, headers=alice.headers)
    assert too_many.status_code == 422


def test_open_rooms_are_joined_by_name(api: httpx.Client) -> None:
    alice, bob = register(api), register(api)
    room_name = f"lobby-{uuid.uuid4().hex[:8]}"
    room = create(api, alice, kind="room", name=room_name)
    assert room["kind"] == "room"
    duplicate = api.post(
        "/api/v1/conversations",
        headers=bob.headers,
        json={"kind": "room", "name": room_name.upper()},
    )
    assert duplicate.status_code == 409


def test_support_chats(api: httpx.Client, server: ServerProcess) -> None:
    customer = register(api)
    assert run_cli(server, "seed").returncode == 0
    agent = login(api, "agent1", "password123")
    supervisor = login(api, "agent2", "password123")

    chat = create(api, customer, customerId=customer.id, agentId=agent.id)
    assert chat["kind"] == "support"
    assert (chat["customer_id"], chat["agent_id"], chat["status"]) == (
        customer.id,
        agent.id,
        "active",
    )
    assert send(api, agent, chat["id"], "How can I help?").status_code == 201
    # A super-agent sees every support chat without being in it.
    seen = api.get(f"/api/v1/conversations/{chat['id']}/messages", headers=supervisor.headers)
    assert seen.status_code == 200

    closed = api.patch(
        f"/api/v1/conversations/{chat['id']}", headers=agent.headers, json={"status": "closed"}
    )
    assert closed.json()["status"] == "closed"
    refused = send(api, customer, chat["id"], "hello?")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "conversation_closed"

    archived = api.patch(
        f"/api/v1/conversations/{chat['id']}", headers=agent.headers, json={"status": "archived"}
    )
    assert archived.json()["status"] == "archived"
    active_only = api.get(
        "/api/v1/conversations", params={"status": "active"}, headers=customer.headers
    ).json()["conversations"]
    assert chat["id"] not in {c["id"] for c in active_only}

    other_customer = register(api)
    for_someone_else = api.post(
        "/api/v1/conversations", headers=other_customer.headers, json={"customerId": customer.id}
    )
    assert for_someone_else.status_code == 403
    assert (
        api.delete(
            f"/api/v1/conversations/{chat['id']}", headers=other_customer.headers
        ).status_code
        == 403
    )
    assert (
        api.delete(f"/api/v1/conversations/{chat['id']}", headers=agent.headers).status_code == 204
    )
    assert (
        api.get(f"/api/v1/conversations/{chat['id']}", headers=customer.headers).status_code == 404
    )


def staff(api: httpx.Client, admin: Account, role: str) -> Account:
    """A new user given `role` by the admin, signed in again so the token carries it."""
    user = register(api)
    changed = api.put(f"/api/v1/users/{user.id}/role", headers=admin.headers, json={"role": role})
    assert changed.status_code == 200, changed.text
    return login(api, user.username)


def test_only_agents_are_assigned_to_a_support_chat_and_its_customer_is_fixed(
    api: httpx.Client, server: ServerProcess
) -> None:
    admin = create_admin(api, server)
    agent, other_agent = staff(api, admin, "agent"), staff(api, admin, "agent")
    super_agent = staff(api, admin, "super-agent")
    customer, other_customer = register(api), register(api)
    chat = create(api, customer, customerId=customer.id, agentId=agent.id)
    assert send(api, customer, chat["id"], "my private order details").status_code == 201
    members = f"/api/v1/conversations/{chat['id']}/members"

    for who in (agent, super_agent, admin):
        for body, status, code in (
            ({"user_id": other_customer.id, "role": "owner"}, 422, "support_role_fixed"),
            ({"user_id": other_customer.id, "role": "admin"}, 422, "support_role_fixed"),
            ({"user_id": other_customer.id}, 422, "not_an_agent"),
            ({"user_id": admin.id}, 422, "not_an_agent"),
            ({"user_id": other_agent.id, "role": "owner"}, 422, "support_role_fixed"),
        ):
            refused = api.post(members, headers=who.headers, json=body)
            assert refused.status_code == status, (who.user["role"], body, refused.text)
            assert refused.json()["error"]["code"] == code
        kept = api.get(f"/api/v1/conversations/{chat['id']}", headers=customer.headers).json()
        assert (kept["customer_id"], kept["agent_id"]) == (customer.id, agent.id)
        assert {m["user_id"] for m in kept["members"]} == {customer.id, agent.id}
    # The customer cannot bring anyone in, and nobody else can take the customer out.
    by_customer = api.post(members, headers=customer.headers, json={"user_id": other_agent.id})
    assert by_customer.status_code == 403
    removed = api.delete(f"{members}/{customer.id}", headers=agent.headers)
    assert removed.status_code == 403
    assert removed.json()["error"]["code"] == "customer_fixed"
    history = f"/api/v1/conversations/{chat['id']}/messages"
    assert api.get(history, headers=other_customer.headers).status_code == 403

    handed_over = api.post(members, headers=agent.headers, json={"user_id": other_agent.id})
    assert handed_over.status_code == 200, handed_over.text
    assert handed_over.json()["agent_id"] == other_agent.id
    assert handed_over.json()["customer_id"] == customer.id
    roles = {m["user_id"]: m["role"] for m in handed_over.json()["members"]}
    assert roles[other_agent.id] == roles[agent.id] == "admin"
    assert roles[customer.id] == "owner"
    assert api.get(history, headers=other_agent.headers).status_code == 200
    by_super = api.post(members, headers=super_agent.headers, json={"user_id": super_agent.id})
    assert by_super.json()["agent_id"] == super_agent.id


@pytest.mark.parametrize("path", ["/api/v1/conversations", "/api/chats"])
def test_a_support_chat_is_opened_only_with_an_agent_as_its_agent(
    api: httpx.Client, server: ServerProcess, path: str
) -> None:
    admin = create_admin(api, server)
    agent = staff(api, admin, "agent")
    customer, other_customer = register(api), register(api)
    for who, body in (
        (customer, {"customerId": customer.id, "agentId": other_customer.id}),
        (customer, {"customerId": customer.id, "agentId": admin.id}),
        (agent, {"customerId": customer.id, "agentId": other_customer.id}),
        (admin, {"customer_id": customer.id, "agent_id": other_customer.id}),
    ):
        refused = api.post(path, headers=who.headers, json=body)
        assert refused.status_code == 422, (path, body, refused.text)
        assert refused.json()["error"]["code"] == "not_an_agent"
    by_agent = api.post(path, headers=agent.headers, json={"customerId": customer.id})
    assert by_agent.status_code == 201, by_agent.text
    assert by_agent.json()["agentId" if path == "/api/chats" else "agent_id"] == agent.id
    # An admin opening one for a customer supervises it; it waits for an agent.
    by_admin = api.post(path, headers=admin.headers, json={"customerId": customer.id})
    assert by_admin.status_code == 201, by_admin.text
    assert by_admin.json()["agentId" if path == "/api/chats" else "agent_id"] is None


@pytest.mark.parametrize("path", ["/api/v1/broadcast", "/messages"])
def test_broadcast_needs_a_trusted_caller(
    api: httpx.Client, server: ServerProcess, path: str
) -> None:
    alice = register(api)
    room = f"news-{uuid.uuid4().hex[:8]}"
    body = {
        "room_id": room,
        "content": "Hello World",
        "username": "System",
        "title": "Announcement",
        "payload": {"priority": "high"},
        "attachment_urls": ["https://example.com/file.pdf"],
    }
    assert api.post(path, json=body).status_code == 401
    assert api.post(path, json=body, headers=alice.headers).status_code == 403
    assert api.post(path, json=body, headers={"X-API-Key": "wrong"}).status_code == 401

    admin = create_admin(api, server)
    sent = api.post(path, json=body, headers=admin.headers)
    assert sent.status_code == 201, sent.text
    message = sent.json()
    assert (message["content"], message["title"], message["sender_username"]) == (
        "Hello World",
        "Announcement",
        "System",
    )
    assert message["attachment_urls"] == ["https://example.com/file.pdf"]
    with_key = api.post(path, json={**body, "content": "by key"}, headers={"X-API-Key": API_KEY})
    assert with_key.status_code == 201
    assert with_key.json()["seq"] == message["seq"] + 1

"""Message search over REST on every database: ranking, paging, highlights, who sees what."""

from __future__ import annotations

import httpx

from tests.search.support import found, group, say, search, word
from tests.support.accounts import Account, direct_chat, login, register, run_cli
from tests.support.server import ServerProcess


def test_results_are_ranked_highlighted_and_carry_the_message(api: httpx.Client) -> None:
    alice, bob = register(api), register(api)
    chat = direct_chat(api, alice, bob)
    pizza, other = word("pz"), word("ot")
    say(api, alice, chat, f"{pizza} tonight?")
    say(api, bob, chat, f"{pizza} {pizza} {pizza}, always {pizza}")
    say(api, alice, chat, f"no {other} today")
    say(api, bob, chat, f"<b>{pizza.upper()}</b> & wine")
    response = search(api, bob, pizza)
    assert response.status_code == 200, response.text
    page = response.json()
    best = page["results"][0]["message"]["content"]
    assert best.startswith(f"{pizza} {pizza}")  # the most occurrences ranks first
    assert len(page["results"]) == 3
    assert (page["terms"], page["has_more"], page["next_cursor"]) == ([pizza], False, None)
    by_content = {hit["message"]["content"]: hit for hit in page["results"]}
    marked = by_content[f"<b>{pizza.upper()}</b> & wine"]["highlight"]
    assert marked == f"&lt;b&gt;<mark>{pizza.upper()}</mark>&lt;/b&gt; &amp; wine"
    first = by_content[f"{pizza} tonight?"]
    assert first["highlight"] == f"<mark>{pizza}</mark> tonight?"
    assert first["message"]["sender_id"] == alice.id
    assert first["message"]["conversation_id"] == chat
    assert first["message"]["reactions"] == []
    # Every word must occur, in any order and case.
    assert found(api, alice, f"TONIGHT {pizza}") == [f"{pizza} tonight?"]
    assert found(api, alice, f"{pizza} {other}") == []
    # The per-conversation route and the conversation_id filter agree.
    inside = api.get(
        f"/api/v1/conversations/{chat}/messages/search", params={"q": other}, headers=alice.headers
    )
    assert [h["message"]["content"] for h in inside.json()["results"]] == [f"no {other} today"]
    assert found(api, alice, other, conversation_id=chat) == [f"no {other} today"]


def test_pages_follow_the_cursor_without_repeats(api: httpx.Client) -> None:
    alice, bob = register(api), register(api)
    chat = direct_chat(api, alice, bob)
    term = word("pg")
    sent = {say(api, alice, chat, f"{term} number {i}") for i in range(5)}
    seen: list[str] = []
    cursor = None
    for expected in (2, 2, 1):
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = search(api, bob, term, **params).json()
        assert len(page["results"]) == expected
        seen += [hit["message"]["id"] for hit in page["results"]]
        cursor = page["next_cursor"]
        assert page["has_more"] == (cursor is not None)
    assert cursor is None
    assert sorted(seen) == sorted(sent)
    # A cursor belongs to its search: another query or scope refuses it.
    first = search(api, bob, term, limit=2).json()["next_cursor"]
    for params in ({"q": term + "x"}, {"q": term, "conversation_id": chat}):
        refused = api.get(
            "/api/v1/search/messages", params={**params, "cursor": first}, headers=bob.headers
        )
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["code"] == "validation_error"
    forged = search(api, bob, term, cursor="bm90LWEtY3Vyc29y")
    assert forged.status_code == 422


def test_other_peoples_conversations_never_leak(api: httpx.Client) -> None:
    alice, bob, carol = register(api), register(api), register(api)
    chat = direct_chat(api, alice, bob)
    secret = word("sc")
    say(api, alice, chat, f"the {secret} plan")
    assert found(api, bob, secret) == [f"the {secret} plan"]
    assert found(api, carol, secret) == []
    refused = search(api, carol, secret, conversation_id=chat)
    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "not_a_member")
    inside = api.get(
        f"/api/v1/conversations/{chat}/messages/search", params={"q": secret}, headers=carol.headers
    )
    assert inside.status_code == 403
    missing = search(api, carol, secret, conversation_id="00000000-0000-0000-0000-000000000000")
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "conversation_not_found")
    anonymous = api.get("/api/v1/search/messages", params={"q": secret})
    assert anonymous.status_code == 401
    # Leaving a group takes its messages out of your results.
    team = group(api, alice, carol)
    say(api, alice, team, f"{secret} for the team")
    assert found(api, carol, secret) == [f"{secret} for the team"]
    left = api.delete(f"/api/v1/conversations/{team}/members/{carol.id}", headers=carol.headers)
    assert left.status_code in (200, 204), left.text
    assert found(api, carol, secret) == []


def test_deleted_messages_never_match_and_edited_ones_match_their_new_text(
    api: httpx.Client,
) -> None:
    alice, bob = register(api), register(api)
    chat = direct_chat(api, alice, bob)
    before, after = word("bf"), word("af")
    message = say(api, alice, chat, f"{before} draft")
    edited = api.patch(
        f"/api/v1/messages/{message}", headers=alice.headers, json={"content": f"{after} final"}
    )
    assert edited.status_code == 200, edited.text
    assert found(api, bob, before) == []
    assert found(api, bob, after) == [f"{after} final"]
    assert api.delete(f"/api/v1/messages/{message}", headers=alice.headers).status_code == 200
    assert found(api, bob, after) == []
    assert found(api, alice, before) == []


def test_blocked_senders_are_hidden_except_in_direct_chats(api: httpx.Client) -> None:
    alice, bob, carol = register(api), register(api), register(api)
    team = group(api, alice, bob, carol)
    chat = direct_chat(api, alice, bob)
    term = word("bl")
    say(api, bob, team, f"{term} in the group")
    say(api, carol, team, f"{term} from carol")
    say(api, bob, chat, f"{term} between us")
    blocked = api.post("/api/v1/blocks", headers=alice.headers, json={"user_id": bob.id})
    assert blocked.status_code == 201, blocked.text
    assert sorted(found(api, alice, term)) == sorted([f"{term} from carol", f"{term} between us"])
    assert found(api, alice, term, conversation_id=team) == [f"{term} from carol"]
    assert found(api, alice, term, conversation_id=chat) == [f"{term} between us"]
    assert len(found(api, carol, term)) == 2  # carol blocks no one


def test_supervisors_search_every_support_chat(api: httpx.Client, server: ServerProcess) -> None:
    assert run_cli(server, "seed").returncode == 0
    customer = register(api)
    agent = login(api, "agent1", "password123")
    supervisor = login(api, "agent2", "password123")
    chat = api.post(
        "/api/v1/conversations",
        headers=customer.headers,
        json={"customerId": customer.id, "agentId": agent.id},
    ).json()["id"]
    term = word("sp")
    say(api, customer, chat, f"my {term} is broken")
    assert found(api, supervisor, term) == [f"my {term} is broken"]
    assert found(api, supervisor, term, conversation_id=chat) == [f"my {term} is broken"]
    assert found(api, agent, term) == [f"my {term} is broken"]
    stranger: Account = register(api)
    assert found(api, stranger, term) == []

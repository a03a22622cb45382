"""Queries that are syntax on some database are plain words on every one; none is a 500."""

from __future__ import annotations

import httpx

from tests.search.support import found, say, search, word
from tests.support.accounts import direct_chat, register

REFUSED = {"search_query_empty", "search_query_too_long"}


def test_operators_quotes_and_sql_are_only_words(api: httpx.Client) -> None:
    alice, bob = register(api), register(api)
    chat = direct_chat(api, alice, bob)
    term, near = word("ho"), word("nr")
    say(api, alice, chat, f"{term} tonight at {near}")
    say(api, alice, chat, f"it's {term}'s turn")
    words_of = [
        f'"{term}',
        f"{term}*",
        f"-{term}",
        f"{term} -",
        f"({term}",
        f"{term})) OR ((",
        f"NEAR({term} tonight)",
        f"{term} AND",
        f"content:{term}",
        f"^{term}",
        f"+{term} ~",
        f"{term}'; DROP TABLE messages; --",
        f"{term}\\",
        f"{term} %",
        f"{term} 🍕",
        f"{term}\u200b",
    ]
    for q in words_of:
        response = search(api, bob, q)
        assert response.status_code == 200, (q, response.text)
    # Each of these is the words it contains, every one required.
    assert len(found(api, bob, f'"{term}')) == 2
    assert len(found(api, bob, f"-{term}")) == 2  # not "without"
    assert len(found(api, bob, f"{term}*")) == 2  # not a prefix search
    assert found(api, bob, f"{term} 🍕") != []
    assert found(api, bob, f"NEAR({term} tonight)") == []  # "near" is a word here, not in it
    assert found(api, bob, f"({term} tonight") == [f"{term} tonight at {near}"]
    assert found(api, bob, f"{term}'; DROP TABLE messages; --") == []
    assert len(found(api, bob, term)) == 2  # and the table is still there


def test_what_cannot_be_searched_gets_a_stable_code(api: httpx.Client) -> None:
    alice = register(api)
    cases = {
        "": "search_query_empty",
        "   ": "search_query_empty",
        "🍕🍕": "search_query_empty",
        '"*" () - ^ :': "search_query_empty",
        "\x00": "search_query_empty",
        "x" * 10_240: "search_query_too_long",
        " ".join(f"w{i}" for i in range(17)): "search_query_too_long",
    }
    for q, code in cases.items():
        response = search(api, alice, q)
        assert response.status_code == 422, (q[:20], response.text)
        assert response.json()["error"]["code"] == code, (q[:20], response.text)
    missing = api.get("/api/v1/search/messages", headers=alice.headers)
    assert missing.status_code == 422
    for limit in (0, 51, -1, "x"):
        assert search(api, alice, "hello", limit=limit).status_code == 422


def test_words_across_scripts_and_accents(api: httpx.Client) -> None:
    alice, bob = register(api), register(api)
    chat = direct_chat(api, alice, bob)
    term = word("sc")
    say(api, alice, chat, f"Привет {term} world")
    say(api, alice, chat, f"{term} naïve café")
    assert found(api, bob, f"ПРИВЕТ {term}") == [f"Привет {term} world"]
    hit = search(api, bob, f"{term} café").json()["results"]
    assert [h["highlight"] for h in hit] == [f"<mark>{term}</mark> naïve <mark>café</mark>"]
    nul = search(api, bob, f"{term}\x00world")
    assert nul.status_code == 200, nul.text  # NUL separates words like any other symbol
    assert [h["message"]["content"] for h in nul.json()["results"]] == [f"Привет {term} world"]

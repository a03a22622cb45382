"""Helpers for the search tests: words no other test uses, sending, searching."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.support.accounts import Account


def word(prefix: str = "w") -> str:
    """A word no other message has (letters only, so every tokenizer keeps it whole)."""
    digits = uuid.uuid4().hex[:10]
    return prefix + "".join(chr(ord("a") + int(c, 16) % 26) for c in digits)


def say(api: httpx.Client, who: Account, conversation: str, content: str) -> str:
    response = api.post(
        f"/api/v1/conversations/{conversation}/messages",
        headers=who.headers,
        json={"content": content},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def search(api: httpx.Client, who: Account, q: str, **params: Any) -> httpx.Response:
    return api.get("/api/v1/search/messages", params={"q": q, **params}, headers=who.headers)


def found(api: httpx.Client, who: Account, q: str, **params: Any) -> list[str]:
    """The contents found, in order."""
    response = search(api, who, q, **params)
    assert response.status_code == 200, response.text
    return [hit["message"]["content"] for hit in response.json()["results"]]


def group(api: httpx.Client, owner: Account, *others: Account) -> str:
    response = api.post(
        "/api/v1/conversations",
        headers=owner.headers,
        json={"name": "Search group", "participant_ids": [o.id for o in others]},
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])

"""Input a client controls that used to end in a 500: numbers past what the database holds,
room names that collide on rename, tokens with well-formed signatures but absurd claims."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import httpx
import jwt
import orjson
import pytest

from tests.support.accounts import Account, register
from tests.support.server import JWT_SECRET

INT64_MAX = 2**63 - 1
HUGE = [2**63, 2**64 - 1, 10**20, 10**40]


def error_of(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, response.json()["error"]["code"] if response.is_error else ""


@pytest.mark.parametrize("offset", [*HUGE, 2**31 + 1])
def test_a_user_list_offset_past_any_page_is_a_validation_error(
    api: httpx.Client, offset: int
) -> None:
    alice = register(api)
    response = api.get("/api/v1/users", params={"offset": offset}, headers=alice.headers)
    assert error_of(response) == (422, "validation_error")
    for limit in HUGE:
        response = api.get("/api/v1/users", params={"limit": limit}, headers=alice.headers)
        assert error_of(response) == (422, "validation_error")


def test_a_user_search_with_a_nul_character_is_a_validation_error(api: httpx.Client) -> None:
    alice = register(api)
    response = api.get("/api/v1/users", params={"q": "a\x00b"}, headers=alice.headers)
    assert error_of(response) == (422, "validation_error")
    assert api.get("/api/v1/users", params={"q": "a"}, headers=alice.headers).status_code == 200


def test_the_largest_user_list_offset_is_an_empty_page(api: httpx.Client) -> None:
    alice = register(api)
    response = api.get("/api/v1/users", params={"offset": 2**31}, headers=alice.headers)
    assert response.status_code == 200, response.text
    assert response.json()["users"] == []


def cursor_for(seq: int) -> str:
    return base64.urlsafe_b64encode(f"s{seq}".encode()).decode().rstrip("=")


def test_seqs_past_int64_are_validation_errors(api: httpx.Client) -> None:
    alice, bob = register(api), register(api)
    chat = api.post(
        "/api/v1/conversations", headers=alice.headers, json={"participant_id": bob.id}
    ).json()
    url = f"/api/v1/conversations/{chat['id']}/messages"
    sent = api.post(url, headers=alice.headers, json={"content": "hi"})
    assert sent.status_code == 201
    for seq in HUGE:
        assert error_of(api.get(url, params={"after_seq": seq}, headers=alice.headers)) == (
            422,
            "validation_error",
        ), seq
        assert error_of(
            api.get(url, params={"cursor": cursor_for(seq)}, headers=alice.headers)
        ) == (
            422,
            "validation_error",
        ), seq
    # The edge itself works on every database (BIGINT holds it) and finds nothing / everything.
    after = api.get(url, params={"after_seq": INT64_MAX}, headers=alice.headers)
    assert after.status_code == 200, after.text
    assert after.json()["messages"] == []
    before = api.get(url, params={"cursor": cursor_for(INT64_MAX)}, headers=alice.headers)
    assert before.status_code == 200, before.text
    assert [m["content"] for m in before.json()["messages"]] == ["hi"]


def test_renaming_a_room_to_another_rooms_name_is_a_conflict(api: httpx.Client) -> None:
    alice = register(api)
    taken, mine = f"taken-{uuid.uuid4().hex[:8]}", f"mine-{uuid.uuid4().hex[:8]}"
    for name in (taken, mine):
        created = api.post(
            "/api/v1/conversations", headers=alice.headers, json={"kind": "room", "name": name}
        )
        assert created.status_code == 201, created.text
        room_id = created.json()["id"]
    renamed = api.patch(
        f"/api/v1/conversations/{room_id}", headers=alice.headers, json={"name": taken.upper()}
    )
    assert error_of(renamed) == (409, "room_exists")
    # Nothing changed, and a room may still be renamed to its own name in another case.
    assert api.get(f"/api/v1/conversations/{room_id}", headers=alice.headers).json()["name"] == mine
    same = api.patch(
        f"/api/v1/conversations/{room_id}", headers=alice.headers, json={"name": mine.upper()}
    )
    assert same.status_code == 200, same.text


def signed(claims: dict[str, Any]) -> str:
    """HS256 over the claims as JSON; by hand, since PyJWT will not encode infinity."""
    header = b64(orjson.dumps({"alg": "HS256", "typ": "JWT"}))
    body = b64(json.dumps(claims).encode())
    signature = hmac.new(JWT_SECRET.encode(), f"{header}.{body}".encode(), hashlib.sha256)
    return f"{header}.{body}.{b64(signature.digest())}"


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims_of(account: Account) -> dict[str, Any]:
    return dict(jwt.decode(account.access_token, options={"verify_signature": False}))


@pytest.mark.parametrize(
    "change",
    [
        {"exp": 1e30},
        {"exp": 10**30},
        {"exp": float("inf")},
        {"iat": 1e30},
        {"sid": 12345},
        {"sid": ["a"]},
        {"sid": {"x": 1}},
        {"sub": 12345},
        {"sub": None},
        {"jti": {"x": 1}},
        {"role": ["admin"]},
    ],
    ids=repr,
)
def test_signed_tokens_with_absurd_claims_are_invalid(
    api: httpx.Client, change: dict[str, Any]
) -> None:
    alice = register(api)
    claims = claims_of(alice) | change
    response = api.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {signed(claims)}"})
    assert error_of(response) == (401, "invalid_token")
    refresh = claims_of(alice) | {"typ": "refresh"} | change
    response = api.post("/api/v1/auth/refresh", json={"refresh_token": signed(refresh)})
    assert error_of(response)[0] == 401


def test_a_token_that_has_not_expired_for_a_long_time_still_works(api: httpx.Client) -> None:
    alice = register(api)
    token = signed(claims_of(alice) | {"exp": int(time.time()) + 3600})
    response = api.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text

"""What a REST body may hold: refused at the edge (422) before anything is stored, on every
database alike, so no stored message can break the readers that come after it."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import pytest

from tests.support.accounts import Account, register
from tests.support.server import API_KEY

MAX_MESSAGE_BYTES = 65_536
JSON = {"Content-Type": "application/json"}


def nested(depth: int) -> str:
    return '{"k":' * depth + "1" + "}" * depth


# A body's fields after the endpoint's own, as raw JSON text: the way an attacker sends them
# (a client's JSON encoder may refuse to produce some of these).
BAD_FIELDS = {
    "lone surrogate": ('"content":"x","payload":{"k":"\\ud800"}', "payload.k"),
    "lone surrogate in content": ('"content":"x\\udc00y"', "content"),
    "NUL in content": ('"content":"a\\u0000b"', "content"),
    "NUL in a payload key": ('"content":"x","payload":{"a\\u0000":1}', "payload.a\\x00"),
    "lone surrogate in a key": ('"content":"x","payload":{"\\udc00":1}', "payload.\\udc00"),
    "nesting past the limit": (f'"content":"x","payload":{nested(40)}', "payload.k.k"),
    "nesting past the encoder's 255": (f'"content":"x","payload":{nested(300)}', "payload.k"),
    "nesting past the decoder's 1024": (f'"content":"x","payload":{nested(2000)}', "body"),
    # A long digit run sends the text to the stdlib for exact integers; it must not recurse
    # through a nesting orjson took (the stdlib gives up near 1 000 levels).
    "nesting past the stdlib's recursion, with a long number": (
        '"content":"x","payload":' + '{"k":' * 1010 + "1" * 19 + "}" * 1010,
        "payload.k",
    ),
    "integer past 64 bits": ('"content":"x","payload":{"n":18446744073709551616}', "payload.n"),
    "integer past signed 64 bits": (
        '"content":"x","payload":{"n":9223372036854775808}',
        "payload.n",
    ),
    "NaN": ('"content":"x","payload":{"n":NaN}', "payload.n"),
    "infinite number": ('"content":"x","payload":{"n":1e400}', "payload.n"),
}


@dataclass
class Chat:
    """A conversation with one stored message, and the REST paths that write to it."""

    owner: Account
    conversation_id: str
    message_id: str

    def history(self, api: httpx.Client) -> list[dict[str, Any]]:
        """Every way a member reads the conversation still works; returns its messages."""
        headers = self.owner.headers
        base = f"/api/v1/conversations/{self.conversation_id}"
        page = api.get(f"{base}/messages", headers=headers)
        assert page.status_code == 200, page.text
        after = api.get(f"{base}/messages", params={"after_seq": 0}, headers=headers)
        assert after.status_code == 200, after.text
        assert after.json()["messages"] == list(reversed(page.json()["messages"]))
        assert api.get(base, headers=headers).status_code == 200
        listed = api.get("/api/v1/conversations", headers=headers)
        assert listed.status_code == 200, listed.text
        assert self.conversation_id in {c["id"] for c in listed.json()["conversations"]}
        return page.json()["messages"]  # type: ignore[no-any-return]


def room_chat(api: httpx.Client) -> Chat:
    owner = register(api)
    room = api.post(
        "/api/v1/conversations",
        headers=owner.headers,
        json={"kind": "room", "name": f"policy-{uuid.uuid4().hex[:8]}"},
    )
    assert room.status_code == 201, room.text
    first = api.post(
        f"/api/v1/conversations/{room.json()['id']}/messages",
        headers=owner.headers,
        json={"content": "first", "payload": {"n": 2**63 - 1, "deep": orjson.loads(nested(25))}},
    )
    assert first.status_code == 201, first.text
    return Chat(owner, room.json()["id"], first.json()["id"])


def support_chat(api: httpx.Client) -> Chat:
    customer = register(api)
    chat = api.post("/api/chats", headers=customer.headers, json={"customerId": customer.id})
    assert chat.status_code == 201, chat.text
    first = api.post(
        f"/api/chats/{chat.json()['id']}/messages",
        headers=customer.headers,
        json={"content": "first"},
    )
    assert first.status_code == 201, first.text
    return Chat(customer, chat.json()["id"], first.json()["id"])


Write = Callable[[httpx.Client, Chat, str], httpx.Response]
"""Send a body (the fields above, as JSON text) the endpoint's way."""


def post_message(api: httpx.Client, chat: Chat, fields: str) -> httpx.Response:
    return api.post(
        f"/api/v1/conversations/{chat.conversation_id}/messages",
        headers={**chat.owner.headers, **JSON},
        content=f"{{{fields}}}",
    )


def edit_message(api: httpx.Client, chat: Chat, fields: str) -> httpx.Response:
    return api.patch(
        f"/api/v1/messages/{chat.message_id}",
        headers={**chat.owner.headers, **JSON},
        content=f"{{{fields}}}",
    )


def cs_chat_message(api: httpx.Client, chat: Chat, fields: str) -> httpx.Response:
    return api.post(
        f"/api/chats/{chat.conversation_id}/messages",
        headers={**chat.owner.headers, **JSON},
        content=f'{{"type":"text",{fields}}}',
    )


def broadcast(api: httpx.Client, chat: Chat, fields: str) -> httpx.Response:
    return api.post(
        "/api/v1/broadcast",
        headers={"X-API-Key": API_KEY, **JSON},
        content=f'{{"room_id":"{chat.conversation_id}",{fields}}}',
    )


WRITES: dict[str, tuple[Callable[[httpx.Client], Chat], Write]] = {
    "send": (room_chat, post_message),
    "edit": (room_chat, edit_message),
    "cs-chat send": (support_chat, cs_chat_message),
    "broadcast": (room_chat, broadcast),
}


@pytest.mark.parametrize("write", WRITES)
def test_bodies_that_could_not_be_stored_or_delivered_are_refused(
    api: httpx.Client, write: str
) -> None:
    make_chat, send = WRITES[write]
    chat = make_chat(api)
    before = chat.history(api)
    for name, (fields, where) in BAD_FIELDS.items():
        response = send(api, chat, fields)
        assert response.status_code == 422, (name, response.text)
        error = response.json()["error"]
        assert error["code"] == "validation_error", name
        assert error["fields"][0]["field"].startswith(where), (name, error)
        assert "request_id" in error
    assert chat.history(api) == before  # nothing stored, nothing edited, and it all loads
    good = send(api, chat, '"content":"still fine","payload":{"emoji":"\\ud83d\\ude00"}')
    assert good.status_code in (200, 201), good.text
    assert chat.history(api)[0]["content"] == "still fine"


def test_malformed_json_and_invalid_utf8(api: httpx.Client) -> None:
    chat = room_chat(api)
    malformed = post_message(api, chat, '"content": ')
    assert malformed.status_code == 400
    assert malformed.json()["error"]["code"] == "malformed_request"
    not_utf8 = api.post(
        f"/api/v1/conversations/{chat.conversation_id}/messages",
        headers={**chat.owner.headers, **JSON},
        content=b'{"content":"\xed\xa0\x80"}',  # a surrogate, encoded as if it were UTF-8
    )
    assert not_utf8.status_code == 422, not_utf8.text
    assert not_utf8.json()["error"]["code"] == "validation_error"
    assert len(chat.history(api)) == 1


def test_the_edge_integers_are_kept_exactly(api: httpx.Client) -> None:
    chat = room_chat(api)
    extremes = {"max": 2**63 - 1, "min": -(2**63), "big_text": "1" * 40}
    sent = post_message(api, chat, '"content":"x","payload":' + orjson.dumps(extremes).decode())
    assert sent.status_code == 201, sent.text
    assert chat.history(api)[0]["payload"] == extremes


def payload_of_size(total: int) -> dict[str, str]:
    """A payload making `{"content": "x", "payload": …}` exactly `total` bytes stored."""
    overhead = len(orjson.dumps(["x", None, {"blob": ""}, []]))
    return {"blob": "y" * (total - overhead)}


@pytest.mark.parametrize("write", ["send", "cs-chat send", "broadcast"])
def test_one_size_limit_for_a_whole_message(api: httpx.Client, write: str) -> None:
    make_chat, send = WRITES[write]
    chat = make_chat(api)
    largest = orjson.dumps(payload_of_size(MAX_MESSAGE_BYTES)).decode()
    accepted = send(api, chat, f'"content":"x","payload":{largest}')
    assert accepted.status_code == 201, accepted.text[:300]
    before = chat.history(api)
    for total in (MAX_MESSAGE_BYTES + 1, 1_000_000):
        too_large = orjson.dumps(payload_of_size(total)).decode()
        refused = send(api, chat, f'"content":"x","payload":{too_large}')
        assert refused.status_code == 413, refused.text[:300]
        error = refused.json()["error"]
        assert error["code"] == "message_too_large"
        assert error["details"]["limit_bytes"] == MAX_MESSAGE_BYTES
    attachments = orjson.dumps(["https://example.com/" + "a" * 2000] * 10).decode()
    title = "t" * 200
    mixed = send(
        api,
        chat,
        f'"content":"{"c" * 9000}","title":"{title}","attachment_urls":'
        f'{attachments},"payload":{orjson.dumps(payload_of_size(40_000)).decode()}',
    )
    assert mixed.status_code == 413, mixed.text[:300]
    assert chat.history(api) == before


def test_an_edit_may_not_grow_a_message_past_the_limit(api: httpx.Client) -> None:
    chat = room_chat(api)
    sent = post_message(
        api,
        chat,
        '"content":"x","payload":'
        + orjson.dumps(payload_of_size(MAX_MESSAGE_BYTES - 100)).decode(),
    )
    assert sent.status_code == 201, sent.text[:300]
    message_id = sent.json()["id"]
    grown = api.patch(
        f"/api/v1/messages/{message_id}", headers=chat.owner.headers, json={"content": "z" * 200}
    )
    assert grown.status_code == 413, grown.text[:300]
    assert grown.json()["error"]["code"] == "message_too_large"
    fits = api.patch(
        f"/api/v1/messages/{message_id}", headers=chat.owner.headers, json={"content": "z" * 50}
    )
    assert fits.status_code == 200, fits.text[:300]
    assert chat.history(api)[0]["content"] == "z" * 50

"""Hostile JSON in the bodies that store something: a REST send, an edit, a broadcast and a
customer-service chat send. Each body is a valid one with one hostile change (a lone
surrogate, a NUL, nesting past 32 levels, an int past 64 bits — in a known field, a new
field, inside `payload`, or as a key — a known string of the wrong type, content over
`MAX_MESSAGE_CHARS`) or is not JSON at all. Each is refused with a 4xx, the history of the
conversation is what it was, and the server's log shows no crash.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from tests.fuzz.conftest import FUZZ_ENV, World
from tests.support.fuzzing import RAW_GARBAGE, assert_log_clean, encode, nested, with_poison
from tests.support.server import API_KEY, ServerProcess

EXAMPLES = 60
MAX_CHARS = int(FUZZ_ENV["MAX_MESSAGE_CHARS"])
REFUSED = {400, 413, 422}
MESSAGE_STRINGS = ["content", "title", "client_msg_id", "type", "reply_to"]
MESSAGE_OTHERS = ("payload", "attachment_urls", "attachments")
HERE = "<the conversation>"
"""Stands for the target conversation's id in generated bodies (the broadcast names it)."""


@dataclass
class Target:
    name: str
    base: dict[str, Any]
    strings: list[str]
    others: tuple[str, ...] = MESSAGE_OTHERS


TARGETS = {
    t.name: t
    for t in [
        Target("message", {"content": "hello"}, MESSAGE_STRINGS),
        Target("edit", {"content": "edited"}, ["content"], ()),
        Target(
            "broadcast",
            {"conversation_id": HERE, "content": "announcement"},
            [*MESSAGE_STRINGS, "conversation_id", "username", "user_id"],
        ),
        Target("cs_chat", {"content": "hello"}, MESSAGE_STRINGS),
    ]
}


@dataclass
class Aim:
    """Where a target's bodies go now: a new conversation each time one is spoiled."""

    method: str
    url: str
    conversation_id: str
    headers: dict[str, str]


def aim(api: httpx.Client, world: World, name: str) -> Aim:
    customer = world.customer.headers

    def create(body: dict[str, Any]) -> str:
        response = api.post("/api/v1/conversations", headers=customer, json=body)
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    if name == "cs_chat":
        chat = create({"kind": "support"})
        return Aim("POST", f"/api/chats/{chat}/messages", chat, customer)
    if name == "broadcast":
        room = create({"kind": "room", "name": f"fuzz-{uuid.uuid4().hex[:10]}"})
        return Aim("POST", "/api/v1/broadcast", room, {"X-API-Key": API_KEY})
    group = create({"name": "fuzz", "participant_ids": [world.other.id]})
    if name == "message":
        return Aim("POST", f"/api/v1/conversations/{group}/messages", group, customer)
    sent = api.post(
        f"/api/v1/conversations/{group}/messages", headers=customer, json={"content": "hello"}
    )
    assert sent.status_code == 201, sent.text
    return Aim("PATCH", f"/api/v1/messages/{sent.json()['id']}", group, customer)


def hostile_bodies(target: Target) -> st.SearchStrategy[Any]:
    too_long = st.text(min_size=MAX_CHARS + 1, max_size=MAX_CHARS + 200).map(
        lambda text: {**target.base, "content": text}
    )
    return st.one_of(
        with_poison(target.base, target.strings, target.others),
        with_poison(target.base, target.strings, target.others),
        too_long,
        st.sampled_from([g for g in RAW_GARBAGE if g]),
    )


def snapshot(api: httpx.Client, world: World, conversation_id: str) -> list[tuple[Any, ...]] | None:
    messages = world.history(api, conversation_id)
    if messages is None:
        return None
    return [(m["id"], m["seq"], m["content"], m["edited_at"], m["payload"]) for m in messages]


def explicit(target: Target, **change: Any) -> dict[str, Any]:
    return {**target.base, **change}


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_hostile_bodies_are_refused_and_store_nothing(
    name: str, fuzz_api: httpx.Client, fuzz_server: ServerProcess, world: World
) -> None:
    target = TARGETS[name]
    log_start = len(fuzz_server.log_lines)
    failures: list[str] = []
    tried = 0
    current = aim(fuzz_api, world, name)

    def send(body: Any) -> httpx.Response:
        if isinstance(body, dict):
            if body.get("conversation_id") == HERE:
                body = {**body, "conversation_id": current.conversation_id}
            body = encode(body)
        headers = {**current.headers, "Content-Type": "application/json", "Connection": "close"}
        return fuzz_api.request(current.method, current.url, headers=headers, content=body)

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: bounded time
        suppress_health_check=list(HealthCheck),
    )
    @given(body=hostile_bodies(target))
    @example(body=explicit(target, payload=nested(33)))
    @example(body=explicit(target, content="a\ud800b"))
    @example(body=explicit(target, content="a\x00b"))
    @example(body=explicit(target, payload={"n": 2**64}))
    @example(body=explicit(target, payload={"k": "\udc00"}))
    @example(body=explicit(target, content="x" * (MAX_CHARS + 1)))
    @example(body=explicit(target, pad="x" * 1_100_000))
    def one_body(body: Any) -> None:
        # Failures are collected, not raised: the report lists every kind, not the first.
        nonlocal tried, current
        tried += 1
        shown = (encode(body) if isinstance(body, dict) else body)[:160]
        before = snapshot(fuzz_api, world, current.conversation_id)
        assert before is not None
        try:
            response = send(body)
        except httpx.TransportError as exc:
            failures.append(f"{shown!r}: connection failed: {exc!r}")
            return
        after = snapshot(fuzz_api, world, current.conversation_id)
        if after is None:
            failures.append(f"{shown!r} -> {response.status_code}, history unreadable after it")
            current = aim(fuzz_api, world, name)  # carry on in a conversation not spoiled
        elif response.status_code not in REFUSED or after != before:
            stored = "stored" if after != before else "nothing stored"
            failures.append(f"{shown!r} -> {response.status_code}, {stored}")

    one_body()
    barrier = f"fuzz-{uuid.uuid4().hex}"
    fuzz_api.get("/health", headers={"X-Request-ID": barrier})
    fuzz_server.wait_for_log(barrier, after=log_start)
    assert not failures, f"{name}: {len(failures)} of {tried} hostile bodies accepted:\n" + (
        "\n".join(failures[:40])
    )
    assert_log_clean(fuzz_server, log_start)

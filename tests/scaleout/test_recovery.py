"""Connection-state recovery across instances (PostgreSQL + Redis): a socket comes back as itself
on another instance, also when the instance that held it has died."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.accounts import direct_chat, register
from tests.support.deployment import two_instances
from tests.support.js import run_js
from tests.support.recovering import Recovering, lingering_old_connection, post
from tests.support.server import ServerProcess


@pytest.fixture
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """Two instances of one deployment; a test may kill the first."""
    with two_instances(Path(tmp_path_factory.mktemp("recovery"))) as both:
        yield both.a, both.b


def test_the_official_client_comes_back_on_the_other_instance(
    pair: tuple[ServerProcess, ServerProcess],
) -> None:
    a, b = pair
    with httpx.Client(base_url=a.base_url, timeout=15) as api:
        alice, bob = register(api), register(api)
    room = f"moved-{uuid.uuid4().hex[:8]}"
    seen = run_js(
        "recovery.mjs", a.base_url, alice.access_token, bob.access_token, room, "resume", b.base_url
    )
    assert seen["second"] == {"id": seen["first"]["id"], "recovered": True}
    contents = [content for content, _ in seen["seen"]]
    assert contents == ["before", "missed 1", "missed 2", "missed 3", "after"]
    assert alice.id in seen["viewers"]


async def test_a_socket_outlives_the_instance_that_held_it(
    pair: tuple[ServerProcess, ServerProcess],
) -> None:
    a, b = pair
    with httpx.Client(base_url=b.base_url, timeout=15) as api:
        alice, bob = register(api), register(api)
        chat = direct_chat(api, alice, bob)
        first = await Recovering.connect(a, {"token": alice.access_token})
        await first.event("authenticated")
        post(api, bob, chat, "one")
        _, offset = await first.message()

        a.process.kill()  # no goodbye: nothing of the socket was saved at its end
        a.process.wait(timeout=10)
        await first.eio.connection.wait_closed()
        post(api, bob, chat, "two")
        post(api, bob, chat, "three")

        second = await Recovering.connect(
            b, {"token": alice.access_token, "pid": first.pid, "offset": offset}
        )
        assert (second.sid, second.pid) == (first.sid, first.pid)
        assert (await second.event("authenticated"))["recovered"] is True
        assert [(await second.message())[0] for _ in range(2)] == ["two", "three"]
        post(api, bob, chat, "four")
        assert (await second.message())[0] == "four"
        assert sum('"one"' in packet for packet in second.eio.seen) == 0
        await second.drop()


async def test_an_old_connection_on_another_instance_overwrites_nothing(
    pair: tuple[ServerProcess, ServerProcess],
) -> None:
    """The old, half-open connection on the first instance goes after the resumed one on
    the second: the second's state is what comes back."""
    a, b = pair
    with httpx.Client(base_url=b.base_url, timeout=15) as api:
        alice, bob = register(api), register(api)
    await lingering_old_connection(a, b, alice, bob)

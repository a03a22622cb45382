"""Pushes with two instances on one PostgreSQL and one Redis: presence counts across them,
each push is sent once, and a push planned by an instance that stops during the grace is
sent by another (the queue is in Redis)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.push.conftest import push_env
from tests.push.support import body_of, device_user, find_event, group, planned, send
from tests.support.accounts import direct_chat
from tests.support.clients import WsClient
from tests.support.deployment import Deployment, two_instances
from tests.support.push_receiver import PushReceiver
from tests.support.server import ServerProcess, start_server


@pytest.fixture(scope="module")
def cluster(
    receiver: PushReceiver, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    root = Path(tmp_path_factory.mktemp("push-cluster"))
    with two_instances(root, **push_env(receiver)) as deployment:
        yield deployment


@pytest.fixture
def api(cluster: Deployment) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=cluster.a.base_url, timeout=15) as client:
        yield client


async def test_online_on_b_means_no_push_for_a_send_on_a_and_offline_exactly_one(
    cluster: Deployment, api: httpx.Client, receiver: PushReceiver
) -> None:
    alice, _ = device_user(api)
    bob, _ = device_user(api)
    dave, _ = device_user(api)
    room = group(api, alice, bob, dave)
    watcher = await WsClient.open(cluster.a.base_url, alice.access_token)
    ws = await WsClient.open(cluster.b.base_url, bob.access_token)
    try:
        message = send(api, alice, room, "bob is on B")
        plan = planned(cluster.a, message)
        assert (plan["scheduled"], plan["online"]) == (1, 1)
        await ws.expect("new_message")
        await ws.close()
        # B has let bob's connection go once his peers hear he is offline
        await watcher.next(lambda f: f.get("type") == "user_offline" and bob.id in str(f))
    finally:
        await ws.close()
        await watcher.close()
    assert len(receiver.wait("webhook", contains=dave.id)) == 1
    assert not receiver.seen("webhook", contains=bob.id)
    # bob's connection on B is gone: the next message is pushed to him, once
    message = send(api, alice, room, "now bob is away")
    assert planned(cluster.a, message)["scheduled"] == 2
    pushed = receiver.wait("webhook", contains=bob.id)
    assert len(pushed) == 1
    assert body_of(pushed[0])["message_id"] == message["id"]
    # a later push (due later) has arrived: a duplicate of bob's would have by now too
    marker_chat = direct_chat(api, alice, dave)
    marker = send(api, alice, marker_chat, "marker")
    assert len(receiver.wait("webhook", contains=marker["id"])) == 1
    assert len(receiver.seen("webhook", contains=bob.id)) == 1
    # An instance logs a push once the receiver has answered it, and the receiver has had
    # one push for bob before the marker's: with both lines logged, no second line for bob
    # can come, and his is in exactly one instance's log.
    logged_in(cluster, "push.delivered", user_id=bob.id)
    logged_in(cluster, "push.delivered", conversation_id=marker_chat)
    senders = [s for s in cluster if find_event(s, "push.delivered", user_id=bob.id)]
    assert len(senders) == 1


def test_a_push_planned_by_an_instance_that_stops_is_sent_by_another(
    cluster: Deployment, api: httpx.Client, receiver: PushReceiver
) -> None:
    c = start_server(cluster.root / "c", cluster.env)
    try:
        with httpx.Client(base_url=c.base_url, timeout=15) as api_c:
            alice, _ = device_user(api_c)
            bob, _ = device_user(api_c)
            message = send(api_c, alice, direct_chat(api_c, alice, bob), "before C stops")
            assert planned(c, message)["scheduled"] == 1
    finally:
        c.stop()  # within the grace (1.5 s): C never sends it
    pushed = receiver.wait("webhook", contains=bob.id)
    assert len(pushed) == 1
    logged_in(cluster, "push.delivered", user_id=bob.id)  # by A or B
    # C's log is whole: it ends after C's shutdown completed (no push is sent after that).
    assert any("Application shutdown complete" in line for line in c.log_lines), c.log()
    assert find_event(c, "push.delivered", user_id=bob.id) is None


def logged_in(cluster: Deployment, event: str, **fields: object) -> ServerProcess:
    """The instance (A or B) whose log has the line first, waiting for it in either."""

    def sender() -> ServerProcess | None:
        return next((s for s in cluster if find_event(s, event, **fields)), None)

    with cluster.logged:
        found = cluster.logged.wait_for(sender, timeout=15)
    assert found is not None, f"no {event} {fields} in either instance's log within 15 s"
    return found

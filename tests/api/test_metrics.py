"""`/metrics`: the standard collectors, route labels for what no API route serves, and the
socket side (connects, sign-in failures, sends, deliveries, disconnects) on both protocols."""

from __future__ import annotations

import uuid

import httpx
import pytest
import socketio
from prometheus_client.parser import text_string_to_metric_families

from tests.support.accounts import register
from tests.support.clients import RECEIVE_TIMEOUT_SECS, WsClient
from tests.support.server import ServerProcess
from tests.support.sio import SioClient

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(api: httpx.Client) -> Samples:
    response = api.get("/metrics")
    assert response.status_code == 200
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def grew(before: Samples, after: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def wait_for_lines(server: ServerProcess, text: str, count: int, *, after: int) -> None:
    """Until `count` lines with `text` were logged after line `after`."""
    for _ in range(count):
        line = server.wait_for_log(text, after=after)
        after = server.log_lines.index(line, after) + 1


def test_the_process_and_gc_collectors_are_on_the_apps_registry(api: httpx.Client) -> None:
    samples = scrape(api)
    names = {name for name, _ in samples}
    for name in (
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "process_open_fds",
        "python_gc_objects_collected_total",
        "python_gc_collections_total",
        "python_info",
    ):
        assert name in names, name
    assert value(samples, "process_resident_memory_bytes") > 0


def test_docs_socketio_and_socket_paths_have_route_labels_of_their_own(api: httpx.Client) -> None:
    assert api.get("/docs").status_code == 200
    assert api.get("/openapi.json").status_code == 200
    polled = api.get("/socket.io/", params={"EIO": "4", "transport": "polling"})
    assert polled.status_code == 200
    api.get("/ws")  # a plain GET of a socket path: refused, but counted as the socket path
    missing = f"/no-such-{uuid.uuid4().hex}"
    assert api.get(missing).status_code == 404
    routes = {dict(labels).get("route") for name, labels in scrape(api)}
    for route in ("/docs", "/openapi.json", "/socket.io/", "/ws", "<unmatched>"):
        assert route in routes, route
    assert not any(missing in str(route) for route in routes)  # labels stay bounded


async def test_socket_lives_sends_and_deliveries_are_counted_by_protocol(
    api: httpx.Client, server: ServerProcess
) -> None:
    alice, bob = register(api), register(api)
    room = f"metrics-{uuid.uuid4().hex[:8]}"
    before = scrape(api)

    ws = await WsClient.open(server.base_url, alice.access_token)
    joined = await ws.ack("join_room", {"room_id": room})
    sio = SioClient()
    await sio.connect(server.base_url, auth={"token": bob.access_token})
    await sio.expect("authenticated")
    await sio.call("join", {"room_id": room})
    await ws.ack("send_message", {"room_id": room, "content": "over /ws"})
    await sio.expect_where("message", lambda m: m["content"] == "over /ws")
    stored = await sio.call("message", {"room_id": room, "content": "over Socket.IO"})
    assert "error" not in stored, stored
    await ws.expect("new_message")
    conversation = joined.get("conversation_id") or joined["room"]["id"]
    over_rest = api.post(
        f"/api/v1/conversations/{conversation}/messages",
        headers=alice.headers,
        json={"content": "over REST"},
    )
    assert over_rest.status_code == 201, over_rest.text
    await sio.expect_where("message", lambda m: m["content"] == "over REST")
    during = scrape(api)

    refused = SioClient()
    with pytest.raises(socketio.exceptions.ConnectionError):
        await refused.client.connect(
            server.base_url,
            auth={"token": "not-a-token"},
            transports=["websocket"],
            wait_timeout=RECEIVE_TIMEOUT_SECS,
        )
    code = (await refused.expect("connect_error"))["data"]["code"]
    mark = len(server.log_lines)
    await ws.close()
    await sio.disconnect()
    wait_for_lines(server, "socket.disconnected", 2, after=mark)
    after = scrape(api)

    for protocol in ("websocket", "socketio"):
        assert grew(before, during, "parley_socket_connects_total", protocol=protocol) >= 1
        assert grew(before, during, "parley_messages_sent_total", transport=protocol) >= 1
        assert grew(before, during, "parley_frames_received_total", protocol=protocol) >= 2
        # its join's answer, its send's, and the messages of the other two
        assert grew(before, during, "parley_frames_delivered_total", protocol=protocol) >= 3
        assert grew(before, after, "parley_socket_disconnects_total", protocol=protocol) >= 1
    assert grew(before, during, "parley_messages_sent_total", transport="rest") >= 1
    assert grew(before, after, "parley_socket_auth_failures_total", code=code) >= 1
    assert grew(before, during, "parley_db_commit_duration_seconds_count") >= 3
    assert grew(before, during, "parley_broker_publish_duration_seconds_count") >= 3

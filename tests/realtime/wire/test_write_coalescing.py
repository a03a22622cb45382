"""Write coalescing: under load a connection's broadcast frames wait (at most
WS_WRITE_COALESCE_MS) and leave together; lightly loaded they leave on the next loop pass.
Under load: flushes ran late (WS_WRITE_COALESCE_LAG_MS) while the loop's thread worked most
of the time (WS_WRITE_COALESCE_CPU)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from parley.realtime.wire import flusher as flusher_module
from parley.realtime.wire.flusher import Flusher, WriteCoalescing, demand_clock
from tests.support.accounts import register
from tests.support.clients import WsClient
from tests.support.server import API_KEY, ServerProcess, start_server


class Recorder:
    """A connection as the flusher sees it: something to flush."""

    def __init__(self) -> None:
        self.flushed = asyncio.Event()
        self.flushes = 0
        self.pending = False

    def raw_flush(self) -> None:
        self.pending = False
        self.flushes += 1
        self.flushed.set()


def write(flusher: Flusher, connection: Recorder) -> None:
    """What `raw_write` does with the flusher: a connection's first frame since its last
    flush registers it (and schedules the flush, if none is)."""
    if connection.pending:
        return
    connection.pending = True
    flusher.dirty.append(connection)
    if not flusher.scheduled:
        flusher.schedule()


async def test_lightly_loaded_frames_leave_on_the_next_pass() -> None:
    # "Under load" from a minute late: this loop never is.
    flusher = Flusher(
        asyncio.get_running_loop(), WriteCoalescing(0.5, busy_lag_secs=60, window_secs=0)
    )
    for _ in range(3):
        connection = Recorder()
        write(flusher, connection)
        write(flusher, connection)  # a second frame in the same pass: one flush
        await asyncio.sleep(0)
        assert connection.flushes == 1
        assert not flusher.busy


async def test_under_load_a_flush_waits_and_takes_what_came_meanwhile() -> None:
    loop = asyncio.get_running_loop()
    flusher = Flusher(loop, WriteCoalescing(0.05, busy_lag_secs=0, window_secs=0, busy_cpu=0))
    first = Recorder()
    write(flusher, first)
    await asyncio.sleep(0)
    assert first.flushes == 1
    assert flusher.busy

    early, late = Recorder(), Recorder()
    started = loop.time()
    write(flusher, early)
    await asyncio.sleep(0)
    assert early.flushes == 0  # waiting for more
    write(flusher, late)
    async with asyncio.timeout(5):
        await early.flushed.wait()
    assert loop.time() - started >= 0.05
    assert (early.flushes, late.flushes) == (1, 1)  # one flush for both


class WorkClock:
    """The loop thread's CPU time as the test sets it."""

    def __init__(self) -> None:
        self.spent = 0.0

    def __call__(self) -> float:
        return self.spent


async def test_late_flushes_of_an_idle_loop_do_not_count_as_load() -> None:
    # Every flush is late enough (any lag counts), but the loop's thread did no work
    # meanwhile: frames still leave on the next pass.
    clock = WorkClock()
    flusher = Flusher(
        asyncio.get_running_loop(),
        WriteCoalescing(0.5, busy_lag_secs=0, window_secs=0, busy_cpu=0.5),
        cpu_clock=clock,
    )
    connection = Recorder()
    for _ in range(3):
        write(flusher, connection)
        await asyncio.sleep(0)
        assert not flusher.busy
    assert connection.flushes == 3

    clock.spent += 3600  # an hour of work in the window: now it is under load
    write(flusher, connection)
    await asyncio.sleep(0)
    assert flusher.busy


def test_the_demand_clock_counts_the_threads_run_time() -> None:
    class Owner:
        pass

    owner = Owner()
    clock = demand_clock(owner)
    assert clock is not time.thread_time  # schedstat is there on Linux
    before, cpu_before = clock(), time.thread_time()
    deadline = time.thread_time() + 0.05
    while time.thread_time() < deadline:  # work, not sleep: the clock must move with it
        pass
    ran = time.thread_time() - cpu_before
    assert clock() - before >= ran * 0.9


def test_without_schedstat_the_demand_clock_is_cpu_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(flusher_module.threading, "get_native_id", lambda: -1)
    assert demand_clock(object()) is time.thread_time


async def test_without_a_delay_the_load_is_never_measured() -> None:
    flusher = Flusher(
        asyncio.get_running_loop(), WriteCoalescing(0, busy_lag_secs=0, window_secs=0)
    )
    connection = Recorder()
    for _ in range(3):
        write(flusher, connection)
        await asyncio.sleep(0)
    assert connection.flushes == 3
    assert not flusher.busy


@pytest.fixture(scope="module")
def always_busy_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    # Counts as under load whatever it does, and holds frames for up to 100 ms.
    server = start_server(
        Path(tmp_path_factory.mktemp("coalesce")),
        {
            "WS_WRITE_COALESCE_MS": "100",
            "WS_WRITE_COALESCE_LAG_MS": "0",
            "WS_WRITE_COALESCE_CPU": "0",
        },
    )
    yield server
    server.stop()


async def test_under_load_broadcasts_wait_then_all_arrive_in_order(
    always_busy_server: ServerProcess,
) -> None:
    server = always_busy_server
    room = "coalesced-room"
    with httpx.Client(base_url=server.base_url, timeout=15) as api:
        listener = await WsClient.open(server.base_url, register(api).access_token)
        await listener.ack("join_room", {"room_id": room})

        def broadcast(content: str) -> None:
            response = api.post(
                "/api/v1/broadcast",
                json={"room_id": room, "content": content},
                headers={"X-API-Key": API_KEY},
            )
            assert response.status_code == 201, response.text

        # The load is read at a flush at most every 0.2 s: once it has been, a frame waits.
        waited, attempt = 0.0, 0
        async with asyncio.timeout(20):
            while waited < 0.09:
                attempt += 1
                sent = time.monotonic()
                broadcast(f"probe {attempt}")
                frame = await listener.expect("new_message")
                assert frame["data"]["content"] == f"probe {attempt}"
                waited = time.monotonic() - sent

        listener.seen.clear()
        for n in range(20):
            broadcast(f"burst {n}")
        contents = [(await listener.expect("new_message"))["data"]["content"] for _ in range(20)]
        assert contents == [f"burst {n}" for n in range(20)]
        assert await listener.ack("ping") == {"pong": True}  # acks are not held back
        await listener.close()

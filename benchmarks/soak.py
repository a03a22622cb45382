"""A soak: N connections on two Parley instances chatting at a steady rate for DURATION while
one instance is killed (-9) and restarted, Redis is restarted and PostgreSQL stops for a while;
then every connection catches up and the run is judged. Not run in CI.

    .venv/bin/python benchmarks/soak.py                       # 5 000 connections, 30 min
    .venv/bin/python benchmarks/soak.py -n 200 --duration 60 --pg-outage 15   # a smoke run

Everything it needs is its own: a PostgreSQL cluster (initdb) and a redis-server on spare
ports (never the shared 6379 / 5432), two `parley serve` instances on them with the settings of
`benchmarks/parley-bench-env`, N users (one per connection) in rooms of `--room-size`, half
the connections on plain WebSocket (`/ws`) and half on Socket.IO (`--proto` to choose), spread
over the two instances. A connection that drops reconnects (its instance first, then the other,
with backoff) and catches up with `sync` from the last seq it has without a gap.

The faults, at fractions of DURATION: 0.20 `kill -9` of instance B, restarted `--restart-delay`
seconds later; 0.45 Redis killed and started again, empty; 0.65 PostgreSQL stopped for
`--pg-outage` seconds (default 30). After DURATION the sends stop and every connection catches
up on what it is missing (acknowledged messages of its room it has not received).

Recorded: each instance's RSS every `--sample` seconds (from before the connections open);
sends acknowledged, refused (by error code) and unanswered (timeout, connection lost); after
the catch-up, acknowledged messages missing from the database and (connection, message) pairs
never delivered (a sender has its own by its acknowledgement) — **zero acknowledged-and-lost
is the bar** (exit status 1 otherwise); errors by code (refusals, connect failures, close
codes) and the instances' error log lines by event. Writes `<out>/soak.json` (default out:
`benchmarks/.data/soak-<time>/`, with the instances', Redis's and PostgreSQL's logs) and
prints a summary. The load generator shares the machine's cores with both instances and the
databases: `attempted` below rate × duration means it could not keep the rate.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import glob
import json
import os
import random
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

HERE = Path(__file__).resolve().parent
PARLEY = HERE.parent
PASSWORD = "soak-Passw0rd!"
ACK_TIMEOUT_SECS = 30.0
CONNECT_TIMEOUT_SECS = 20.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bench_env() -> dict[str, str]:
    """`parley-bench-env`'s settings (the bench's limits and cheap hashing)."""
    env: dict[str, str] = {}
    for line in (HERE / "parley-bench-env").read_text().splitlines():
        if line.strip().startswith("#"):
            continue
        for word in line.split():
            word = word.strip().strip('"()')
            if "=" in word and word[:1].isupper() and not word.startswith("BENCH_DATA_DIR"):
                key, _, value = word.partition("=")
                env[key] = value
    env.pop("PARLEY_DATA_DIR", None)
    env.pop("PARLEY_BENCH_ENV", None)
    return env


# -- the services of its own ----------------------------------------------------------------


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    binary = found[-1] if found else shutil.which(name)
    if binary is None:
        raise SystemExit(f"PostgreSQL's {name} is not installed")
    return binary


@dataclass
class OwnPostgres:
    """A cluster in a temporary directory (the postgres user's: PostgreSQL refuses root);
    its log is copied to `log` when it is removed."""

    directory: Path
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *command: str) -> subprocess.CompletedProcess[str]:
        args = list(command)
        if os.geteuid() == 0:
            args = ["runuser", "-u", "postgres", "--", *args]
        return subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)

    def init(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.directory.chmod(0o755)
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres", "postgres")
        data = str(self.directory / "data")
        done = self._run(_pg_bin("initdb"), "-D", data, "-U", "postgres", "--auth=trust")
        if done.returncode != 0:
            raise SystemExit(f"initdb failed: {done.stderr}")

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1"
            " -c max_connections=400 -c fsync=off"
        )
        data = str(self.directory / "data")
        done = self._run(
            _pg_bin("pg_ctl"),
            "-D",
            data,
            "-o",
            options,
            "-l",
            str(self.directory / "log"),
            "-w",
            "start",
        )
        if done.returncode != 0:
            raise SystemExit(f"PostgreSQL did not start: {done.stderr}{done.stdout}")

    def stop(self, mode: str = "fast") -> None:
        data = str(self.directory / "data")
        self._run(_pg_bin("pg_ctl"), "-D", data, "-m", mode, "-w", "stop")

    def remove(self) -> None:
        self.stop("immediate")
        with contextlib.suppress(OSError):
            shutil.copyfile(self.directory / "log", self.log)
        shutil.rmtree(self.directory, ignore_errors=True)

    def message_ids(self) -> set[str]:
        done = subprocess.run(
            ["psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-tAc"]
            + ["SELECT id FROM messages"],
            capture_output=True,
            text=True,
            timeout=300,
            check=True,
        )
        return {line.strip().replace("-", "") for line in done.stdout.splitlines() if line}


@dataclass
class OwnRedis:
    port: int
    directory: Path
    log: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise SystemExit("redis-server is not installed")
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
                + ["--appendonly", "no", "--dir", str(self.directory)],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        for _ in range(200):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port)):
                return
            time.sleep(0.05)
        raise SystemExit("redis-server did not start")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None


@dataclass
class Instance:
    name: str
    port: int
    env: dict[str, str]
    directory: Path
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.starts += 1
        with (self.directory / "parley.log").open("ab") as out:
            self.process = subprocess.Popen(
                [str(PARLEY / ".venv/bin/python"), "-m", "parley", "serve"]
                + ["--host", "127.0.0.1", "--port", str(self.port)],
                env={**os.environ, **self.env, "PARLEY_DATA_DIR": str(self.directory)},
                cwd=self.directory,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        async with httpx.AsyncClient(timeout=2) as client:
            for _ in range(600):
                if self.process.poll() is not None:
                    raise SystemExit(f"instance {self.name} exited: see {self.directory}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await client.get(f"{self.base_url}/health")).status_code == 200:
                        return
                await asyncio.sleep(0.1)
        raise SystemExit(f"instance {self.name} did not become healthy")

    def kill9(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill9()

    def rss_bytes(self) -> int | None:
        if self.process is None or self.process.poll() is not None:
            return None
        try:
            status = Path(f"/proc/{self.process.pid}/status").read_text()
        except OSError:
            return None
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        return None

    def error_lines(self) -> Counter[str]:
        """The instance's log lines at error level or above, by event."""
        found: Counter[str] = Counter()
        path = self.directory / "parley.log"
        if not path.exists():
            return found
        for line in path.read_text(errors="replace").splitlines():
            if '"level"' not in line:
                continue
            with contextlib.suppress(ValueError):
                entry = json.loads(line)
                if entry.get("level") in ("error", "critical", "exception"):
                    found[str(entry.get("event"))[:80]] += 1
        return found


# -- what the run counts --------------------------------------------------------------------


@dataclass
class Stats:
    started: float = field(default_factory=time.monotonic)
    attempted: int = 0
    skipped: int = 0
    """Ticks with no connected, idle connection to send from."""
    acked: dict[str, tuple[str, int, int]] = field(default_factory=dict)
    """message id (hex) -> (conversation id, seq, sender's client index)"""
    refused: Counter[str] = field(default_factory=Counter)
    unanswered: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    reconnects: int = 0
    faults: list[dict[str, Any]] = field(default_factory=list)
    rss: dict[str, list[tuple[float, int | None]]] = field(default_factory=dict)

    def now(self) -> float:
        return round(time.monotonic() - self.started, 2)

    def fault(self, what: str) -> None:
        self.faults.append({"at_secs": self.now(), "what": what})
        print(f"[{self.now():8.1f}s] {what}", flush=True)


class Refused(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class Lost(Exception):
    """The connection went before the answer came."""


# -- one client connection, either protocol -------------------------------------------------


class Client:
    def __init__(
        self, index: int, token: str, room: str, proto: str, instances: list[Instance]
    ) -> None:
        self.index = index
        self.token = token
        self.room = room
        self.proto = proto
        self.instances = instances
        self.home = index % len(instances)
        self.conversation_id: str | None = None
        self.seen: set[int] = set()
        """Seqs of the room this client has: received, or sent by it and acknowledged."""
        self.upto = 0
        """The highest seq below which it has every one."""
        self.ws: ClientConnection | None = None
        self.ready = asyncio.Event()
        self.busy = False
        self._pending: dict[str, asyncio.Future[Any]] = {}
        self._ids = 0
        self.stopping = False

    # ---- bookkeeping
    def have(self, seq: int) -> None:
        self.seen.add(seq)
        while self.upto + 1 in self.seen:
            self.upto += 1

    def _fail_pending(self) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_exception(Lost())
        self._pending.clear()

    # ---- wire
    def _next_id(self) -> str:
        self._ids += 1
        return str(self._ids)

    async def call(self, name: str, data: dict[str, Any], timeout: float = ACK_TIMEOUT_SECS) -> Any:
        ws = self.ws
        if ws is None:
            raise Lost()
        request = self._next_id()
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[request] = future
        if self.proto == "ws":
            frame = orjson.dumps({"type": name, "id": request, "data": data}).decode()
        else:
            frame = f"42{request}" + orjson.dumps([name, data]).decode()
        try:
            await ws.send(frame)
            async with asyncio.timeout(timeout):
                return await future
        except ConnectionClosed as exc:
            raise Lost() from exc
        finally:
            self._pending.pop(request, None)

    def _answer(self, request: str, data: Any, error: str | None) -> None:
        future = self._pending.get(request)
        if future is None or future.done():
            return
        if error is not None:
            future.set_exception(Refused(error))
        else:
            future.set_result(data)

    def _message(self, data: Any) -> None:
        if isinstance(data, dict) and str(data.get("conversation_id")) == self.conversation_id:
            seq = data.get("seq")
            if isinstance(seq, int):
                self.have(seq)

    async def _read(self, ws: ClientConnection) -> None:
        async for raw in ws:
            text = raw if isinstance(raw, str) else raw.decode()
            if self.proto == "ws":
                frame = orjson.loads(text)
                kind = frame.get("type")
                if kind == "new_message":
                    self._message(frame.get("data"))
                elif kind == "ack" and "id" in frame:
                    self._answer(str(frame["id"]), frame.get("data"), None)
                elif kind == "error" and "id" in frame:
                    self._answer(str(frame["id"]), None, str(frame.get("code")))
                continue
            if text == "2":
                await ws.send("3")
            elif text.startswith("42"):
                event = orjson.loads(text[2:])
                if event and event[0] == "message" and len(event) > 1:
                    self._message(event[1])
            elif text.startswith("43"):
                body = text[2:]
                cut = body.index("[")
                args = orjson.loads(body[cut:])
                reply = args[0] if args else None
                error = reply.get("error") if isinstance(reply, dict) else None
                code = str(error.get("code")) if isinstance(error, dict) else None
                self._answer(body[:cut], reply, code)

    async def _open(self, instance: Instance) -> ClientConnection:
        if self.proto == "ws":
            ws = await connect(f"{instance.ws_url}/ws?token={self.token}", max_size=None)
            first = orjson.loads(await ws.recv())
            if first.get("type") != "authenticated":
                await ws.close()
                raise Refused(str(first.get("code") or first.get("type")))
            return ws
        url = f"{instance.ws_url}/socket.io/?EIO=4&transport=websocket"
        ws = await connect(url, max_size=None)
        opened = str(await ws.recv())
        if not opened.startswith("0"):
            await ws.close()
            raise Refused("no_engineio_open")
        await ws.send("40" + orjson.dumps({"token": self.token}).decode())
        while True:
            reply = str(await ws.recv())
            if reply.startswith("40"):
                return ws
            if reply.startswith("44"):
                await ws.close()
                details = orjson.loads(reply[2:]) if len(reply) > 2 else {}
                data = details.get("data") if isinstance(details, dict) else None
                raise Refused(str((data or {}).get("code") or "connect_error"))
            if reply == "2":
                await ws.send("3")

    async def catch_up(self, since: int) -> None:
        """`sync` from `since` until the server says nothing is left."""
        assert self.conversation_id is not None
        while True:
            report = await self.call("sync", {"since": {self.conversation_id: since}})
            entry = (report or {}).get("conversations", {}).get(self.conversation_id, {})
            if "error" in entry:
                raise Refused(str(entry["error"].get("code")))
            if not entry.get("has_more"):
                return
            since = int(entry.get("last_seq", since))

    async def connect_once(self, instance: Instance, stats: Stats) -> None:
        ws = await asyncio.wait_for(self._open(instance), CONNECT_TIMEOUT_SECS)
        self.ws = ws
        reader = asyncio.create_task(self._read(ws))
        try:
            joined = await self.call("join_room", {"room_id": self.room})
            self.conversation_id = str(joined.get("conversation_id") or joined.get("id"))
            await self.catch_up(self.upto)
            self.ready.set()
            await reader
        finally:
            self.ready.clear()
            self.ws = None
            self._fail_pending()
            reader.cancel()
            with contextlib.suppress(BaseException):
                await reader
            with contextlib.suppress(BaseException):
                await ws.close()

    async def run(self, stats: Stats) -> None:
        attempt = 0
        while not self.stopping:
            instance = self.instances[(self.home + attempt) % len(self.instances)]
            try:
                await self.connect_once(instance, stats)
                stats.errors["connection closed by the server"] += 1
            except ConnectionClosed as exc:
                code = exc.rcvd.code if exc.rcvd is not None else "1006, no close frame"
                stats.errors[f"close {code}"] += 1
            except InvalidStatus as exc:
                stats.errors[f"connect HTTP {exc.response.status_code}"] += 1
            except Refused as exc:
                stats.errors[f"connect/join/sync: {exc.code}"] += 1
            except Lost:
                stats.errors["connection lost during setup"] += 1
            except (OSError, TimeoutError) as exc:
                stats.errors[f"connect: {type(exc).__name__}"] += 1
            if self.stopping:
                return
            stats.reconnects += 1
            attempt += 1
            await asyncio.sleep(min(5.0, 0.25 * 2 ** min(attempt, 5)) * random.uniform(0.5, 1.5))

    async def send(self, stats: Stats, number: int, run_id: str) -> None:
        self.busy = True
        stats.attempted += 1
        content = f"soak {self.index}:{number} ".ljust(100, "x")
        data = {"room_id": self.room, "content": content, "client_msg_id": f"{run_id}-{number}"}
        try:
            message = await self.call("send_message", data)
            message_id = str(message["id"]).replace("-", "")
            stats.acked[message_id] = (
                str(message["conversation_id"]),
                int(message["seq"]),
                self.index,
            )
            self.have(int(message["seq"]))
        except Refused as exc:
            stats.refused[exc.code] += 1
        except Lost:
            stats.unanswered["connection lost"] += 1
        except TimeoutError:
            stats.unanswered["no answer in time"] += 1
        finally:
            self.busy = False


# -- the run --------------------------------------------------------------------------------


async def register_all(instance: Instance, count: int, run_id: str) -> list[str]:
    tokens: list[str] = [""] * count
    gate = asyncio.Semaphore(32)
    async with httpx.AsyncClient(base_url=instance.base_url, timeout=60) as client:

        async def one(i: int) -> None:
            async with gate:
                name = f"soak_{run_id}_{i}"
                for attempt in range(8):
                    answer = await client.post(
                        "/api/v1/auth/register", json={"username": name, "password": PASSWORD}
                    )
                    if answer.status_code in (200, 201):
                        tokens[i] = answer.json()["tokens"]["access_token"]
                        return
                    # A 429 says when to come back (Retry-After); anything else backs off.
                    wait = float(answer.headers.get("retry-after") or 0.2 * 2**attempt)
                    await asyncio.sleep(wait)
                raise SystemExit(f"could not register {name}: {answer.status_code} {answer.text}")

        await asyncio.gather(*(one(i) for i in range(count)))
    return tokens


async def open_rooms(instance: Instance, tokens: list[str], rooms: list[str], size: int) -> None:
    async with httpx.AsyncClient(base_url=instance.base_url, timeout=60) as client:
        for r, name in enumerate(rooms):
            owner = tokens[r * size]
            made = await client.post(
                "/api/v1/rooms", json={"name": name}, headers={"Authorization": f"Bearer {owner}"}
            )
            if made.status_code not in (200, 201):
                raise SystemExit(f"room {name}: {made.status_code} {made.text}")


async def sample_rss(instances: list[Instance], stats: Stats, every: float) -> None:
    while True:
        for instance in instances:
            stats.rss.setdefault(instance.name, []).append((stats.now(), instance.rss_bytes()))
        await asyncio.sleep(every)


async def chat(clients: list[Client], stats: Stats, rate: float, until: float, run_id: str) -> None:
    """Sends at a steady total rate, each from a connected connection with no send pending."""
    tasks: set[asyncio.Task[None]] = set()
    number = 0
    interval = 1.0 / rate
    next_at = time.monotonic()
    while time.monotonic() < until:
        next_at += interval
        idle = [c for c in random.sample(clients, min(len(clients), 20)) if c.ready.is_set()]
        idle = [c for c in idle if not c.busy]
        if idle:
            number += 1
            task = asyncio.create_task(idle[0].send(stats, number, run_id))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        else:
            stats.skipped += 1
        delay = next_at - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
    if tasks:
        await asyncio.gather(*tasks, return_exceptions=True)


async def faults(
    args: argparse.Namespace,
    stats: Stats,
    start: float,
    b: Instance,
    redis: OwnRedis,
    postgres: OwnPostgres,
) -> None:
    async def at(fraction: float) -> None:
        delay = start + args.duration * fraction - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)

    await at(0.20)
    b.kill9()
    stats.fault("kill -9 instance b")
    await asyncio.sleep(args.restart_delay)
    await b.start()
    stats.fault("instance b restarted")
    await at(0.45)
    redis.kill()
    redis.start()
    stats.fault("redis restarted (empty)")
    await at(0.65)
    await asyncio.to_thread(postgres.stop)
    stats.fault(f"postgresql stopped for {args.pg_outage:g} s")
    await asyncio.sleep(args.pg_outage)
    await asyncio.to_thread(postgres.start)
    stats.fault("postgresql started")


def missing_for(client: Client, by_room: dict[str, set[int]]) -> set[int]:
    if client.conversation_id is None:
        return set()
    return by_room.get(client.conversation_id, set()) - client.seen


async def final_catch_up(clients: list[Client], stats: Stats, limit_secs: float) -> int:
    """Every connection catches up on the acknowledged messages of its room it lacks; the
    connections still down after `limit_secs` (reconnecting all the while) count as missing."""
    by_room: dict[str, set[int]] = {}
    for conversation_id, seq, _ in stats.acked.values():
        by_room.setdefault(conversation_id, set()).add(seq)
    deadline = time.monotonic() + limit_secs
    gate = asyncio.Semaphore(100)

    async def one(client: Client) -> None:
        while missing_for(client, by_room) and time.monotonic() < deadline:
            try:
                async with asyncio.timeout(max(0.1, deadline - time.monotonic())):
                    await client.ready.wait()
                async with gate:
                    await client.catch_up(min(missing_for(client, by_room)) - 1)
            except (Refused, Lost, TimeoutError) as exc:
                stats.errors[f"final catch-up: {type(exc).__name__}"] += 1
                await asyncio.sleep(0.5)

    await asyncio.gather(*(one(c) for c in clients))
    return sum(len(missing_for(c, by_room)) for c in clients)


def summarise(result: dict[str, Any]) -> str:
    config, sends, deliveries = result["config"], result["sends"], result["deliveries"]
    errors = Counter(result["errors"]).most_common(12)
    lines = [
        f"soak: {config['connections']} connections ({config['proto']}), "
        f"{config['duration_secs']:g} s, {config['rate']:g} sends/s, "
        f"rooms of {config['room_size']}",
        f"sends: {sends['attempted']} attempted, {sends['acked']} acknowledged, "
        f"refused {dict(sends['refused'])}, unanswered {dict(sends['unanswered'])}, "
        f"{sends['skipped']} ticks with nobody free",
        f"acknowledged and missing from the database: {result['acked_missing_from_history']}",
        f"deliveries after catch-up: {deliveries['expected']} expected, "
        f"{deliveries['missing']} missing",
        f"reconnect attempts: {result['connections']['reconnects']}, "
        f"down at the end: {result['connections']['down_at_end']}",
        f"errors: {dict(errors)}",
        f"instance error log lines: {result['instance_errors']}",
    ]
    for name, series in result["rss"].items():
        values = [v for _, v in series if v]
        if values:
            lines.append(
                f"RSS {name}: first {values[0] / 2**20:.0f} MiB, "
                f"max {max(values) / 2**20:.0f} MiB, last {values[-1] / 2**20:.0f} MiB "
                f"({len(values)} samples)"
            )
    verdict = "PASS: nothing acknowledged was lost"
    lines.append(verdict if result["pass"] else "FAIL: acknowledged messages were lost")
    return "\n".join(lines)


async def soak(args: argparse.Namespace) -> int:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    out: Path = args.out or HERE / ".data" / f"soak-{time.strftime('%Y%m%d-%H%M%S')}"
    out.mkdir(parents=True, exist_ok=True)
    run_id = uuid.uuid4().hex[:6]
    stats = Stats()
    postgres = OwnPostgres(
        Path(tempfile.mkdtemp(prefix="parley-soak-pg-")), free_port(), out / "postgres.log"
    )
    redis = OwnRedis(free_port(), out, out / "redis.log")
    instances: list[Instance] = []
    clients: list[Client] = []
    runners: list[asyncio.Task[None]] = []
    try:
        postgres.init()
        postgres.start()
        redis.start()
        env = {
            **bench_env(),
            "DATABASE_URL": postgres.url,
            "REDIS_URL": redis.url,
            "AUTO_MIGRATE": "false",
            "LOG_LEVEL": args.log_level,
        }
        migrated = subprocess.run(
            [str(PARLEY / ".venv/bin/python"), "-m", "parley", "migrate"],
            env={**os.environ, **env, "PARLEY_DATA_DIR": str(out / "migrate")},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if migrated.returncode != 0:
            raise SystemExit(f"migrate failed: {migrated.stderr}")
        instances = [Instance(n, free_port(), env, out / n) for n in ("a", "b")]
        await asyncio.gather(*(i.start() for i in instances))
        stats.fault("instances a and b up")
        sampler = asyncio.create_task(sample_rss(instances, stats, args.sample))
        n, size = args.connections, args.room_size
        tokens = await register_all(instances[0], n, run_id)
        rooms = [f"soak-{run_id}-{r}" for r in range((n + size - 1) // size)]
        await open_rooms(instances[0], tokens, rooms, size)
        stats.fault(f"{n} users registered, {len(rooms)} rooms")
        protos = {"ws": ["ws"], "sio": ["sio"], "mixed": ["ws", "sio"]}[args.proto]
        clients = [
            Client(i, tokens[i], rooms[i // size], protos[i % len(protos)], instances)
            for i in range(n)
        ]
        gate = asyncio.Semaphore(200)

        async def start_one(client: Client) -> None:
            async with gate:
                runners.append(asyncio.create_task(client.run(stats)))
                async with asyncio.timeout(120):
                    await client.ready.wait()

        await asyncio.gather(*(start_one(c) for c in clients))
        stats.reconnects = 0
        stats.fault(f"{n} connections open and joined")
        start = time.monotonic()
        breaker = asyncio.create_task(faults(args, stats, start, instances[1], redis, postgres))
        await chat(clients, stats, args.rate, start + args.duration, run_id)
        stats.fault("sends stopped")
        await breaker
        missing = await final_catch_up(clients, stats, args.catch_up_limit)
        stats.fault("catch-up done")
        sampler.cancel()
        stored = await asyncio.to_thread(postgres.message_ids)
        lost = [m for m in stats.acked if m not in stored]
        expected = 0
        members: Counter[str] = Counter(c.conversation_id for c in clients)
        for conversation_id, _, _ in stats.acked.values():
            expected += members[conversation_id]
        result: dict[str, Any] = {
            "config": {
                "connections": n,
                "duration_secs": args.duration,
                "rate": args.rate,
                "room_size": size,
                "proto": args.proto,
                "restart_delay_secs": args.restart_delay,
                "pg_outage_secs": args.pg_outage,
            },
            "faults": stats.faults,
            "sends": {
                "attempted": stats.attempted,
                "acked": len(stats.acked),
                "refused": stats.refused,
                "unanswered": stats.unanswered,
                "skipped": stats.skipped,
            },
            "acked_missing_from_history": len(lost),
            "acked_missing_sample": lost[:20],
            "stored_not_acked": len(stored) - (len(stats.acked) - len(lost)),
            "deliveries": {"expected": expected, "missing": missing},
            "connections": {
                "reconnects": stats.reconnects,
                "down_at_end": sum(1 for c in clients if not c.ready.is_set()),
            },
            "errors": stats.errors,
            "instance_errors": {i.name: dict(i.error_lines()) for i in instances},
            "rss": stats.rss,
            "pass": not lost and missing == 0,
        }
        (out / "soak.json").write_text(json.dumps(result, indent=1, default=dict))
        print(summarise(result))
        print(f"written: {out / 'soak.json'}")
        return 0 if result["pass"] else 1
    finally:
        for client in clients:
            client.stopping = True
            if client.ws is not None:
                with contextlib.suppress(Exception):
                    await client.ws.close()
        for runner in runners:
            runner.cancel()
        await asyncio.gather(*runners, return_exceptions=True)
        for instance in instances:
            instance.stop()
        redis.kill()
        postgres.remove()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--connections", type=int, default=5000)
    parser.add_argument("--duration", type=float, default=1800, help="seconds of chat [1800]")
    parser.add_argument("--rate", type=float, default=50, help="sends per second, in all [50]")
    parser.add_argument("--room-size", type=int, default=50, help="connections per room [50]")
    parser.add_argument("--proto", choices=["ws", "sio", "mixed"], default="mixed")
    parser.add_argument("--restart-delay", type=float, default=5, help="secs b stays dead [5]")
    parser.add_argument("--pg-outage", type=float, default=30, help="secs PostgreSQL is down [30]")
    parser.add_argument("--sample", type=float, default=5, help="secs between RSS samples [5]")
    parser.add_argument(
        "--catch-up-limit", type=float, default=300, help="secs for the final catch-up [300]"
    )
    parser.add_argument("--log-level", default="warning")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    if args.duration * 0.65 + args.pg_outage > args.duration:
        parser.error("--pg-outage must end before --duration: the outage starts at 0.65 of it")
    return asyncio.run(soak(args))


if __name__ == "__main__":
    sys.exit(main())

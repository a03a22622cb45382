"""100 000 idle authenticated connections on one Parley instance: RSS per connection.  (issue #15)

    .venv/bin/python benchmarks/idle_100k.py                       # 10k, 50k, 100k, Socket.IO
    .venv/bin/python benchmarks/idle_100k.py --levels 2000,5000 --hold 5 --work /tmp/idle-smoke
    .venv/bin/python benchmarks/idle_100k.py --proto ws            # plain WebSocket, /ws?token=

Starts a fresh `parley serve` (bench settings, core 1; its data dir WORK/data with the 1 010
bench users, registered once), takes its RSS (summed over its process tree) after 2 s, then
opens idle authenticated connections up to each level with at most --concurrency handshakes
in flight, waits --settle s and reports RSS per connection = (RSS - baseline) / open
connections, the connect rate (connections completed per second at that level), failures by
kind, the server's CPU per connect, and this client's own CPU (so that it is shown not to be
the limit). After the last level the connections are held --hold s (longer than the 25 s
Engine.IO ping interval, so every connection answers pings) and the ones the server dropped
are counted.

A connection: TCP connect from one of --sources (127.0.0.2..127.0.0.6 by default: one
(source, destination) pair has ~28 000 ephemeral ports), GET /socket.io/?EIO=4&transport=
websocket, HTTP 101, the Engine.IO open packet, then CONNECT 40{"token":"<jwt>"} and its ack
40{...} (for --proto ws: GET /ws?token=<jwt> and its 101). Connection i uses token i mod N, so
each bench user holds ~100 connections (Parley has no per-user connection cap; its per-address
caps are lifted by the bench settings). The client is a minimal WebSocket over asyncio
Protocols (uvloop if installed), one process on core 0: a few hundred bytes per connection,
pings answered with pongs, nothing else sent.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import collections
import contextlib
import json
import multiprocessing
import os
import resource
import socket
import time
from multiprocessing.connection import Connection
from pathlib import Path

import benchlib

IP_BIND_ADDRESS_NO_PORT = 24  # Linux: choose the port at connect(), per destination


def text_frame(payload: bytes) -> bytes:
    """A masked client text frame (mask key 0: the payload goes as it is)."""
    n = len(payload)
    if n < 126:
        head = bytes((0x81, 0x80 | n))
    elif n < 65536:
        head = bytes((0x81, 0x80 | 126)) + n.to_bytes(2, "big")
    else:
        head = bytes((0x81, 0x80 | 127)) + n.to_bytes(8, "big")
    return head + b"\0\0\0\0" + payload


PONG_SIO = text_frame(b"3")


class Conn(asyncio.Protocol):
    __slots__ = ("app", "buf", "opened", "request", "state", "transport", "waiter", "auth")

    def __init__(self, app: Client, request: bytes, auth: bytes | None) -> None:
        self.app, self.request, self.auth = app, request, auth
        self.buf = b""
        self.state = 0  # 0 HTTP, 1 websocket open, 2 authenticated
        self.waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.transport.write(self.request)  # type: ignore[union-attr]
        self.request = b""

    def _done(self, error: str | None) -> None:
        waiter = self.waiter
        if not waiter.done():
            if error is None:
                waiter.set_result(None)
            else:
                waiter.set_exception(ConnectionError(error))

    def data_received(self, data: bytes) -> None:
        buf = self.buf + data if self.buf else data
        if self.state == 0:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                self.buf = buf
                return
            status = buf[: buf.find(b"\r\n")]
            if b" 101 " not in status:
                self._done("http " + status.decode(errors="replace")[9:40])
                self.transport.close()  # type: ignore[union-attr]
                return
            buf = buf[end + 4 :]
            self.state = 1
            if self.auth is None:
                self.state = 2
                self._done(None)
        while len(buf) >= 2:
            n = buf[1] & 0x7F
            at = 2
            if n == 126:
                if len(buf) < 4:
                    break
                n, at = int.from_bytes(buf[2:4], "big"), 4
            elif n == 127:
                if len(buf) < 10:
                    break
                n, at = int.from_bytes(buf[2:10], "big"), 10
            if len(buf) < at + n:
                break
            opcode, payload, buf = buf[0] & 0x0F, buf[at : at + n], buf[at + n :]
            if opcode == 1:
                self.text(payload)
            elif opcode == 9:  # a WebSocket ping: pong with the same payload
                self.transport.write(bytes((0x8A, 0x80 | len(payload))) + b"\0\0\0\0" + payload)  # type: ignore[union-attr]
            elif opcode == 8:
                self.app.closed_by_server += 1
                self.transport.close()  # type: ignore[union-attr]
        self.buf = buf

    def text(self, payload: bytes) -> None:
        if payload == b"2":  # Engine.IO ping
            self.transport.write(PONG_SIO)  # type: ignore[union-attr]
            self.app.pings += 1
        elif self.state == 1 and self.auth is not None:
            if payload[:1] == b"0":  # Engine.IO open: CONNECT to the default namespace
                self.transport.write(self.auth)  # type: ignore[union-attr]
                self.auth = b""
            elif payload[:2] == b"40":
                self.state = 2
                self.auth = None
                self._done(None)
            elif payload[:2] == b"44":
                self._done("connect_error " + payload[2:80].decode(errors="replace"))

    def connection_lost(self, exc: Exception | None) -> None:
        if self.state == 2 and self.waiter.done() and self.waiter.exception() is None:
            self.app.dropped += 1
            self.app.alive.discard(self)
        self._done(f"closed during handshake ({exc or 'eof'})")


class Client:
    def __init__(
        self, args: argparse.Namespace, port: int, tokens: list[str], first: int, stride: int
    ) -> None:
        self.args, self.port, self.tokens = args, port, tokens
        self.first, self.stride = first, stride  # this process opens first, first+stride, ...
        self.sources = args.sources.split(",")
        self.alive: set[Conn] = set()
        self.failures: collections.Counter[str] = collections.Counter()
        self.attempted = 0
        self.dropped = self.closed_by_server = self.pings = 0
        self.key = base64.b64encode(os.urandom(16)).decode()

    def request(self, token: str) -> tuple[bytes, bytes | None]:
        if self.args.proto == "sio":
            path, auth = (
                "/socket.io/?EIO=4&transport=websocket",
                text_frame(b'40{"token":"' + token.encode() + b'"}'),
            )
        else:
            path, auth = f"/ws?token={token}", None
        head = (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {self.key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        return head.encode(), auth

    async def open_one(self, local: int) -> None:
        loop = asyncio.get_running_loop()
        i = self.first + local * self.stride
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            sock.setblocking(False)
            sock.setsockopt(socket.SOL_IP, IP_BIND_ADDRESS_NO_PORT, 1)
            sock.bind((self.sources[i % len(self.sources)], 0))
            async with asyncio.timeout(self.args.timeout):
                await loop.sock_connect(sock, ("127.0.0.1", self.port))
                request, auth = self.request(self.tokens[i % len(self.tokens)])
                _, conn = await loop.create_connection(lambda: Conn(self, request, auth), sock=sock)
                await conn.waiter
            self.alive.add(conn)
        except (OSError, TimeoutError, ConnectionError) as exc:
            kind = type(exc).__name__ + (f" {exc}" if isinstance(exc, ConnectionError) else "")
            if isinstance(exc, OSError) and exc.errno:
                kind = f"{type(exc).__name__} errno {exc.errno}"
            self.failures[kind[:90]] += 1
            sock.close()

    async def open_to(self, level: int) -> None:
        async def worker() -> None:
            while self.attempted < level:
                i = self.attempted
                self.attempted += 1
                await self.open_one(i)

        await asyncio.gather(
            *(worker() for _ in range(max(1, self.args.concurrency // self.stride)))
        )

    def stats(self) -> dict[str, object]:
        return {
            "open": len(self.alive),
            "failures": dict(self.failures),
            "dropped": self.dropped,
            "closedByServer": self.closed_by_server,
            "pings": self.pings,
            "cpu": client_cpu(),
        }


def client_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def share(level: int, first: int, stride: int) -> int:
    """How many of the connections 0..level-1 are first, first+stride, ..."""
    return max(0, (level - first + stride - 1) // stride)


def child(pipe: Connection, args: argparse.Namespace, port: int, tokens: list[str], k: int) -> None:
    """One client process: opens its share of each level when told, reports, holds."""

    async def serve() -> None:
        loop = asyncio.get_running_loop()
        client = Client(args, port, tokens, k, args.procs)
        while True:
            command, level = await loop.run_in_executor(None, pipe.recv)
            if command == "open":
                await client.open_to(share(level, k, args.procs))
            elif command == "quit":
                for conn in list(client.alive):
                    if conn.transport is not None:
                        conn.transport.abort()
                pipe.send(client.stats())
                return
            pipe.send(client.stats())

    try:
        import uvloop  # type: ignore[import-not-found]

        uvloop.run(serve())
    except ImportError:
        asyncio.run(serve())


class Clients:
    """The client processes, told what to do together; their stats summed."""

    def __init__(self, args: argparse.Namespace, port: int, tokens: list[str]) -> None:
        ctx = multiprocessing.get_context("fork")
        self.pipes, self.procs = [], []
        for k in range(args.procs):
            mine, theirs = ctx.Pipe()
            proc = ctx.Process(target=child, args=(theirs, args, port, tokens, k), daemon=True)
            proc.start()
            theirs.close()  # a child that dies then ends our recv() (EOFError), not hangs it
            self.pipes.append(mine)
            self.procs.append(proc)

    def ask(self, command: str, level: int = 0) -> dict[str, object]:
        for pipe in self.pipes:
            pipe.send((command, level))
        total: dict[str, object] = {"failures": collections.Counter()}
        for pipe in self.pipes:
            for key, value in pipe.recv().items():
                if key == "failures":
                    total["failures"].update(value)  # type: ignore[attr-defined]
                else:
                    total[key] = total.get(key, 0) + value  # type: ignore[operator]
        return total

    def close(self) -> None:
        with contextlib.suppress(OSError, EOFError):
            self.ask("quit")
        for proc in self.procs:
            proc.join(10)
            if proc.is_alive():
                proc.kill()


def run(args: argparse.Namespace) -> None:
    work: Path = args.work
    (work / "data").mkdir(parents=True, exist_ok=True)
    tokens_path = work / "tokens.txt"
    if not tokens_path.exists():
        with benchlib.serving(work / "data", log=work / "server-setup.log") as server:
            benchlib.tokens(server, args.users, tokens_path)
    tokens = tokens_path.read_text().split()
    levels = [int(x) for x in args.levels.split(",")]
    server = benchlib.Server(work / "data", cpu=args.server_cpu, log=work / "server.log")
    os.sched_setaffinity(0, {args.client_cpu})  # the client processes inherit it
    clients = None
    try:
        time.sleep(2)
        base_rss = benchlib.rss_bytes(server.pid)
        limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        print(
            f"# idle connections ({args.proto}): {benchlib.conditions()}; server pid {server.pid}, "
            f"baseline RSS {base_rss / 2**20:.1f} MiB, open-file limit {limit}; sources "
            f"{args.sources}; {args.concurrency} handshakes in flight; {args.procs} client "
            f"processes",
            flush=True,
        )
        clients = Clients(args, server.port, tokens)
        results = []
        last = clients.ask("stats")
        for level in levels:
            s0, h0, t0 = benchlib.cpu_secs(server.pid), benchlib.host_busy_secs(), time.monotonic()
            got = clients.ask("open", level)
            secs = time.monotonic() - t0
            s1, h1 = benchlib.cpu_secs(server.pid), benchlib.host_busy_secs()
            time.sleep(args.settle)
            got = clients.ask("stats")
            rss = benchlib.rss_bytes(server.pid)
            n = int(got["open"])  # type: ignore[call-overload]
            made = n - int(last["open"])  # type: ignore[call-overload]
            c = float(got["cpu"]) - float(last["cpu"])  # type: ignore[arg-type]
            last = got
            fails = dict(got["failures"])  # type: ignore[call-overload]
            r = {
                "level": level,
                "open": n,
                "failures": fails,
                "connectSecs": round(secs, 2),
                "connectRate": round(made / secs) if secs else 0,
                "serverRssMiB": round(rss / 2**20, 1),
                "rssKiBPerConn": round((rss - base_rss) / max(1, n) / 1024, 2),
                "serverCpuMsPerConnect": round(1000 * (s1 - s0) / max(1, made), 3),
                "serverCpuPct": round(100 * (s1 - s0) / secs, 1),
                "clientCpuPct": round(100 * c / (secs + args.settle), 1),
                "otherCpuPct": round(100 * max(0.0, (h1 - h0) - (s1 - s0) - c) / secs, 1),
                "dropped": got["dropped"],
                "serverAlive": server.proc.poll() is None,
            }
            results.append(r)
            print(
                f"level {level:>7,}: open {n:>7,} | RSS {r['serverRssMiB']:8.1f} MiB = "
                f"{r['rssKiBPerConn']:6.2f} KiB/conn | {r['connectRate']:>5}/s connects in "
                f"{secs:6.1f} s, server {r['serverCpuMsPerConnect']:.2f} CPU-ms/connect "
                f"({r['serverCpuPct']}%), clients {r['clientCpuPct']}%, other {r['otherCpuPct']}% | "
                f"failures {sum(fails.values())} {fails or ''} | dropped {got['dropped']}"
                f"{'' if r['serverAlive'] else ' | SERVER EXITED'}",
                flush=True,
            )
        if args.hold:
            time.sleep(args.hold)
            got = clients.ask("stats")
            rss = benchlib.rss_bytes(server.pid)
            n = int(got["open"])  # type: ignore[call-overload]
            print(
                f"held {args.hold:g} s: open {n:,}, dropped {got['dropped']}, closed by server "
                f"{got['closedByServer']}, pings answered {got['pings']}, RSS "
                f"{rss / 2**20:.1f} MiB = {(rss - base_rss) / max(1, n) / 1024:.2f} KiB/conn, "
                f"server alive: {server.proc.poll() is None}",
                flush=True,
            )
            results.append(
                {
                    "held": args.hold,
                    "open": n,
                    "dropped": got["dropped"],
                    "rssKiBPerConn": round((rss - base_rss) / max(1, n) / 1024, 2),
                }
            )
        (work / f"idle-{args.proto}.json").write_text(json.dumps(results, indent=1))
    finally:
        if clients is not None:
            clients.close()
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--work", type=Path, default=Path("/tmp/parley-idle"))
    parser.add_argument("--levels", default="10000,50000,100000")
    parser.add_argument("--proto", choices=("sio", "ws"), default="sio")
    parser.add_argument("--sources", default="127.0.0.2,127.0.0.3,127.0.0.4,127.0.0.5,127.0.0.6")
    parser.add_argument("--concurrency", type=int, default=200, help="handshakes in flight")
    parser.add_argument("--timeout", type=float, default=30, help="per connection, seconds")
    parser.add_argument("--settle", type=float, default=3)
    parser.add_argument("--hold", type=float, default=30, help="after the last level, seconds")
    parser.add_argument("--users", type=int, default=1010)
    parser.add_argument("--server-cpu", type=int, default=1)
    parser.add_argument("--client-cpu", type=int, default=0)
    parser.add_argument("--procs", type=int, help="client processes (default: by the fd limit)")
    args = parser.parse_args()
    top = levels_max(args.levels)
    got = benchlib.raise_nofile(top + 10000)
    if args.procs is None:  # each client process holds its share of the sockets
        args.procs = max(1, -(-top // max(1000, got - 2000)))
    if got < top + 200:
        print(
            f"# warning: the open-file limit is {got} (hard limit, not raisable here): the "
            f"server cannot hold {top:,} connections; expect EMFILE past ~{got - 100:,}",
            flush=True,
        )
    run(args)


def levels_max(levels: str) -> int:
    return max(int(x) for x in levels.split(","))


if __name__ == "__main__":
    main()

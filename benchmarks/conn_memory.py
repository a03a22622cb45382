"""Where an idle connection's memory goes: tracemalloc, before and after N connections.

    .venv/bin/python benchmarks/conn_memory.py [--proto sio|ws] [-n 2000] [--group lineno]
    .venv/bin/python benchmarks/conn_memory.py --checkout /tmp/pb/old --data benchmarks/.data/old

Starts `parley serve` (the bench settings) under tracemalloc, opens N idle authenticated
connections with the bench users' tokens (benchmarks/.data/tokens.txt, made by fanout.sh or
compare.sh), and prints the allocations that grew, by source line (or by traceback, the
default), per connection, then the gc-tracked objects that grew, by type, per connection.
`--checkout` runs another build's server (its own .venv) with the same client, so two builds
are measured alike; `--data` is the server's data directory (compare.sh keeps the old and
the new build's databases in benchmarks/.data/old and .data/new).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from websockets.asyncio.client import connect

HERE = Path(__file__).resolve().parent
SERVER = """
import collections, gc, os, sys, threading, time, tracemalloc
tracemalloc.start(6)
report, group, top = sys.argv[1], sys.argv[3], int(sys.argv[4])
def types():
    gc.collect()
    return collections.Counter(
        f"{type(o).__module__}.{type(o).__qualname__}" for o in gc.get_objects()
    )
def snapshots():  # a thread: uvloop runs Python signal handlers only when the loop wakes
    for mark in (".before", ".after"):
        while not os.path.exists(report + mark):
            time.sleep(0.2)
        counted = types()
        taken = tracemalloc.take_snapshot()
        if mark == ".before":
            first, first_counted = taken, counted
    stats = taken.compare_to(first, group)
    with open(report + ".tmp", "w") as out:
        for stat in stats[:top]:
            out.write(f"{stat.size_diff} B {stat.count_diff} blocks\\n")
            for line in stat.traceback.format()[-6:]:
                out.write(f"    {line}\\n")
        counted.subtract(first_counted)
        for name, grown in counted.most_common(30):
            out.write(f"T {grown} {name}\\n")
    os.rename(report + ".tmp", report)
threading.Thread(target=snapshots, daemon=True).start()
from parley.cli import main
sys.argv = ["parley", "serve", "--host", "127.0.0.1", "--port", sys.argv[2]]
main()
"""


def bench_env(data: Path) -> dict[str, str]:
    env = dict(os.environ)
    for line in (HERE / "parley-bench-env").read_text().splitlines():
        line = line.strip().strip('"')
        if "=" in line and not line.startswith(("#", "BENCH_DATA_DIR", "PARLEY_BENCH_ENV")):
            key, _, value = line.partition("=")
            env[key] = value
    env["PARLEY_DATA_DIR"] = str(data)
    return env


async def open_one(port: int, proto: str, token: str) -> object:
    if proto == "ws":
        ws = await connect(f"ws://127.0.0.1:{port}/ws?token={token}", max_size=None)
        await ws.recv()  # authenticated
        return ws
    ws = await connect(f"ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket")
    await ws.recv()  # Engine.IO open
    await ws.send('40{"token":"%s"}' % token)
    while not (reply := str(await ws.recv())).startswith("40"):
        if reply.startswith("44"):
            raise RuntimeError(f"refused: {reply}")
    asyncio.get_running_loop().create_task(answer_pings(ws))
    return ws


async def answer_pings(ws: object) -> None:
    """Engine.IO pings come every 25 s; a connection that misses one is closed."""
    async for frame in ws:  # type: ignore[attr-defined]
        if frame == "2":
            await ws.send("3")  # type: ignore[attr-defined]


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--proto", choices=["sio", "ws"], default="sio")
    parser.add_argument("-n", type=int, default=2000)
    parser.add_argument("--group", choices=["traceback", "lineno", "filename"], default="traceback")
    parser.add_argument("--top", type=int, default=40, help="allocation sites printed")
    parser.add_argument("--checkout", type=Path, default=HERE.parent, help="the build to serve")
    parser.add_argument("--data", type=Path, default=HERE / ".data", help="its PARLEY_DATA_DIR")
    args = parser.parse_args()
    checkout = args.checkout.resolve()
    tokens = (HERE / ".data" / "tokens.txt").read_text().split()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    report = Path(tempfile.mkdtemp()) / "growth.txt"
    server = subprocess.Popen(
        [str(checkout / ".venv/bin/python"), "-c", SERVER, str(report), str(port), args.group]
        + [str(args.top)],
        env=bench_env(args.data.resolve()),
        cwd=checkout,
    )
    try:
        for _ in range(1800):  # start-up under tracemalloc takes a while
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            except OSError:
                await asyncio.sleep(0.1)
        else:
            raise SystemExit("the server did not start")
        warm = [await open_one(port, args.proto, tokens[i]) for i in range(50)]
        Path(f"{report}.before").touch()
        await asyncio.sleep(3)  # the snapshot
        opened = []
        for start in range(0, args.n, 100):
            batch = range(start, min(start + 100, args.n))
            opened += await asyncio.gather(
                *(open_one(port, args.proto, tokens[(50 + i) % len(tokens)]) for i in batch)
            )
        await asyncio.sleep(2)  # let connect-time work (presence batches) settle
        Path(f"{report}.after").touch()
        while not report.exists():
            await asyncio.sleep(0.2)
        lines = report.read_text().splitlines()
        sites = [line for line in lines if line[:1] not in " T"]
        total = sum(int(line.split()[0]) for line in sites)
        n = len(opened)
        print(f"{n} connections: top {len(sites)} sites {total / n:.0f} B per connection")
        for line in lines:
            if line[:1] == "T":
                _, grown, name = line.split(" ", 2)
                print(f"{int(grown) / n:8.2f} objects/conn  {name}")
            elif line[:1] != " ":
                size, blocks = int(line.split()[0]), int(line.split()[2])
                print(f"{size / len(opened):8.0f} B/conn {blocks / len(opened):6.2f} blocks/conn")
            else:
                print(line)
        for ws in warm + opened:
            await ws.close()  # type: ignore[attr-defined]
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    asyncio.run(main())

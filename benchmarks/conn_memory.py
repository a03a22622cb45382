"""Where an idle connection's memory goes: tracemalloc, before and after N connections.

    .venv/bin/python benchmarks/conn_memory.py [--proto sio|ws] [-n 2000]

Starts `parley serve` (the bench settings) under tracemalloc, opens N idle authenticated
connections with the bench users' tokens (benchmarks/.data/tokens.txt, made by fanout.sh),
and prints the allocations that grew, by source line, per connection.
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
import os, sys, threading, time, tracemalloc
tracemalloc.start(6)
report = sys.argv[1]
def snapshots():  # a thread: uvloop runs Python signal handlers only when the loop wakes
    for mark in (".before", ".after"):
        while not os.path.exists(report + mark):
            time.sleep(0.2)
        taken = tracemalloc.take_snapshot()
        if mark == ".before":
            first = taken
    stats = taken.compare_to(first, "traceback")
    with open(report + ".tmp", "w") as out:
        for stat in stats[:40]:
            out.write(f"{stat.size_diff} B {stat.count_diff} blocks\\n")
            for line in stat.traceback.format()[-6:]:
                out.write(f"    {line}\\n")
    os.rename(report + ".tmp", report)
threading.Thread(target=snapshots, daemon=True).start()
from parley.cli import main
sys.argv = ["parley", "serve", "--host", "127.0.0.1", "--port", sys.argv[2]]
main()
"""


def bench_env() -> dict[str, str]:
    env = dict(os.environ)
    for line in (HERE / "parley-bench-env").read_text().splitlines():
        line = line.strip().strip('"')
        if "=" in line and not line.startswith(("#", "BENCH_DATA_DIR", "PARLEY_BENCH_ENV")):
            key, _, value = line.partition("=")
            env[key] = value
    env["PARLEY_DATA_DIR"] = str(HERE / ".data")
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
    args = parser.parse_args()
    tokens = (HERE / ".data" / "tokens.txt").read_text().split()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    report = Path(tempfile.mkdtemp()) / "growth.txt"
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(report), str(port)], env=bench_env(), cwd=HERE.parent
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
        text = report.read_text()
        total = sum(int(line.split()[0]) for line in text.splitlines() if line[:1] != " ")
        print(f"{len(opened)} connections: top 40 sites {total / len(opened):.0f} B per connection")
        for line in text.splitlines():
            if line[:1] != " ":
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

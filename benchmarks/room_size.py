"""Does a send cost more in a 10 000-member room than in rooms of 100?  (issue #15)

    .venv/bin/python benchmarks/room_size.py                       # members 10 000, 2 sends/s
    .venv/bin/python benchmarks/room_size.py --members 2000 --big-rates 2000 --secs 8 --work /tmp/r

On one SQLite database (WORK/data) with --members bench users (registered once):

- small: the shared load generator's standard fan-out (1 000 receivers in rooms small-0..9 of
  100 members, 10 publishers, the joins as usual) at --small-rate delivered/s (default 5 000,
  i.e. 50 sends/s);
- big: one room big-0 whose members are all --members users, every one of them connected
  (--members - 1 receivers, 1 publisher) at each of --big-rates delivered/s (default 20 000,
  i.e. 2 sends/s to 9 999 others).

Membership of big-0 is made once: the room by one join, then the other members written into
conversation_members directly (the server stopped), because --members joins through the
socket would take minutes: each join sends the joiner the whole viewer list and every viewer
a `user_joined`, so N joins cost O(N^2) frames (see --measure-joins). In the big test the
connections do not join (their join frame is a `heartbeat`): members' connections are
attached to their conversations at sign-in, so every one receives the room's messages.

One line per test: the server's CPU per send and per delivered message over the fixed step
(the generator's fixed.serverCpuPct), delivery latency p50/p99/max (max: the last of a
send's deliveries, the "delivered to all in < 100 ms" figure), loss. --measure-joins N1,N2
times N real joins into fresh rooms instead (the join cost as the room grows).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import benchlib

SIO = ["--mode", "fanout", "--proto", "sio", "--preset", "parley"]
NO_JOIN = '42["heartbeat",{"room":"{room}"}]'


def add_members(data: Path, room_key: str, n: int) -> int:
    """Make bench_user_0..n-1 members of the room (the server stopped)."""
    db = sqlite3.connect(data / "parley.db", isolation_level=None)
    (room,) = db.execute("SELECT id FROM conversations WHERE room_key = ?", (room_key,)).fetchone()
    users = [
        u
        for (u, name) in db.execute(
            "SELECT id, username FROM users WHERE username LIKE 'bench_user_%'"
        )
        if int(name.rsplit("_", 1)[1]) < n
    ]
    now = datetime.now(UTC).replace(tzinfo=None).isoformat(" ")
    db.execute("BEGIN")
    db.executemany(
        "INSERT OR IGNORE INTO conversation_members (conversation_id, user_id, role, last_read_seq,"
        " joined_at, muted) VALUES (?, ?, 'member', 0, ?, 0)",
        [(room, u, now) for u in users],
    )
    db.execute("COMMIT")
    (count,) = db.execute(
        "SELECT count(*) FROM conversation_members WHERE conversation_id = ?", (room,)
    ).fetchone()
    db.close()
    return int(count)


def line(label: str, run: dict[str, object]) -> dict[str, object]:
    fixed = run.get("fixed")
    if not isinstance(fixed, dict):
        raise SystemExit(f"{label}: no fixed step ({run.get('error')})")
    cpu_s = fixed["serverCpuPct"] / 100 * fixed["secs"]
    lat = fixed["latencyMs"]
    r = {
        "test": label,
        "fanout": run["fanout"],
        "sends": fixed["sent"],
        "sendsPerSec": fixed["achievedPubRate"],
        "delivered": fixed["received"],
        "expected": fixed["expected"],
        "lost": fixed["lost"],
        "cpuMsPerSend": 1000 * cpu_s / max(1, fixed["sent"]),
        "cpuUsPerDelivery": 1e6 * cpu_s / max(1, fixed["received"]),
        "serverCpuPct": fixed["serverCpuPct"],
        "p50": lat["p50"],
        "p99": lat["p99"],
        "max": lat["max"],
        "otherCpuPct": fixed["hostOtherCpuPct"],
        "connectSecs": run["connectSecs"],
    }
    print(
        f"{label:18s} fanout {r['fanout']:>6g}: {r['cpuMsPerSend']:7.2f} CPU-ms/send "
        f"({r['cpuUsPerDelivery']:5.1f} us/delivery, server {r['serverCpuPct']}%) | p50 "
        f"{r['p50']:.2f} p99 {r['p99']:.2f} max {r['max']:.1f} ms | {r['sends']} sends "
        f"{r['sendsPerSec']:.1f}/s, {r['delivered']}/{r['expected']} delivered, lost {r['lost']} "
        f"| other {r['otherCpuPct']}% | connect {r['connectSecs']:.1f} s",
        flush=True,
    )
    return r


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--work", type=Path, default=Path("/tmp/parley-rooms"))
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--small-rate", type=int, default=5000)
    parser.add_argument("--big-rates", default="20000")
    parser.add_argument("--secs", type=float, default=20)
    parser.add_argument("--warmup", type=float, default=5)
    parser.add_argument("--skip-small", action="store_true")
    parser.add_argument("--profile", action="store_true", help="cProfile the big test's fixed step")
    parser.add_argument("--measure-joins", help="N1,N2,...: time N real joins into a fresh room")
    args = parser.parse_args()
    benchlib.raise_nofile(max(20000, args.members * 2 + 1000))
    work: Path = args.work
    data = work / "data"
    data.mkdir(parents=True, exist_ok=True)
    tokens = work / "tokens.txt"
    ready = work / "big-members"
    extra = {"MAX_CONVERSATION_MEMBERS": str(max(10_000, args.members))}
    if not tokens.exists() or not ready.exists():
        with benchlib.serving(data, extra=extra, log=work / "server-setup.log") as server:
            benchlib.tokens(server, args.members, tokens)
            benchlib.loadgen(
                server,
                [
                    *SIO,
                    "--tokens",
                    str(tokens),
                    "--clients",
                    "1",
                    "--rooms",
                    "1",
                    "--publishers",
                    "1",
                    "--room-prefix",
                    "big-",
                    "--warmup-secs",
                    "1",
                    "--max-steps",
                    "0",
                ],
                work / "big-create.json",
            )
        ready.write_text(str(add_members(data, "big-0", args.members)))
    print(
        f"# room size benchmark: {benchlib.conditions()}, SQLite; big-0 has {ready.read_text()} "
        f"members",
        flush=True,
    )
    results = []
    if args.measure_joins:
        for k, n in enumerate(int(x) for x in args.measure_joins.split(",")):
            with benchlib.serving(data, extra=extra, log=work / f"server-joins-{n}.log") as server:
                t0 = time.monotonic()
                c0 = benchlib.cpu_secs(server.pid)
                run = benchlib.loadgen(
                    server,
                    [
                        *SIO,
                        "--tokens",
                        str(tokens),
                        "--clients",
                        str(n - 1),
                        "--rooms",
                        "1",
                        "--publishers",
                        "1",
                        "--room-prefix",
                        f"joins-{k}-{uuid.uuid4().hex[:6]}-",
                        "--warmup-secs",
                        "1",
                        "--max-steps",
                        "0",
                    ],
                    work / f"joins-{n}.json",
                )
                cpu = benchlib.cpu_secs(server.pid) - c0
            frames = run["contract"]["joinTrafficFrames"]
            print(
                f"joins {n:>6}: whole run {time.monotonic() - t0:.1f} s, server CPU {cpu:.1f} s, "
                f"{frames} frames after the joins",
                flush=True,
            )
        return
    if not args.skip_small:
        with benchlib.serving(data, extra=extra, log=work / "server-small.log") as server:
            run = benchlib.loadgen(
                server,
                [
                    *SIO,
                    "--tokens",
                    str(tokens),
                    "--room-prefix",
                    "small-",
                    "--warmup-secs",
                    str(args.warmup),
                    "--fixed-rate",
                    str(args.small_rate),
                    "--fixed-secs",
                    str(args.secs),
                    "--max-steps",
                    "0",
                ],
                work / "small.json",
            )
        results.append(line("rooms of 100", run))
    for rate in (int(x) for x in args.big_rates.split(",")):
        prof = work / f"big-{rate}.prof" if args.profile else None
        with benchlib.serving(
            data, extra=extra, log=work / f"server-big-{rate}.log", profile=prof
        ) as server:
            run = benchlib.loadgen(
                server,
                [
                    *SIO,
                    "--tokens",
                    str(tokens),
                    "--clients",
                    str(args.members - 1),
                    "--rooms",
                    "1",
                    "--publishers",
                    "1",
                    "--room-prefix",
                    "big-",
                    "--join-frame",
                    NO_JOIN,
                    "--start-rate",
                    str(args.members - 1),
                    "--warmup-secs",
                    str(args.warmup),
                    "--fixed-rate",
                    str(rate),
                    "--fixed-secs",
                    str(args.secs),
                    "--max-steps",
                    "0",
                ],
                work / f"big-{rate}.json",
                profile_fixed=args.profile,
            )
        results.append(line(f"room of {args.members}", run))
    (work / "rooms.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()

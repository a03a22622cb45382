"""Does a send cost more when a million messages are already stored?  (issue #15)

    .venv/bin/python benchmarks/history.py                         # sizes 0, 100 000, 1 000 000
    .venv/bin/python benchmarks/history.py --sizes 0,20000 --secs 10 --work /tmp/h-smoke
    .venv/bin/python benchmarks/history.py --database-url postgresql+asyncpg://postgres@127.0.0.1/parley_hist

One database (the embedded SQLite in WORK/data, or PostgreSQL with --database-url, which must
name a database of its own: --fresh empties its public schema), the 1 010 bench users
registered on it and rooms room-0..room-9 made by the shared load generator's joins, all once.
Then, for each history size in turn: the server stopped, the bench rooms' stored messages
brought up to that size by seed_history.py (bulk inserts), a fresh server (bench settings,
core 1), and the load generator's fan-out test (core 0: 1 000 receivers in 10 rooms of 100,
10 publishers) at one fixed delivered rate for --secs after a warm-up, no ramp. One line per
size: the server's CPU per send and per delivered message (its utime+stime over the fixed
step, from the generator's fixed.serverCpuPct), the delivery latency p50/p99/max, and loss.
A per-send cost that does not grow with the size is what the issue asks to show.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import benchlib


def seed(work: Path, total: int, url: str | None) -> str:
    cmd = [
        str(benchlib.PARLEY / ".venv" / "bin" / "python"),
        str(benchlib.HERE / "seed_history.py"),
    ]
    cmd += [str(work / "data"), str(total)]
    if url:
        cmd += ["--database-url", url]
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip()


def prepare(work: Path, url: str | None, extra: dict[str, str], fresh: bool) -> Path:
    tokens = work / "tokens.txt"
    if fresh or not tokens.exists():
        shutil.rmtree(work, ignore_errors=True)
        (work / "data").mkdir(parents=True)
        if url:
            sync = url.replace("postgresql+asyncpg://", "postgresql://")
            script = "DROP SCHEMA public CASCADE; CREATE SCHEMA public;"
            subprocess.run(["psql", sync, "-q", "-c", script], check=True)
            subprocess.run(
                [str(benchlib.PARLEY / ".venv" / "bin" / "python"), "-m", "parley", "migrate"],
                env={**benchlib.bench_env(), "PARLEY_DATA_DIR": str(work / "data"), **extra},
                check=True,
                cwd=benchlib.PARLEY,
            )
        with benchlib.serving(work / "data", extra=extra, log=work / "server-setup.log") as server:
            benchlib.tokens(server, 1010, tokens)
            # the joins make the rooms and their 101 members each; 1 s of sends, no ramp
            benchlib.loadgen(
                server,
                [*LOADGEN_ARGS, "--tokens", str(tokens), "--warmup-secs", "1", "--max-steps", "0"],
                work / "joins.json",
            )
    return tokens


LOADGEN_ARGS = ["--mode", "fanout", "--proto", "sio", "--preset", "parley"]


def measure(
    work: Path, tokens: Path, size: int, args: argparse.Namespace, extra: dict[str, str]
) -> dict[str, object]:
    with benchlib.serving(work / "data", extra=extra, log=work / f"server-{size}.log") as server:
        time.sleep(1)
        idle_rss = benchlib.rss_bytes(server.pid)
        run = benchlib.loadgen(
            server,
            [
                *LOADGEN_ARGS,
                "--tokens",
                str(tokens),
                "--warmup-secs",
                str(args.warmup),
                "--fixed-rate",
                str(args.rate),
                "--fixed-secs",
                str(args.secs),
                "--max-steps",
                "0",
                "--label",
                f"history-{size}",
            ],
            work / f"history-{size}.json",
        )
    fixed = run.get("fixed")
    if not isinstance(fixed, dict):
        raise SystemExit(f"size {size}: no fixed step in the result ({run.get('error')})")
    sends = fixed["sent"]
    cpu_s = fixed["serverCpuPct"] / 100 * fixed["secs"]
    lat = fixed["latencyMs"]
    return {
        "size": size,
        "sends": sends,
        "sendsPerSec": fixed["achievedPubRate"],
        "delivered": fixed["received"],
        "cpuMsPerSend": 1000 * cpu_s / sends,
        "cpuUsPerDelivery": 1e6 * cpu_s / max(1, fixed["received"]),
        "serverCpuPct": fixed["serverCpuPct"],
        "p50": lat["p50"],
        "p99": lat["p99"],
        "max": lat["max"],
        "lost": fixed["lost"],
        "otherCpuPct": fixed["hostOtherCpuPct"],
        "stealPct": fixed["hostStealPct"],
        "idleRssMiB": idle_rss / 2**20,
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--work", type=Path, default=Path("/tmp/parley-history"))
    parser.add_argument("--sizes", default="0,100000,1000000", help="stored messages, ascending")
    parser.add_argument("--rate", type=int, default=5000, help="delivered/s (sends/s x 100)")
    parser.add_argument("--secs", type=float, default=20, help="the fixed step's length")
    parser.add_argument("--warmup", type=float, default=10, help="the warm-up step (1 000/s)")
    parser.add_argument(
        "--database-url", help="PostgreSQL (a database of its own) instead of SQLite"
    )
    parser.add_argument("--fresh", action="store_true", help="start from an empty database")
    args = parser.parse_args()
    benchlib.raise_nofile(20000)
    extra = {"DATABASE_URL": args.database_url} if args.database_url else {}
    tokens = prepare(args.work, args.database_url, extra, args.fresh)
    print(
        f"# history benchmark: {benchlib.conditions()}, "
        f"{'PostgreSQL' if args.database_url else 'SQLite'}, {args.rate} delivered/s "
        f"({args.rate // 100} sends/s into rooms of 100) for {args.secs:g} s",
        flush=True,
    )
    results = []
    for size in (int(s) for s in args.sizes.split(",")):
        if size:
            print(f"#   {seed(args.work, size, args.database_url)}", flush=True)
        r = measure(args.work, tokens, size, args, extra)
        results.append(r)
        print(
            f"stored {size:>9,}: {r['cpuMsPerSend']:6.2f} CPU-ms/send ({r['cpuUsPerDelivery']:5.1f} "
            f"us/delivery, server {r['serverCpuPct']:.1f}%) | p50 {r['p50']:.2f} p99 {r['p99']:.2f} "
            f"max {r['max']:.1f} ms | {r['sends']} sends, lost {r['lost']} | other {r['otherCpuPct']}% "
            f"steal {r['stealPct']}%",
            flush=True,
        )
    (args.work / "history.json").write_text(json.dumps(results, indent=1))
    print(f"# JSON: {args.work / 'history.json'}", file=sys.stderr)


if __name__ == "__main__":
    main()

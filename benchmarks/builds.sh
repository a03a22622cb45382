#!/usr/bin/env bash
# Several builds of Parley (commits, or one commit with other settings) beside Node socket.io,
# interleaved, on the shared load generator's fan-out test, with a warm-up long enough for the
# 1 010 joins to finish, so the fixed 5 000/s step measures sends and deliveries only.
#
#   benchmarks/builds.sh pre=fdd1f3b push=54f2be3 thread=HEAD:SQLITE_INLINE=false inline=HEAD
#   ROUNDS=1 WARMUP=20 benchmarks/builds.sh old=2265d31 new=HEAD
#
# Each LABEL=COMMIT[:NAME=VALUE,...] is served from `git archive COMMIT src` on this checkout's
# .venv (PYTHONPATH first), with its own data dir and 1 010 bench users registered on it once
# (an older build cannot open a newer database). Work and results: $WORK (default
# /tmp/parley-builds); one summary line per build and round on stdout. Needs ../shared/bench
# set up (its setup.sh). Parley on core 1, the load generator on core 0, as run.sh does.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PARLEY="$(cd "$HERE/.." && pwd)"
BENCH="$(cd "${BENCH:-$PARLEY/../shared/bench}" && pwd)"  # BENCH=: the shared yardstick elsewhere (a worktree)
WORK=${WORK:-/tmp/parley-builds} ROUNDS=${ROUNDS:-2} WARMUP=${WARMUP:-20}
# shellcheck source=benchmarks/parley-bench-env
source "$HERE/parley-bench-env"
ulimit -n "$(ulimit -Hn)"
mkdir -p "$WORK"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 300); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return; sleep 0.1; done; }

prepare() {  # COMMIT -> $WORK/<sha>/{src,data,tokens.txt}
  local sha; sha=$(git -C "$PARLEY" rev-parse --short "$1"); local dir="$WORK/$sha"
  if [[ ! -s "$dir/tokens.txt" ]]; then
    rm -rf "$dir"; mkdir -p "$dir/data"
    git -C "$PARLEY" archive "$sha" src | tar -x -C "$dir"
    local port; port=$(free_port)
    env "${PARLEY_BENCH_ENV[@]}" "PARLEY_DATA_DIR=$dir/data" "PYTHONPATH=$dir/src" \
      "$PARLEY/.venv/bin/python" -m parley serve --host 127.0.0.1 --port "$port" >"$dir/setup.log" 2>&1 &
    local pid=$!; wait_port "$port"
    "$BENCH/.venv/bin/python" "$BENCH/parley_setup.py" "http://127.0.0.1:$port" 1010 "$dir/tokens.txt" >&2
    kill "$pid"; wait "$pid" 2>/dev/null || true
  fi
  echo "$dir"
}

run() {  # LABEL DIR SERVER-PID PORT -> loadgen result in $WORK/<label>.json
  taskset -c 0 "$BENCH/loadgen/build/loadgen" --mode fanout --proto sio --preset parley \
    --url "http://127.0.0.1:$4" --tokens "$2/tokens.txt" --server-pid "$3" --fixed-rate 5000 \
    --fixed-secs 10 --warmup-secs "$WARMUP" --label "$1" --out "$WORK/$1.json" 2>"$WORK/$1.log" || true
  python3 - "$WORK/$1.json" "$1" <<'PY'
import json, sys
try:
    j = json.load(open(sys.argv[1]))
except (OSError, ValueError) as exc:
    sys.exit(f"{sys.argv[2]}: no result ({exc})")
f, m = j["fixed"], j["maxSustained"]
print(f"{sys.argv[2]:24s} max {m['deliveredRate']:>7}/s | @5000/s server cpu {f['serverCpuPct']:5.1f}% "
      f"p50 {f['latencyMs']['p50']:.2f} p99 {f['latencyMs']['p99']:.2f} ms | other {f['hostOtherCpuPct']}% "
      f"steal {f['hostStealPct']}%")
PY
}

declare -a LABELS DIRS ENVS
for spec in "$@"; do
  label=${spec%%=*} rest=${spec#*=} commit=${rest%%:*} extra=""
  [[ "$rest" == *:* ]] && extra=${rest#*:}
  LABELS+=("$label"); DIRS+=("$(prepare "$commit")"); ENVS+=("${extra//,/ }")
done
for round in $(seq "$ROUNDS"); do
  port=$(free_port)
  PORT=$port taskset -c 1 node "$BENCH/servers/node-sio.js" >"$WORK/node-sio-$round.server.log" 2>&1 &
  pid=$!; wait_port "$port"; run "node-sio-$round" "${DIRS[0]}" "$pid" "$port"; kill "$pid"; wait "$pid" 2>/dev/null || true
  for i in "${!LABELS[@]}"; do
    port=$(free_port)
    # shellcheck disable=SC2086
    taskset -c 1 env "${PARLEY_BENCH_ENV[@]}" "PARLEY_DATA_DIR=${DIRS[$i]}/data" "PYTHONPATH=${DIRS[$i]}/src" \
      ${ENVS[$i]} "$PARLEY/.venv/bin/python" -m parley serve --host 127.0.0.1 --port "$port" \
      >"$WORK/${LABELS[$i]}-$round.server.log" 2>&1 &
    pid=$!; wait_port "$port"; run "${LABELS[$i]}-$round" "${DIRS[$i]}" "$pid" "$port"
    kill "$pid"; wait "$pid" 2>/dev/null || true
  done
done

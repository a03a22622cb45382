#!/usr/bin/env bash
# Where a Parley server's time goes under the fan-out workload at one fixed rate.
#
#   benchmarks/profile_fanout.sh                  # Socket.IO, 16 000 delivered/s for 20 s
#   PROTO=ws RATE=32000 SECS=15 benchmarks/profile_fanout.sh
#   MODE=conn benchmarks/profile_fanout.sh        # 5 000 connects instead (LEVELS=…)
#   MODE=conn CHECKOUT=/tmp/pb/old DATA=benchmarks/.data/old benchmarks/profile_fanout.sh
#
# CHECKOUT serves another build (its own .venv) with the same load; DATA is the server's data
# directory (default benchmarks/.data; compare.sh's databases are in .data/old and .data/new).
# Starts Parley (the bench settings, pinned to core 1), drives it with the shared load
# generator (core 0) at RATE delivered msgs/s, and samples it with py-spy meanwhile
# (`pip install py-spy` into .venv first). Writes a flame graph and py-spy's raw samples
# to $OUT (default /tmp/parley-profile-<time>), and prints the hottest functions.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PARLEY="$(cd "$HERE/.." && pwd)"
DATA="$(cd "${DATA:-$HERE/.data}" 2>/dev/null && pwd || echo "${DATA:-$HERE/.data}")"
BENCH="$(cd "${BENCH:-$PARLEY/../shared/bench}" && pwd)"  # BENCH=: the shared yardstick elsewhere (a worktree)
# shellcheck source=benchmarks/parley-bench-env
source "$HERE/parley-bench-env"
PROTO=${PROTO:-sio} RATE=${RATE:-16000} SECS=${SECS:-20} MODE=${MODE:-fanout}
OUT=${OUT:-/tmp/parley-profile-$(date +%H%M%S)}
mkdir -p "$OUT" "$BENCH_DATA_DIR"
tokens="$BENCH_DATA_DIR/tokens.txt"
[[ -s "$tokens" ]] || { echo "no $tokens: run benchmarks/fanout.sh once first" >&2; exit 1; }

ulimit -n "$(ulimit -Hn)"  # 10 000 connections need it on both sides
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cd "${CHECKOUT:-$PARLEY}"
env "${PARLEY_BENCH_ENV[@]}" "PARLEY_DATA_DIR=$DATA" taskset -c 1 .venv/bin/python -m parley serve --host 127.0.0.1 \
  --port "$port" >"$OUT/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done

url="http://127.0.0.1:$port"
[[ "$PROTO" == ws ]] && url="ws://127.0.0.1:$port/ws"
"$PARLEY/.venv/bin/py-spy" record --pid "$server" --gil --rate 250 --duration $((SECS + 8)) --format raw \
  --output "$OUT/samples.txt" >"$OUT/py-spy.log" 2>&1 &
spy=$!
if [[ "$MODE" == conn ]]; then
  load=(--mode conn --levels "${LEVELS:-5000}")
else
  load=(--mode fanout --fixed-rate "$RATE" --fixed-secs "$SECS" --max-steps 0)
fi
taskset -c 0 "$BENCH/loadgen/build/loadgen" "${load[@]}" --proto "$PROTO" --preset parley \
  --url "$url" --tokens "$tokens" --server-pid "$server" --out "$OUT/$MODE.json" 2>&1 |
  grep -E "fixed|warmup|level" || true
wait $spy || true
"$PARLEY/.venv/bin/python" "$HERE/hot_functions.py" "$OUT/samples.txt" | tee "$OUT/hot.txt"
echo "samples: $OUT/samples.txt"

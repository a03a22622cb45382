#!/usr/bin/env bash
# Parley beside Node socket.io on the shared yardstick (../shared/bench), same frames, same run.
#
#   benchmarks/fanout.sh                 # 3 interleaved rounds: node-sio, parley (Socket.IO), parley-ws
#   ROUNDS=1 SERVERS="parley" benchmarks/fanout.sh
#
# Needs ../shared/bench set up once (its ./setup.sh). Results: ../shared/bench/results/bench-*/
# (summary.md there); copy the figures into benchmarks/RESULTS.md.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PARLEY="$(cd "$HERE/.." && pwd)"
BENCH="$(cd "${BENCH:-$PARLEY/../shared/bench}" && pwd)"  # BENCH=: the shared yardstick elsewhere (a worktree)
# shellcheck source=benchmarks/parley-bench-env
source "$HERE/parley-bench-env"
mkdir -p "$BENCH_DATA_DIR"

serve="env ${PARLEY_BENCH_ENV[*]} $PARLEY/.venv/bin/python -m parley serve --host 127.0.0.1 --port {PORT}"
tokens="$BENCH_DATA_DIR/tokens.txt"
if [[ ! -s "$tokens" ]]; then
  # Register the bench users once, on a server of our own; later runs reuse users and tokens.
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  ${serve//\{PORT\}/$port} & pid=$!
  trap 'kill $pid 2>/dev/null || true' EXIT
  for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
  "$BENCH/.venv/bin/python" "$BENCH/parley_setup.py" "http://127.0.0.1:$port" 1010 "$tokens"
  kill $pid; wait $pid 2>/dev/null || true; trap - EXIT
fi

cd "$BENCH"
export PRESET=parley TOKENS="$tokens" SERVERS="${SERVERS:-node-sio parley parley-ws}" ROUNDS="${ROUNDS:-3}"
export CMD_parley="sio $serve" CMD_parley_ws="ws $serve"
export DIR_parley="$PARLEY" DIR_parley_ws="$PARLEY"
exec ./bench.sh

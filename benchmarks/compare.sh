#!/usr/bin/env bash
# Two Parley builds beside Node socket.io, interleaved in one run of the shared yardstick:
# what a change did to fan-out, latency, memory per connection and connect rate.
#
#   benchmarks/compare.sh /path/to/old-checkout            # old vs this checkout, Socket.IO
#   PROTO=ws ROUNDS=2 benchmarks/compare.sh ../old          # over plain WebSocket
#
# Each checkout needs its own .venv (scripts/bootstrap); ../shared/bench must be set up (its
# ./setup.sh) and writable, as for fanout.sh. Both builds serve the same bench users: they are
# registered on the old build, and the new one gets a copy of that database, which it migrates
# forward when it starts (so an old build never meets a schema newer than its own).
# Results: ../shared/bench/results/bench-*/summary.md.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
NEW="$(cd "$HERE/.." && pwd)"
OLD="$(cd "${1:?usage: compare.sh OLD_CHECKOUT}" && pwd)"
BENCH="$(cd "${BENCH:-$NEW/../shared/bench}" && pwd)"  # BENCH=: the shared yardstick elsewhere (a worktree)
# shellcheck source=benchmarks/parley-bench-env
source "$HERE/parley-bench-env"
mkdir -p "$BENCH_DATA_DIR"
PROTO="${PROTO:-sio}"

# serve CHECKOUT DATA_DIR: the command line, with {PORT} for bench.sh to fill in.
serve() { echo "env ${PARLEY_BENCH_ENV[*]} PARLEY_DATA_DIR=$2 $1/.venv/bin/python -m parley serve --host 127.0.0.1 --port {PORT}"; }
OLD_DATA="$BENCH_DATA_DIR/old" NEW_DATA="$BENCH_DATA_DIR/new"
tokens="$BENCH_DATA_DIR/tokens.txt"
if [[ ! -s "$tokens" ]]; then
  rm -rf "$OLD_DATA" "$NEW_DATA"; mkdir -p "$OLD_DATA" "$NEW_DATA"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  cmd="$(serve "$OLD" "$OLD_DATA")"; ${cmd//\{PORT\}/$port} & pid=$!
  trap 'kill $pid 2>/dev/null || true' EXIT
  for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
  "$BENCH/.venv/bin/python" "$BENCH/parley_setup.py" "http://127.0.0.1:$port" 1010 "$tokens"
  kill $pid; wait $pid 2>/dev/null || true; trap - EXIT
  cp "$OLD_DATA"/parley.db* "$NEW_DATA"/
fi

cd "$BENCH"
export PRESET=parley TOKENS="$tokens" ROUNDS="${ROUNDS:-1}"
export SERVERS="${SERVERS:-node-sio parley-old parley-new}"
[[ "$PROTO" == ws ]] && SERVERS="${SERVERS/node-sio/node-ws}"
export CMD_parley_old="$PROTO $(serve "$OLD" "$OLD_DATA")" CMD_parley_new="$PROTO $(serve "$NEW" "$NEW_DATA")"
export DIR_parley_old="$OLD" DIR_parley_new="$NEW"
exec ./bench.sh

#!/usr/bin/env bash
# Game action relay latency on the shared yardstick (../shared/bench): 100 players in 25 rooms
# of 4, 60 actions/s each = 6 000 actions/s in, 18 000 relayed actions/s out, on `/gameplay`.
# Node socket.io relays the same shape of traffic (chat frames on `/`) in the same run.
#
#   benchmarks/gameplay.sh            # node-sio, then Parley (Socket.IO /gameplay)
#   SERVERS=parley benchmarks/gameplay.sh
#
# The load generator's model is publishers and receivers: each room gets 1 publishing
# connection (sending the room's 4 x 60 = 240 actions/s) and 3 receiving ones, which gives the
# server exactly the work of 4 players acting at 60/s each and hearing the other three. The
# per-player rate limit is raised for the run accordingly (one connection acts for four).
# After the fixed 18 000/s step the load generator ramps up to find the highest relay rate.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PARLEY="$(cd "$HERE/.." && pwd)"
BENCH="$(cd "${BENCH:-$PARLEY/../shared/bench}" && pwd)"  # BENCH=: the shared yardstick elsewhere (a worktree)
# shellcheck source=benchmarks/parley-bench-env
source "$HERE/parley-bench-env"
mkdir -p "$BENCH_DATA_DIR"
ROOMS=25 RECEIVERS=75
OUT="$BENCH/results/game-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$OUT"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; return 1; }

tokens="$BENCH_DATA_DIR/tokens.txt"
if [[ ! -s "$tokens" ]]; then
  echo "no bench tokens yet: run benchmarks/fanout.sh once (it registers the bench users)" >&2
  exit 1
fi

export CLIENTS=$RECEIVERS ROOMS=$ROOMS PUBLISHERS=$ROOMS FIXED_RATE=18000 FIXED_SECS=10
export START_RATE=3000 STEP_SECS=5

run_parley() {
  local port pid ids
  port=$(free_port)
  env "${PARLEY_BENCH_ENV[@]}" ${EXTRA_ENV:-} GAME_ACTIONS_PER_SEC=1000 GAME_SEAT_GRACE_SECS=3600 \
    taskset -c 1 "$PARLEY/.venv/bin/python" -m parley serve --host 127.0.0.1 --port "$port" &
  pid=$!
  wait_port "$port"
  ids=$("$PARLEY/.venv/bin/python" "$HERE/gameplay_rooms.py" "http://127.0.0.1:$port" "$tokens" "$ROOMS" "$RECEIVERS")
  (
    cd "$BENCH"
    JOIN_FRAME='42/gameplay,["join_room",{"room_id":"{room}"}]' \
    SEND_FRAME='42/gameplay,["player_action",{"room_id":"{room}","action_type":"move","coordinates":{"x":1,"y":2},"game_state":{"note":"{content}"}}]' \
    EVENTS=player_action \
    FANOUT_ARGS="--room-ids $ids --auth /gameplay,{\"token\":\"{token}\"}" \
      ./run.sh -n parley-gameplay -p sio -w parley -T "$tokens" -u "http://127.0.0.1:$port" \
        -s "$pid" -t fanout -o "$OUT/parley-gameplay"
  ) || echo "parley run had failures" >&2
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

run_node() {
  local port pid
  port=$(free_port)
  (cd "$BENCH" && PORT=$port exec taskset -c 1 node servers/node-sio.js) &
  pid=$!
  wait_port "$port"
  (
    cd "$BENCH"
    ./run.sh -n node-sio-relay -p sio -w parley -T "$tokens" -u "http://127.0.0.1:$port" \
      -s "$pid" -t fanout -o "$OUT/node-sio-relay"
  ) || echo "node run had failures" >&2
  kill "$pid"; wait "$pid" 2>/dev/null || true
}

for server in ${SERVERS:-node parley}; do
  "run_$server"
done
python3 "$BENCH/summarize.py" "$OUT" > "$OUT/summary.md" || true
cat "$OUT/summary.md"
echo "results in $OUT" >&2

#!/usr/bin/env bash
# Sends acknowledged after commit to PostgreSQL, on one Parley instance (issue 4's yardstick).
#
#   benchmarks/sends_pg.sh                    # Socket.IO; PROTO=ws for plain WebSocket
#
# 50 publishing connections in 10 rooms with 1 receiver each (CLIENTS=10 ROOMS=10
# PUBLISHERS=50), so the load generator's delivered rate is the rate of stored sends. Parley
# is pinned to core 1 and uses the PostgreSQL on 127.0.0.1:5432 (database parley_bench,
# made here once); the load generator runs on core 0. Results: ../shared/bench/results/.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PARLEY="$(cd "$HERE/.." && pwd)"
BENCH="$(cd "${BENCH:-$PARLEY/../shared/bench}" && pwd)"  # BENCH=: the shared yardstick elsewhere (a worktree)
# shellcheck source=benchmarks/parley-bench-env
source "$HERE/parley-bench-env"
PROTO=${PROTO:-sio}
DB=${BENCH_PG_DATABASE:-parley_bench}
DATABASE_URL="postgresql://postgres@127.0.0.1:5432/$DB"
psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='$DB'" | grep -q 1 ||
  psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $DB"
data="$BENCH_DATA_DIR/pg"
mkdir -p "$data"
env "${PARLEY_BENCH_ENV[@]}" PARLEY_DATA_DIR="$data" DATABASE_URL="$DATABASE_URL" \
  "$PARLEY/.venv/bin/python" -m parley migrate >/dev/null
serve="env ${PARLEY_BENCH_ENV[*]} PARLEY_DATA_DIR=$data DATABASE_URL=$DATABASE_URL"
serve+=" $PARLEY/.venv/bin/python -m parley serve --host 127.0.0.1 --port {PORT}"
tokens="$data/tokens.txt"
if [[ ! -s "$tokens" ]]; then
  setup="$BENCH/.venv/bin/python $BENCH/parley_setup.py {BASE_URL} 1010 $tokens"
else
  setup=true
fi
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
url="-P $port"
[[ "$PROTO" == ws ]] && url+=" -u ws://127.0.0.1:$port/ws"
cd "$BENCH"
# shellcheck disable=SC2086
CLIENTS=10 ROOMS=10 PUBLISHERS=50 SERVER_DIR="$PARLEY" ./run.sh -n "parley-pg-sends-$PROTO" \
  -p "$PROTO" -w parley -T "$tokens" -S "$setup" -t fanout $url -- $serve

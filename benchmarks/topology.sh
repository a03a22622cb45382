#!/usr/bin/env bash
# The production topology of issue #15: two Parley instances on PostgreSQL + Redis behind nginx,
# against two Node socket.io 4.8 processes with @socket.io/redis-adapter behind the same nginx
# (benchmarks/anchors/node-sio-redis.js), on the shared load generator, interleaved.
#
#   benchmarks/topology.sh                          # fan-out, 2 rounds: parley, node, parley, node
#   MODE=sends benchmarks/topology.sh               # sends acknowledged after commit
#   ROUNDS=1 MAX_RATE=8000 WARMUP=10 benchmarks/topology.sh     # a short smoke run
#
# What it measures
#   MODE=fanout (default): the load generator's fan-out test with the flags benchmarks/builds.sh
#     uses (`--mode fanout --proto sio --preset parley`, 1 000 receivers in 10 rooms of 100,
#     10 publishers, a WARMUP-second warm-up so the 1 010 joins finish, 10 s at a fixed
#     5 000 delivered/s, then the ramp), through nginx's port. nginx round-robins the
#     connections, so every room has members on both instances and every message crosses Redis.
#   MODE=sends: benchmarks/sends_pg.sh's shape through the same topology: 50 publishing
#     connections in 10 rooms, one receiver per room (--clients 10 --rooms 10 --publishers 50), so
#     the delivered rate is the rate of sends. Parley delivers a message only after its commit to
#     PostgreSQL (group commit), so for Parley "max delivered/s" = sends acknowledged after commit
#     per second (the load generator's sends carry no ack id: Parley answers the sender with the
#     stored message instead, counted as an echo). Node stores nothing; its figure is the same
#     workload's ceiling without storage.
#   One line per run: max delivered/s (highest passing step: p99 <= 100 ms, nothing lost), the
#   CPU of BOTH server processes summed over the fixed 5 000/s step ("srv cpu", % of one core),
#   p50/p99 at 5 000/s, and "other": the host's remaining busy CPU over that step, which here is
#   nginx + Redis + PostgreSQL + anything else on the machine. Then a ratio line per round.
#   How the two-instance CPU is measured: both instances (or both Node processes) are children
#   of one supervising subshell, and that subshell's pid is the load generator's --server-pid;
#   the load generator sums utime+stime over the whole process tree from /proc/<pid>/stat at the
#   start and end of each step, so the figure is the two instances' CPU over exactly that step.
#
# Topology and CPU placement (a 2-core machine holds everything)
#   - load generator: core 0 (LOADGEN_CPU); nothing else this script starts runs there.
#   - both servers and nginx (1 worker): core 1 (SERVER_CPUS; empty = not pinned, the kernel
#     spreads them over both cores, including the load generator's).
#   - Redis and PostgreSQL: the machine's shared services (127.0.0.1:6379, :5432), not pinned
#     by this script (other users share them); their CPU shows in "other".
#   - nginx: round-robin, WebSocket upgrade headers, X-Forwarded-For = the peer. No stickiness:
#     the load generator uses the websocket transport only (no Engine.IO long-polling), so each
#     connection's requests never need to reach the same instance twice. deploy/nginx.conf's
#     consistent hash is for browsers that start on long-polling.
#   - Parley: `python -m parley serve` with benchmarks/parley-bench-env plus DATABASE_URL (a
#     throwaway database PG_DB, dropped and created at the start of each invocation, migrated
#     once), REDIS_URL with a REDIS_PREFIX of this invocation's own (broker, presence, rate
#     counts across instances) and FORWARDED_ALLOW_IPS=127.0.0.1 (trust nginx). 1 010 bench
#     users are registered through nginx once per invocation (../shared/bench/parley_setup.py);
#     the database is kept across rounds, so later rounds start with the earlier rounds' messages.
#   - Node: REDIS_KEY (the adapter's channel prefix) of this invocation's own; Redis pub/sub
#     channels are shared by every database number, so a prefix, not a db number, separates runs.
#   Every server and nginx is a fresh process per run. Everything started is stopped on exit,
#   the Redis keys under the prefix are deleted and the database dropped (KEEP_DB=1 keeps it).
#
# Knobs (environment, defaults)
#   MODE=fanout|sends  ROUNDS=2  SERVERS="parley node" (order within a round)
#   INSTANCES=2 (servers of each kind behind nginx; 1 = the same path with one instance, to see
#   what the second instance and the cross-instance traffic cost)
#   WARMUP=20 (fanout) / 5 (sends)  FIXED_RATE=5000  FIXED_SECS=10  STEP_SECS=5
#   MAX_RATE= (the ramp's cap, --max-rate; empty = none)  P99_LIMIT=100
#   LOADGEN_CPU=0  SERVER_CPUS=1  PG_DB=parley_topology  PG_URL=postgresql://postgres@127.0.0.1:5432
#   REDIS_URL=redis://127.0.0.1:6379/0  PARLEY_EXTRA="NAME=VALUE ..." (more settings for both
#   Parley instances, e.g. "DATABASE_POOL_SIZE=20"; WRITE_BEHIND=true would acknowledge before
#   the commit, so MODE=sends would no longer measure sends acknowledged after commit)  KEEP_DB=
#   BENCH=../shared/bench (beside the checkout, or the main checkout's for a worktree)
#   WORK=/tmp/parley-topology (results: $WORK/<mode>-<utc time>/: meta.txt, <label>.json, .log,
#   the servers' and nginx's logs, summary.txt)
# Needs: ../shared/bench set up (its setup.sh), nginx (apt-get install -y nginx-light), npm
# (the anchor's dependencies are installed here with `npm ci` into benchmarks/anchors/node_modules),
# PostgreSQL and Redis on loopback.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PARLEY="$(cd "$HERE/.." && pwd)"
# ../shared/bench beside the checkout, or beside the main checkout when this is a git worktree
BENCH=${BENCH:-$PARLEY/../shared/bench}
[[ -d "$BENCH" ]] || BENCH="$(git -C "$PARLEY" rev-parse --path-format=absolute --git-common-dir)/../../shared/bench"
BENCH="$(cd "$BENCH" && pwd)"
# shellcheck source=benchmarks/parley-bench-env
source "$HERE/parley-bench-env"

MODE=${MODE:-fanout} ROUNDS=${ROUNDS:-2} SERVERS=${SERVERS:-parley node} INSTANCES=${INSTANCES:-2}
FIXED_RATE=${FIXED_RATE:-5000} FIXED_SECS=${FIXED_SECS:-10} STEP_SECS=${STEP_SECS:-5}
MAX_RATE=${MAX_RATE:-} P99_LIMIT=${P99_LIMIT:-100}
LOADGEN_CPU=${LOADGEN_CPU-0} SERVER_CPUS=${SERVER_CPUS-1}
PG_DB=${PG_DB:-parley_topology} PG_URL=${PG_URL:-postgresql://postgres@127.0.0.1:5432}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/0} PARLEY_EXTRA=${PARLEY_EXTRA:-} KEEP_DB=${KEEP_DB:-}
WORK=${WORK:-/tmp/parley-topology}
case "$MODE" in
  fanout) WARMUP=${WARMUP:-20}; SHAPE=() ;;
  sends) WARMUP=${WARMUP:-5}; SHAPE=(--clients 10 --rooms 10 --publishers 50) ;;
  *) echo "topology.sh: MODE must be fanout or sends" >&2; exit 2 ;;
esac
NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
LOADGEN="$BENCH/loadgen/build/loadgen"
if [[ ! -x "$NGINX" ]]; then  # installed from the package registry when missing
  apt-get install -y -q nginx-light >&2 ||
    { echo "topology.sh: no nginx, and apt-get install nginx-light failed" >&2; exit 2; }
  NGINX=$(command -v nginx || echo /usr/sbin/nginx)
fi
[[ -x "$LOADGEN" ]] || { echo "topology.sh: no load generator (run $BENCH/setup.sh)" >&2; exit 2; }

STAMP=$(date -u +%Y%m%dT%H%M%SZ)
OUT="$WORK/$MODE-$STAMP"
PREFIX="parley-topology-$STAMP:"   # Parley's REDIS_PREFIX
NODE_KEY="sio-topology-$STAMP"     # the Redis adapter's channel prefix
DATABASE_URL="$PG_URL/$PG_DB"
TOKENS="$OUT/tokens.txt"
mkdir -p "$OUT"
ulimit -n "$(ulimit -Hn)"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {  # PORT [SECONDS]
  local _
  for _ in $(seq $((${2:-60} * 10))); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done
  echo "topology.sh: nothing listens on port $1" >&2; return 1
}
psql_() { psql "$PG_URL/postgres" -v ON_ERROR_STOP=1 -qtAc "$1"; }

# ---------------------------------------------------------------- processes we started
GROUP="" NGINX_PID=""
stop_pid() { if [[ -n "$1" ]]; then kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; fi; }
stop_all() { stop_pid "$NGINX_PID"; NGINX_PID=""; stop_pid "$GROUP"; GROUP=""; }
cleanup() {
  stop_all
  redis-cli -u "$REDIS_URL" --scan --pattern "$PREFIX*" 2>/dev/null |
    xargs -r -n 500 redis-cli -u "$REDIS_URL" del >/dev/null 2>&1 || true
  [[ -n "$KEEP_DB" ]] || psql_ "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

serve_parley() {  # NAME PORT (exec: the process becomes the server)
  mkdir -p "$OUT/data-$1"
  # shellcheck disable=SC2086
  exec env "${PARLEY_BENCH_ENV[@]}" "PARLEY_DATA_DIR=$OUT/data-$1" "DATABASE_URL=$DATABASE_URL" \
    "REDIS_URL=$REDIS_URL" "REDIS_PREFIX=$PREFIX" "FORWARDED_ALLOW_IPS=127.0.0.1" $PARLEY_EXTRA \
    ${SERVER_CPUS:+taskset -c "$SERVER_CPUS"} "$PARLEY/.venv/bin/python" -m parley serve \
    --host 127.0.0.1 --port "$2" >"$OUT/$RUN-$1.server.log" 2>&1
}
serve_node() {  # NAME PORT
  exec env "PORT=$2" "HOST=127.0.0.1" "REDIS_URL=$REDIS_URL" "REDIS_KEY=$NODE_KEY" \
    ${SERVER_CPUS:+taskset -c "$SERVER_CPUS"} node "$HERE/anchors/node-sio-redis.js" \
    >"$OUT/$RUN-$1.server.log" 2>&1
}

start_pair() {  # KIND: $INSTANCES servers under one supervising subshell ($GROUP), nginx in front
  local kind=$1 port i p
  local -a ports=()
  for i in $(seq "$INSTANCES"); do ports+=("$(free_port)"); done
  port=$(free_port)
  (
    kids=()
    trap 'kill "${kids[@]}" 2>/dev/null; wait' TERM
    for i in "${!ports[@]}"; do
      "serve_$kind" "i$((i + 1))" "${ports[$i]}" &
      kids+=($!)
    done
    wait
  ) &
  GROUP=$!
  for p in "${ports[@]}"; do wait_port "$p"; done
  local dir="$OUT/nginx-$RUN"
  mkdir -p "$dir"
  nginx_conf "$port" "$dir" "${ports[@]}" >"$dir/nginx.conf"
  "$NGINX" -t -q -c "$dir/nginx.conf" -g 'daemon off;'
  # a simple command in the background: $! is nginx's master itself (TERM stops it and its worker)
  ${SERVER_CPUS:+taskset -c "$SERVER_CPUS"} "$NGINX" -c "$dir/nginx.conf" -g 'daemon off;' \
    >"$dir/stdout.log" 2>&1 &
  NGINX_PID=$!
  wait_port "$port" 10
  URL="http://127.0.0.1:$port"
}

nginx_conf() {  # LISTEN-PORT DIR UPSTREAM-PORT...
  local listen=$1 dir=$2 p
  shift 2
  [[ $(id -u) == 0 ]] && echo "user root;"
  cat <<EOF
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 16384; }
http {
    access_log off;
    client_body_temp_path $dir/client_body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
    map \$http_upgrade \$connection_upgrade {
        default upgrade;
        ''      close;
    }
    # Round-robin (nginx's default): websocket transport only, so no stickiness is needed.
    upstream backend {
EOF
  for p in "$@"; do echo "        server 127.0.0.1:$p;"; done
  cat <<EOF
    }
    server {
        listen 127.0.0.1:$listen;
        client_max_body_size 2m;
        location / {
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Upgrade \$http_upgrade;
            proxy_set_header Connection \$connection_upgrade;
            proxy_set_header Host \$http_host;
            proxy_set_header X-Forwarded-For \$remote_addr;
            proxy_set_header X-Forwarded-Proto \$scheme;
            proxy_read_timeout 75s;
            proxy_buffering off;
        }
    }
}
EOF
}

loadgen_run() {  # LABEL -> $OUT/LABEL.json, one summary line on stdout
  local label=$1
  ${LOADGEN_CPU:+taskset -c "$LOADGEN_CPU"} "$LOADGEN" --mode fanout --proto sio --preset parley \
    --url "$URL" --tokens "$TOKENS" --server-pid "$GROUP" "${SHAPE[@]}" \
    --fixed-rate "$FIXED_RATE" --fixed-secs "$FIXED_SECS" --warmup-secs "$WARMUP" \
    --step-secs "$STEP_SECS" --p99-limit "$P99_LIMIT" ${MAX_RATE:+--max-rate "$MAX_RATE"} \
    --label "$label" --out "$OUT/$label.json" 2>"$OUT/$label.log" || true
  python3 - "$OUT/$label.json" "$label" "$MODE" <<'PY' | tee -a "$OUT/summary.txt"
import json, sys
path, label, mode = sys.argv[1:]
try:
    j = json.load(open(path))
except (OSError, ValueError) as exc:
    sys.exit(f"{label}: no result ({exc})")
f, m = j.get("fixed") or {}, j.get("maxSustained") or {"deliveredRate": 0}
what = "acked sends" if mode == "sends" and label.startswith("parley") else "max delivered"
lat = f.get("latencyMs") or {}
nan = float("nan")
# no failing step and a ramp cap: the figure is the cap, not the ceiling
cap = " (the MAX_RATE cap)" if j.get("firstFailTarget") is None and j["options"]["maxRate"] < 5e6 else ""
print(f"{label:10s} {what} {m['deliveredRate']:>7}/s{cap} | @{f.get('targetDelivered', '?')}/s "
      f"srv cpu (both) {f.get('serverCpuPct') or nan:5.1f}% p50 {lat.get('p50', nan):.2f} "
      f"p99 {lat.get('p99', nan):.2f} ms | other (nginx+redis+pg+rest) "
      f"{f.get('hostOtherCpuPct')}% steal {f.get('hostStealPct')}% | "
      f"allDelivered {j.get('contract', {}).get('allDelivered')} loadgenLimited {j.get('loadgenLimited')}")
PY
}

ratio() {  # ROUND: Parley / node for the round's two runs
  python3 - "$OUT/parley-$1.json" "$OUT/node-$1.json" "$1" <<'PY' | tee -a "$OUT/summary.txt"
import json, sys
try:
    p, n = (json.load(open(x)) for x in sys.argv[1:3])
except (OSError, ValueError):
    sys.exit(0)
def get(j, part, key):
    return (j.get(part) or {}).get(key) or 0
pm, nm = get(p, "maxSustained", "deliveredRate"), get(n, "maxSustained", "deliveredRate")
pc, nc = get(p, "fixed", "serverCpuPct"), get(n, "fixed", "serverCpuPct")
print(f"round {sys.argv[3]}: parley/node throughput {pm / nm if nm else float('nan'):.2f}x, "
      f"cpu at the fixed step {pc / nc if nc else float('nan'):.2f}x")
PY
}

# ---------------------------------------------------------------- set-up
{
  echo "mode=$MODE rounds=$ROUNDS servers=$SERVERS instances=$INSTANCES warmup=$WARMUP fixed=$FIXED_RATE/${FIXED_SECS}s"
  echo "step=${STEP_SECS}s max_rate=${MAX_RATE:-none} loadgen_cpu=${LOADGEN_CPU:-none} server_cpus=${SERVER_CPUS:-none}"
  echo "date=$(date -u +%FT%TZ) commit=$(git -C "$PARLEY" rev-parse --short HEAD)$([[ -z "$(git -C "$PARLEY" status --porcelain -- src benchmarks)" ]] || echo +dirty)"
  echo "cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | xargs) x$(nproc) mem=$(free -g | awk '/Mem:/{print $2}')GiB load=$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "node=$(node --version) nginx=$("$NGINX" -v 2>&1 | cut -d/ -f2) redis=$(redis-cli -u "$REDIS_URL" info server | tr -d '\r' | awk -F: '/^redis_version/{print $2}') postgres=$(psql_ 'SHOW server_version')"
  echo "database=$DATABASE_URL redis=$REDIS_URL parley_prefix=$PREFIX node_key=$NODE_KEY parley_extra=$PARLEY_EXTRA"
} | tee "$OUT/meta.txt"
if [[ " $SERVERS " == *" node "* ]]; then
  (cd "$HERE/anchors" && npm ci --silent --no-audit --no-fund)
fi
psql_ "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)"
psql_ "CREATE DATABASE $PG_DB"
mkdir -p "$OUT/data-migrate"
env "${PARLEY_BENCH_ENV[@]}" "PARLEY_DATA_DIR=$OUT/data-migrate" "DATABASE_URL=$DATABASE_URL" \
  "$PARLEY/.venv/bin/python" -m parley migrate >"$OUT/migrate.log" 2>&1
# 1 010 bench users, registered through nginx (the Node processes take any token: the same file).
RUN=setup
start_pair parley
"$BENCH/.venv/bin/python" "$BENCH/parley_setup.py" "$URL" 1010 "$TOKENS" >"$OUT/setup.log" 2>&1 ||
  { cat "$OUT/setup.log" >&2; exit 1; }
stop_all

# ---------------------------------------------------------------- the runs, interleaved
for round in $(seq "$ROUNDS"); do
  for kind in $SERVERS; do
    RUN="$kind-$round"
    start_pair "$kind"
    loadgen_run "$RUN"
    stop_all
  done
  [[ " $SERVERS " == *" parley "* && " $SERVERS " == *" node "* ]] && ratio "$round"
done
echo "results: $OUT"

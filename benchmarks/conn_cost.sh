#!/usr/bin/env bash
# What a connect costs the server, in CPU: two Parley builds, interleaved, idle connections only.
#
#   benchmarks/conn_cost.sh /path/to/old-checkout          # 3 rounds of old, new, old, new, ...
#   ROUNDS=5 LEVELS=10000 PROTO=ws benchmarks/conn_cost.sh ../old
#
# Connect rate on this shared 2-core machine moves with the neighbours; the server's own CPU
# time per connect much less. Each round starts a fresh server per build (the bench settings,
# pinned to core 1, the databases compare.sh made: run compare.sh once first), reads its
# utime+stime from /proc before and after the shared load generator's `--mode conn` (core 0),
# and prints CPU-ms per connect (the whole conn phase up to the last level's figures: the
# connects and the 3 s settles after each level, idle pings included; the closes after it are
# counted apart, per close, over 3 s after the generator exits), RSS per connection and the connect rate from the
# generator, and what the rest of the host used meanwhile (other tenants, % of a core).
# Results: one line per run on stdout, JSON per run in $OUT (default /tmp/parley-conn-cost-*).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
NEW="$(cd "$HERE/.." && pwd)"
OLD="$(cd "${1:?usage: conn_cost.sh OLD_CHECKOUT}" && pwd)"
BENCH="$(cd "${BENCH:-$NEW/../shared/bench}" && pwd)"  # BENCH=: the shared yardstick elsewhere (a worktree)
# shellcheck source=benchmarks/parley-bench-env
source "$HERE/parley-bench-env"
PROTO=${PROTO:-sio} ROUNDS=${ROUNDS:-3} LEVELS=${LEVELS:-1000,5000,10000}
OUT=${OUT:-/tmp/parley-conn-cost-$(date -u +%Y%m%dT%H%M%SZ)}
tokens="$BENCH_DATA_DIR/tokens.txt"
[[ -s "$tokens" ]] || { echo "no $tokens: run benchmarks/compare.sh once first" >&2; exit 1; }
mkdir -p "$OUT"
ulimit -n "$(ulimit -Hn)"
TCK=$(getconf CLK_TCK)

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }  # utime + stime of the server
children_ticks() { awk '{print $16 + $17}' "/proc/$BASHPID/stat"; }  # waited-for children's
host_busy() { awk '/^cpu /{print $2 + $3 + $4 + $7 + $8 + $9; exit}' /proc/stat; }  # all cores

one() { # NAME CHECKOUT DATA ROUND
  local name=$1 checkout=$2 data=$3 round=$4 port server url c0 c1 c2 h0 h1 t0 t1 lg0 lg1
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  (cd "$checkout" && exec env "${PARLEY_BENCH_ENV[@]}" "PARLEY_DATA_DIR=$data" taskset -c 1 \
    .venv/bin/python -m parley serve --host 127.0.0.1 --port "$port") \
    >"$OUT/server-$name-r$round.log" 2>&1 &
  server=$!
  for _ in $(seq 300); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
  sleep 0.5
  url="http://127.0.0.1:$port"
  [[ "$PROTO" == ws ]] && url="ws://127.0.0.1:$port/ws"
  c0=$(cpu_ticks "$server") h0=$(host_busy) t0=$(date +%s.%N) lg0=$(children_ticks)
  taskset -c 0 "$BENCH/loadgen/build/loadgen" --mode conn --levels "$LEVELS" --proto "$PROTO" \
    --preset parley --url "$url" --tokens "$tokens" --server-pid "$server" --label "$name" \
    --out "$OUT/conn-$name-r$round.json" 2>"$OUT/conn-$name-r$round.log" &
  local lg=$! want
  want=$(tr ',' '\n' <<<"$LEVELS" | grep -c .)
  # the last level's line: every connect done and settled, none closed yet
  while kill -0 $lg 2>/dev/null &&
    (($(grep -c '^\[conn\] level' "$OUT/conn-$name-r$round.log") < want)); do sleep 0.05; done
  c1=$(cpu_ticks "$server") h1=$(host_busy) t1=$(date +%s.%N)
  wait $lg || true
  lg1=$(children_ticks)  # the generator's CPU, its closes included (a small overcount)
  sleep 3  # the server handles the closes
  c2=$(cpu_ticks "$server")
  kill "$server"; wait "$server" 2>/dev/null || true
  python3 - "$OUT/conn-$name-r$round.json" "$name" "$round" "$c0" "$c1" "$h0" "$h1" "$t0" "$t1" "$TCK" \
    "$((lg1 - lg0))" "$c2" <<'EOF'
import json, sys
path, name, rnd, c0, c1, h0, h1, t0, t1, tck, loadgen_ticks, c2 = sys.argv[1:]
run = json.load(open(path))
levels = run["levels"]
opened = sum(level["opened"] for level in levels)
server_s = (int(c1) - int(c0)) / int(tck)
wall = float(t1) - float(t0)
host_s = (int(h1) - int(h0)) / int(tck)
rss = {level["level"]: level["serverRssPerConnBytes"] / 1024 for level in levels}
rate = opened / sum(level["connectSecs"] for level in levels)
# the host's busy time less the server's and the load generator's (and the date/awk calls)
loadgen_s = int(loadgen_ticks) / int(tck)
other = max(0.0, host_s - server_s - loadgen_s) / wall * 100
line = {
    "name": name, "round": int(rnd), "opened": opened,
    "cpuMsPerConnect": round(server_s * 1000 / opened, 3),
    "cpuMsPerClose": round((int(c2) - int(c1)) / int(tck) * 1000 / opened, 3),
    "connectRate": round(rate), "rssKiBPerConn": {k: round(v, 1) for k, v in rss.items()},
    "otherTenantsPctOfCore": round(other), "wallSecs": round(wall, 1),
}
run["cost"] = line
json.dump(run, open(path, "w"))
rss_text = " / ".join(f"{v:.1f}" for v in rss.values())
print(f"{name:12} r{rnd}  {line['cpuMsPerConnect']:.3f} CPU-ms/connect"
      f" ({line['cpuMsPerClose']:.3f} per close)  {rate:6.0f} connects/s"
      f"  RSS/conn {rss_text} KiB  other tenants ~{other:.0f}% of a core  ({opened} connects)",
      flush=True)
EOF
}

echo "conn cost: PROTO=$PROTO LEVELS=$LEVELS ROUNDS=$ROUNDS; $(uptime)" | tee "$OUT/summary.txt"
for r in $(seq "$ROUNDS"); do
  one parley-old "$OLD" "$BENCH_DATA_DIR/old" "$r" | tee -a "$OUT/summary.txt"
  one parley-new "$NEW" "$BENCH_DATA_DIR/new" "$r" | tee -a "$OUT/summary.txt"
done
echo "$(uptime)" | tee -a "$OUT/summary.txt"
echo "results in $OUT" >&2

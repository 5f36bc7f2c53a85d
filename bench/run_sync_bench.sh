#!/usr/bin/env bash
# Coordinator Sync throughput (docs/benchmarks.md, "Coordinator Sync throughput").
#
# Measures the coordinator's Syncs/s against the bare echo peer (anteroom-echo-server: same
# service, same message sizes, same server threading, no storage) in the same run and layout,
# alternating echo / coordinator runs, and prints each pair's ratio and the median ratio.
#
# Usage: bench/run_sync_bench.sh BUILD_DIR
#
# Environment (defaults in brackets):
#   DURATION [10s] measured window per run    WARMUP [2s]   load before the window
#   PAIRS [3]      echo/coordinator pairs     INFLIGHT [64] closed-loop calls in flight
#   AGENTS [100]   simulated agents           CHANNELS [2]  gRPC channels (client threads)
#   RATE [2000]    open-loop Syncs/s          MANY_ROOMS [100] rooms per agent in the wide run
#   PIN [1]        server on core 1, client on core 0 (taskset); 0 = let the kernel place them
#   ECHO_ETA_ENTRIES [10] ETA entries per room in the echo's replies (to match reply sizes)
#   IDLE_WAIT [180] seconds to wait for other CPU load to drop below 20 % before each run
#   OUT_DIR        where logs and results go [BUILD_DIR/sync-bench-<time>]
#
# Without BUILD_DIR/coordinator/anteroom-coordinator it runs the echo alone and says so.
# Everything listens on 127.0.0.1; every process started here is stopped on exit.
set -euo pipefail

build=${1:?usage: run_sync_bench.sh BUILD_DIR}
build=$(cd "$build" && pwd)
bench=$build/bench/anteroom-sync-bench
echo_bin=$build/bench/anteroom-echo-server
coord_bin=$build/coordinator/anteroom-coordinator

DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
PAIRS=${PAIRS:-3}
INFLIGHT=${INFLIGHT:-64}
AGENTS=${AGENTS:-100}
CHANNELS=${CHANNELS:-2}
RATE=${RATE:-2000}
MANY_ROOMS=${MANY_ROOMS:-100}
PIN=${PIN:-1}
ECHO_ETA_ENTRIES=${ECHO_ETA_ENTRIES:-10}
IDLE_WAIT=${IDLE_WAIT:-180}
OUT_DIR=${OUT_DIR:-$build/sync-bench-$(date -u +%Y%m%dT%H%M%SZ)}

for bin in "$bench" "$echo_bin"; do
  if [[ ! -x $bin ]]; then
    echo "missing $bin (build targets anteroom-sync-bench anteroom-echo-server)" >&2
    exit 2
  fi
done
have_coord=0
[[ -x $coord_bin ]] && have_coord=1

mkdir -p "$OUT_DIR"
results=$OUT_DIR/results.txt
: >"$results"
token=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
# The rooms' limits are high enough that budget keeps flowing for the whole run: with 1M
# active users and 1M/min, the 1-room runs would fill the room within about a minute and the
# later runs would then do less work per Sync than the earlier ones.
room_limits=(--total-active-users=1000000000 --new-users-per-minute=1000000000)

server_pin=()
client_pin=()
if [[ $PIN == 1 && $(nproc) -ge 2 ]]; then
  server_pin=(taskset -c 1)
  client_pin=(taskset -c 0)
fi

pids=()
data_dirs=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do stop_pid "$pid"; done
  for d in "${data_dirs[@]}"; do rm -rf "$d"; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# stop_pid PID: SIGTERM, up to 5 s to exit, then SIGKILL.
stop_pid() {
  local pid=$1
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# start_server PORTS_FILE KEYS LOG CMD...: starts CMD (pinned), waits up to 20 s until
# PORTS_FILE has every key in KEYS ("grpc admin"); sets $server_pid.
start_server() {
  local ports=$1 keys=$2 log=$3
  shift 3
  rm -f "$ports"
  "${server_pin[@]}" "$@" >"$log" 2>&1 &
  server_pid=$!
  pids+=("$server_pid")
  local key ready
  for _ in $(seq 200); do
    kill -0 "$server_pid" 2>/dev/null || { echo "$1 exited; log:" >&2; cat "$log" >&2; exit 1; }
    ready=1
    for key in $keys; do grep -q "^$key=" "$ports" 2>/dev/null || ready=0; done
    [[ $ready == 1 ]] && return 0
    sleep 0.1
  done
  echo "$1 did not write $ports within 20 s; log:" >&2
  cat "$log" >&2
  exit 1
}

port_of() { sed -n "s/^$2=//p" "$1"; }

# Share of both cores busy over 1 s, in percent (everything: ours is idle between runs).
cpu_busy() {
  local a b
  read -r -a a < <(head -1 /proc/stat)
  sleep 1
  read -r -a b < <(head -1 /proc/stat)
  local idle=$(((b[4] + b[5]) - (a[4] + a[5]))) total=0 i
  for i in 1 2 3 4 5 6 7 8; do total=$((total + b[i] - a[i])); done
  ((total > 0)) || { echo 0; return; }
  echo $((100 * (total - idle) / total))
}

# Waits (up to IDLE_WAIT s) until the box is quiet; prints the busy share it started with.
wait_idle() {
  local busy waited=0
  busy=$(cpu_busy)
  while ((busy > 20 && waited < IDLE_WAIT)); do
    sleep 4
    waited=$((waited + 5))
    busy=$(cpu_busy)
  done
  echo "$busy"
}

# CPU accounting, in clock ticks, to tell how much of the box others used during a run.
box_ticks() { awk 'NR == 1 { print $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat; }
box_busy_ticks() { awk 'NR == 1 { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
# Sets $ours to the ticks used so far by our live servers and our reaped children (the bench
# runs). Not to be called in $(...): `times` must run in this shell to see its children.
our_ticks() {
  local t=0 pid
  for pid in "${pids[@]}"; do
    [[ -r /proc/$pid/stat ]] || continue
    t=$((t + $(sed 's/^.*) //' "/proc/$pid/stat" | awk '{ print $12 + $13 }')))
  done
  times >"$OUT_DIR/.times"
  ours=$((t + $(awk -v tps="$(getconf CLK_TCK)" 'NR == 2 { for (i = 1; i <= 2; i++) {
    split($i, a, /[ms]/); c += (a[1] * 60 + a[2]) * tps } printf "%d", c }' "$OUT_DIR/.times")))
}

# run_bench NAME TARGET ADMIN ARGS...: one bench run; appends "NAME busy=N% RESULT..." to
# $results and sets $last_result.
run_bench() {
  local name=$1 target=$2 admin=$3
  shift 3
  local busy
  busy=$(wait_idle)
  echo ">> $name (other CPU load before: ${busy}%)"
  local admin_flag=()
  [[ -n $admin ]] && admin_flag=(--admin="$admin")
  local box0 busy0 ours0
  box0=$(box_ticks)
  busy0=$(box_busy_ticks)
  our_ticks
  ours0=$ours
  # In the background and waited for, so a signal to this script reaches the trap at once.
  timeout 300 "${client_pin[@]}" "$bench" --target="$target" "${admin_flag[@]}" \
    --token="$token" "${room_limits[@]}" --agents="$AGENTS" --channels="$CHANNELS" \
    --duration="$DURATION" --warmup="$WARMUP" "$@" >"$OUT_DIR/$name.txt" 2>&1 &
  local bench_pid=$!
  pids+=("$bench_pid")
  wait "$bench_pid" || {
    echo "$name failed (exit status $?):" >&2
    cat "$OUT_DIR/$name.txt" >&2
    exit 1
  }
  our_ticks
  local others=$((($(box_busy_ticks) - busy0 - (ours - ours0)) * 100 / ($(box_ticks) - box0)))
  ((others >= 0)) || others=0
  sed -n '/^== /,$p' "$OUT_DIR/$name.txt" | grep -v '^RESULT' | sed 's/^/   /'
  echo "   others' CPU during the run: ${others}% of the box"
  last_result=$(grep '^RESULT ' "$OUT_DIR/$name.txt")
  echo "$name before=${busy}% during=${others}% $last_result" >>"$results"
}

kv() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }
ratio() { awk -v c="$1" -v e="$2" 'BEGIN { if (e > 0) printf "%.2f", c / e; else print "n/a" }'; }
median() {
  sort -g | awk '{ v[NR] = $1 }
    END { if (NR == 0) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2];
          else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

echo "== Coordinator Sync throughput: $(date -u '+%Y-%m-%d %H:%M UTC')"
cpu_model=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')
echo "machine: nproc=$(nproc), $cpu_model, kernel $(uname -r)"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "software: $(dpkg-query -W -f='${Package} ${Version}, ' libgrpc++-dev libprotobuf-dev \
  librocksdb-dev 2>/dev/null | sed 's/, $//')"
if ((${#server_pin[@]})); then
  echo "layout: servers pinned to core 1, bench client to core 0 (taskset)"
else
  echo "layout: unpinned"
fi
echo "client: $AGENTS agents, $CHANNELS channels, closed loop $INFLIGHT in flight," \
  "$WARMUP warm-up + $DURATION per run"
echo "logs: $OUT_DIR"
((have_coord)) || echo "NOTE: $coord_bin not found: echo runs only."
echo

start_server "$OUT_DIR/echo.ports" "grpc" "$OUT_DIR/echo.log" \
  "$echo_bin" --listen=127.0.0.1:0 --ports-file="$OUT_DIR/echo.ports" \
  --eta-entries="$ECHO_ETA_ENTRIES"
echo_target=127.0.0.1:$(port_of "$OUT_DIR/echo.ports" grpc)

# start_coordinator DURABILITY: a fresh coordinator; sets coord_pid, coord_target, coord_admin.
start_coordinator() {
  local durability=$1
  local data
  data=$(mktemp -d "$OUT_DIR/data-$durability.XXXXXX")
  data_dirs+=("$data")
  local fs
  fs=$(df -T "$data" | awk 'NR == 2 { print $2 }')
  echo "coordinator --durability=$durability, data on $fs ($data)"
  start_server "$OUT_DIR/coord-$durability.ports" "grpc admin" "$OUT_DIR/coord-$durability.log" \
    "$coord_bin" --data-dir="$data" --listen=127.0.0.1:0 --admin-listen=127.0.0.1:0 \
    --ports-file="$OUT_DIR/coord-$durability.ports" --admin-token="$token" \
    --durability="$durability" --log-level=warn
  coord_pid=$server_pid
  coord_target=127.0.0.1:$(port_of "$OUT_DIR/coord-$durability.ports" grpc)
  coord_admin=127.0.0.1:$(port_of "$OUT_DIR/coord-$durability.ports" admin)
}

closed=(--inflight="$INFLIGHT")
pair_ratios=()
if ((have_coord)); then
  start_coordinator sync
  for i in $(seq "$PAIRS"); do
    run_bench "pair$i-echo" "$echo_target" "" "${closed[@]}" --rooms=1 --label=echo \
      --durability=none
    e=$(kv syncs_per_s "$last_result")
    run_bench "pair$i-coord-sync" "$coord_target" "$coord_admin" "${closed[@]}" --rooms=1 \
      --label=coordinator --durability=sync
    c=$(kv syncs_per_s "$last_result")
    pair_ratios+=("$(ratio "$c" "$e")")
    echo "   pair $i: coordinator-sync / echo = ${pair_ratios[-1]}"
  done
  run_bench "wide-echo" "$echo_target" "" "${closed[@]}" --rooms="$MANY_ROOMS" --label=echo \
    --durability=none
  e=$(kv syncs_per_s "$last_result")
  run_bench "wide-coord-sync" "$coord_target" "$coord_admin" "${closed[@]}" \
    --rooms="$MANY_ROOMS" --label=coordinator --durability=sync
  wide_ratio=$(ratio "$(kv syncs_per_s "$last_result")" "$e")
  echo "   $MANY_ROOMS rooms: coordinator-sync / echo = $wide_ratio"
  run_bench "open-echo" "$echo_target" "" --rate="$RATE" --rooms=1 --label=echo --durability=none
  run_bench "open-coord-sync" "$coord_target" "$coord_admin" --rate="$RATE" --rooms=1 \
    --label=coordinator --durability=sync
  stop_pid "$coord_pid"

  start_coordinator async
  run_bench "async-echo" "$echo_target" "" "${closed[@]}" --rooms=1 --label=echo --durability=none
  e=$(kv syncs_per_s "$last_result")
  run_bench "async-coord" "$coord_target" "$coord_admin" "${closed[@]}" --rooms=1 \
    --label=coordinator --durability=async
  async_ratio=$(ratio "$(kv syncs_per_s "$last_result")" "$e")
  echo "   coordinator-async / echo = $async_ratio"
  stop_pid "$coord_pid"
else
  for i in $(seq "$PAIRS"); do
    run_bench "echo-$i" "$echo_target" "" "${closed[@]}" --rooms=1 --label=echo --durability=none
  done
  run_bench "wide-echo" "$echo_target" "" "${closed[@]}" --rooms="$MANY_ROOMS" --label=echo \
    --durability=none
  run_bench "open-echo" "$echo_target" "" --rate="$RATE" --rooms=1 --label=echo --durability=none
fi

echo
echo "== Summary (${DURATION} windows; before/during: CPU share others used just before and" \
  "during each run)"
printf '%-18s %6s %6s %9s %8s %8s %8s %9s %9s\n' run before during syncs/s p50_ms p99_ms max_ms \
  fsyncs/s groups/s
while read -r name before during rest; do
  printf '%-18s %6s %6s %9s %8s %8s %8s %9s %9s\n' "$name" "${before#before=}" "${during#during=}" \
    "$(kv syncs_per_s "$rest")" "$(kv p50_ms "$rest")" "$(kv p99_ms "$rest")" \
    "$(kv max_ms "$rest")" "$(kv fsyncs_per_s "$rest")" "$(kv group_commits_per_s "$rest")"
done <"$results"
if ((have_coord)); then
  echo "pair ratios (coordinator-sync / echo, 1 room): ${pair_ratios[*]}"
  echo "median ratio: $(printf '%s\n' "${pair_ratios[@]}" | median)   (target >= 0.8)"
  echo "$MANY_ROOMS rooms ratio: $wide_ratio   async ratio: $async_ratio"
  open=$(grep '^open-coord-sync ' "$results")
  echo "open loop ${RATE}/s, sync durability: p99 $(kv p99_ms "$open") ms (target < 10 ms)," \
    "achieved $(kv syncs_per_s "$open")/s"
fi

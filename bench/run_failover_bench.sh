#!/usr/bin/env bash
# Failover of the agent against haproxy, laid out as ../shared/BENCHMARKS.md ("Failover")
# describes: two nginx origins (master_process off: one PID each, 1 worker, keep-alive, access
# log off, GET /health answered 200) on core 0, the proxy under test pinned to core 1, and
# `wrk -t1 -c64 -d10s` on core 0 with bench/failover.lua. 3 s into the run the primary origin's
# PID gets SIGKILL. Each proxy runs in its own round with fresh origins:
#
#   agent               anteroom-agent, one pool of both origins (FAILOVER steering), HTTP
#                       monitor GET /health every 500 ms, 2 up / 2 down; no coordinator (a keys
#                       file instead); upstream_attempts and passive_down_after at defaults
#   haproxy-default     option httpchk GET /health; check inter 500ms fall 2 rise 2; s2 backup
#   haproxy-redispatch  the same + option redispatch, retries 3
#   haproxy-observe     the same + observe layer4 error-limit 1 on-error mark-down,
#                       retry-on all-retryable-errors
#
# Failed requests = non-2xx responses + wrk socket errors (connect, read: a connection closed
# without a response, write, timeout: no response within wrk's 2 s). Stall = the longest gap
# between two consecutive 2xx responses anywhere in the run (includes the box's own noise);
# kill_gap = the longest such gap that began between 100 ms before the kill and 2 s after it
# (the failover's own). An agent that does not start (or never answers 200)
# is reported with its log, and the haproxy rounds still run.
#
# Usage: bench/run_failover_bench.sh BUILD_DIR [ROUNDS]
#   BUILD_DIR holds agent/anteroom-agent; ROUNDS (default 1) repeats the whole set.
set -euo pipefail

build=$(cd "${1:-build/release}" && pwd)
rounds=${2:-1}
seconds=10
kill_after=3
connections=64
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/anteroom-failover-bench.XXXXXX)
pids=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done  # timeout passes it to wrk
  sleep 0.3
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

missing=0
for tool in nginx haproxy wrk taskset curl python3; do command -v "$tool" >/dev/null || missing=1; done
if [ "$missing" = 1 ]; then
  bash "$root/scripts/install-deps.sh" --bench
  for tool in nginx haproxy wrk taskset curl python3; do
    command -v "$tool" >/dev/null || { echo "run_failover_bench: $tool is missing (scripts/install-deps.sh --bench)" >&2; exit 1; }
  done
fi
agent_bin="$build/agent/anteroom-agent"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# Returns 1 (does not exit) when nothing listens within 10 s or `pid` died meanwhile.
wait_port() {  # port, pid
  for _ in $(seq 1 100); do
    (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}
wait_file() {  # file, pid
  for _ in $(seq 1 100); do
    [ -s "$1" ] && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}
wait_200() {  # port: until a GET through it answers 200 (10 s at most)
  for _ in $(seq 1 100); do
    [ "$(curl -s -o /dev/null -m 1 -w '%{http_code}' "http://127.0.0.1:$1/")" = 200 ] && return 0
    sleep 0.1
  done
  return 1
}
# SIGTERM, up to 5 s to exit, then SIGKILL; reaps it and forgets it.
stop_pid() {
  local pid=$1 keep=() p
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  for p in "${pids[@]}"; do [ "$p" = "$pid" ] || keep+=("$p"); done
  pids=("${keep[@]}")
}
# Percent of all cores busy over half a second.
cpu_busy() {
  local t1 i1 t2 i2
  read -r t1 i1 < <(awk '/^cpu / { t = 0; for (k = 2; k <= NF; k++) t += $k; print t, $5 + $6 }' /proc/stat)
  sleep 0.5
  read -r t2 i2 < <(awk '/^cpu / { t = 0; for (k = 2; k <= NF; k++) t += $k; print t, $5 + $6 }' /proc/stat)
  echo $(( (t2 - t1) > 0 ? 100 * ((t2 - t1) - (i2 - i1)) / (t2 - t1) : 0 ))
}
# The machine is shared: wait (15 s at most) until others leave the cores mostly idle.
wait_idle() {
  local busy=100
  for _ in $(seq 1 30); do
    busy=$(cpu_busy)
    [ "$busy" -le 15 ] && return 0
  done
  echo "  (cores still ${busy}% busy with other work; measuring anyway)"
}

start_origin() {  # dir, port; sets origin_pid (a child of this shell, so `wait` reaps it)
  local dir=$1 port=$2
  mkdir -p "$dir"
  cat >"$dir/nginx.conf" <<CONF
worker_processes 1;
daemon off;
master_process off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path $dir; proxy_temp_path $dir; fastcgi_temp_path $dir;
  uwsgi_temp_path $dir; scgi_temp_path $dir;
  server {
    listen 127.0.0.1:$port;
    location / { return 200 "hello\\n"; }
    location = /health { return 200 "ok\\n"; }
  }
}
CONF
  taskset -c 0 nginx -e "$dir/error.log" -c "$dir/nginx.conf" >"$dir/stdout.log" 2>&1 &
  origin_pid=$!
  pids+=("$origin_pid")
}

haproxy_conf() {  # file, listen port, primary port, backup port, variant
  local backend_extra="" server_extra=""
  case "$5" in
    haproxy-default) ;;
    haproxy-redispatch) backend_extra="option redispatch
  retries 3" ;;
    haproxy-observe) backend_extra="option redispatch
  retries 3
  retry-on all-retryable-errors"
      server_extra="observe layer4 error-limit 1 on-error mark-down" ;;
  esac
  cat >"$1" <<CONF
global
  nbthread 1
  maxconn 4096
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
  timeout check 400ms
  http-reuse always
frontend fe
  bind 127.0.0.1:$2
  default_backend app
backend app
  option httpchk GET /health
  $backend_extra
  server s1 127.0.0.1:$3 check inter 500ms fall 2 rise 2 $server_extra
  server s2 127.0.0.1:$4 check inter 500ms fall 2 rise 2 backup $server_extra
CONF
}

agent_conf() {  # dir, listen port, primary port, backup port
  local dir=$1
  cat >"$dir/keys.yaml" <<KEYS
keys:
  - id: bench
    secret_base64: $(python3 -c 'import base64, os; print(base64.b64encode(os.urandom(32)).decode())')
KEYS
  cat >"$dir/agent.yaml" <<CONF
listen: 127.0.0.1:$2
admin_listen: 127.0.0.1:0
ports_file: $dir/agent.ports
io_threads: 1
log_level: warn
keys_file: $dir/keys.yaml
upstream_pools:
  - app
pools:
  - id: app
    origins:
      - address: 127.0.0.1
        port: $3
        weight: 1
      - address: 127.0.0.1
        port: $4
        weight: 1
    minimum_healthy: 1
    steering: STEERING_POLICY_FAILOVER
    monitor:
      type: MONITOR_TYPE_HTTP
      method: GET
      path: /health
      interval_ms: 500
      timeout_ms: 400
      consecutive_up: 2
      consecutive_down: 2
      jitter_ms: 50
      expected_codes: "2xx"
CONF
}

# One round of one proxy; appends "proxy requests failed non2xx connect read write timeout
# stall_ms stall_at_ms after" to $work/results.
run_one() {  # round, proxy
  local round=$1 proxy=$2 dir="$work/r$1-$2"
  mkdir -p "$dir"
  local p1 p2 port
  p1=$(free_port); p2=$(free_port); port=$(free_port)
  local o1 o2 proxy_pid
  start_origin "$dir/origin1" "$p1"; o1=$origin_pid
  start_origin "$dir/origin2" "$p2"; o2=$origin_pid
  if ! wait_port "$p1" "$o1" || ! wait_port "$p2" "$o2"; then
    echo "run_failover_bench: an nginx origin did not start:" >&2
    cat "$dir"/origin*/error.log "$dir"/origin*/stdout.log >&2 || true
    exit 1
  fi
  local log="$dir/proxy.log"
  if [ "$proxy" = agent ]; then
    agent_conf "$dir" "$port" "$p1" "$p2"
    if [ -x "$agent_bin" ]; then
      taskset -c 1 "$agent_bin" --config="$dir/agent.yaml" >"$log" 2>&1 &
      proxy_pid=$!
    else
      echo "no $agent_bin" >"$log"
      proxy_pid=
    fi
  else
    haproxy_conf "$dir/haproxy.cfg" "$port" "$p1" "$p2" "$proxy"
    taskset -c 1 haproxy -db -f "$dir/haproxy.cfg" >"$log" 2>&1 &
    proxy_pid=$!
  fi
  [ -n "$proxy_pid" ] && pids+=("$proxy_pid")
  if [ -z "$proxy_pid" ] || ! wait_port "$port" "$proxy_pid" || ! wait_200 "$port"; then
    echo "  $proxy did not start or never answered 200 within 10 s; its log:"
    sed 's/^/    | /' "$log" | tail -n 40
    if [ "$proxy" = agent ]; then
      echo "    (config: $dir/agent.yaml)"
      sed 's/^/    | /' "$dir/agent.yaml"
    fi
    [ -n "$proxy_pid" ] && stop_pid "$proxy_pid"
    stop_pid "$o1"; stop_pid "$o2"
    echo "$proxy - - - - - - - - - did-not-start" >>"$work/results"
    return 0
  fi
  taskset -apc 1 "$proxy_pid" >/dev/null
  sleep 1.5  # a few check intervals: both origins settled as up
  wait_idle
  taskset -c 0 timeout $((seconds + 30)) wrk -t1 -c"$connections" -d"${seconds}s" --latency \
    -s "$root/bench/failover.lua" "http://127.0.0.1:$port/" -- "$((kill_after * 1000))" \
    >"$dir/wrk.out" 2>&1 &
  local wrk_pid=$!
  pids+=("$wrk_pid")
  sleep "$kill_after"
  kill -9 "$o1" 2>/dev/null || true
  wait "$wrk_pid" 2>/dev/null || true
  stop_pid "$wrk_pid"  # forgets it
  stop_pid "$o1"  # reaps it
  local after
  after=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$port/" || true)
  stop_pid "$proxy_pid"; stop_pid "$o2"
  local line
  line=$(grep '^FAILOVER ' "$dir/wrk.out" || true)
  if [ -z "$line" ]; then
    echo "  $proxy: wrk printed no FAILOVER line:"; sed 's/^/    | /' "$dir/wrk.out"
    echo "$proxy - - - - - - - - - wrk-failed -" >>"$work/results"
    return 0
  fi
  field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<" ${line#FAILOVER }"; }
  echo "$proxy $(field requests) $(field failed) $(field non2xx) $(field connect) $(field read)" \
    "$(field write) $(field timeout) $(field stall_ms) $(field stall_at_ms) $after" \
    "$(field kill_gap_ms)" >>"$work/results"
  echo "RESULT failover round=$round proxy=$proxy requests=$(field requests) failed=$(field failed)" \
    "non2xx=$(field non2xx) connect=$(field connect) read=$(field read) write=$(field write)" \
    "timeout=$(field timeout) stall_ms=$(field stall_ms) stall_at_ms=$(field stall_at_ms)" \
    "kill_gap_ms=$(field kill_gap_ms) after_kill_status=$after"
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "peers: $(haproxy -v | head -1); origins: $(nginx -v 2>&1 | sed 's/^nginx version: //'); wrk: $(wrk --version 2>&1 | head -1 | cut -d' ' -f1-2)"
echo "agent: $agent_bin"
echo "layout: proxy on core 1, two nginx origins and wrk -t1 -c$connections -d${seconds}s on core 0;" \
  "SIGKILL to the primary origin ${kill_after} s in"
echo

proxies=(agent haproxy-default haproxy-redispatch haproxy-observe)
for round in $(seq 1 "$rounds"); do
  : >"$work/results"
  echo "round $round"
  for proxy in "${proxies[@]}"; do run_one "$round" "$proxy"; done
  echo
  {
    echo "proxy requests failed non2xx connect read write timeout stall_ms stall_at_ms after_kill" \
      "kill_gap_ms"
    cat "$work/results"
  } | column -t | sed 's/^/  /'
  echo
  cat "$work/results" >>"$work/all-results"
done

if [ "$rounds" -gt 1 ]; then
  median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
  for proxy in "${proxies[@]}"; do
    failed=$(awk -v p="$proxy" '$1 == p && $3 != "-" { print $3 }' "$work/all-results")
    stall=$(awk -v p="$proxy" '$1 == p && $9 != "-" { print $9 }' "$work/all-results")
    gap=$(awk -v p="$proxy" '$1 == p && NF >= 12 { print $12 }' "$work/all-results")
    echo "SUMMARY failover proxy=$proxy rounds=$(wc -w <<<"$failed")" \
      "failed=[$(echo $failed | tr ' ' ',')] median_failed=$(median <<<"$failed")" \
      "stall_ms=[$(echo $stall | tr ' ' ',')] median_stall_ms=$(median <<<"$stall")" \
      "kill_gap_ms=[$(echo $gap | tr ' ' ',')] median_kill_gap_ms=$(median <<<"$gap")"
  done
fi

#!/usr/bin/env bash
# The agent as a reverse proxy against nginx, laid out as ../shared/BENCHMARKS.md describes:
# the proxy under test pinned to core 1 (agent with one I/O thread, nginx with one worker),
# wrk and the nginx origin on core 0; runs alternate agent / nginx, and each pair's ratio and the
# median are printed. Also: the origin directly (for the latency the proxy adds) and the waiting
# page (every request a newcomer who gets a place and the page) against nginx serving a static
# page of the same size. The admitted user's room has no session renewal: wrk replays one cookie
# and never stores the renewed one, where a browser renews once per 10 s slot.
#
# Usage: bench/run_proxy_bench.sh BUILD_DIR [PAIRS] [SECONDS]
set -euo pipefail

build=$(cd "${1:-build/release}" && pwd)
pairs=${2:-3}
seconds=${3:-10}
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/anteroom-proxy-bench.XXXXXX)
token=bench-token
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

for tool in nginx wrk taskset; do
  command -v "$tool" >/dev/null || { echo "run_proxy_bench: $tool is missing (scripts/install-deps.sh --bench)" >&2; exit 1; }
done

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.1; done; echo "nothing on port $1" >&2; exit 1; }
wait_file() { for _ in $(seq 1 100); do [ -s "$1" ] && return 0; sleep 0.1; done; echo "no $1" >&2; exit 1; }

origin_port=$(free_port)
nginx_proxy_port=$(free_port)
static_port=$(free_port)
page_bytes=6000

nginx_conf() {  # name, body of the server block
  mkdir -p "$work/$1"
  cat >"$work/$1/nginx.conf" <<CONF
worker_processes 1;
daemon off;
master_process off;
pid $work/$1/nginx.pid;
error_log $work/$1/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path $work/$1; proxy_temp_path $work/$1; fastcgi_temp_path $work/$1;
  uwsgi_temp_path $work/$1; scgi_temp_path $work/$1;
  $2
}
CONF
}

nginx_conf origin "server { listen 127.0.0.1:$origin_port; location / { return 200 \"hello\\n\"; } }"
nginx_conf proxy "upstream origin { server 127.0.0.1:$origin_port; keepalive 128; }
  server { listen 127.0.0.1:$nginx_proxy_port; location / { proxy_pass http://origin;
    proxy_http_version 1.1; proxy_set_header Connection \"\"; } }"
head -c $page_bytes /dev/zero | tr '\0' 'x' >"$work/page.html"
nginx_conf static "server { listen 127.0.0.1:$static_port; location / { root $work; try_files /page.html =404; } }"

taskset -c 0 nginx -c "$work/origin/nginx.conf" & pids+=($!)
taskset -c 1 nginx -c "$work/proxy/nginx.conf" & pids+=($!)
taskset -c 1 nginx -c "$work/static/nginx.conf" & pids+=($!)
wait_port "$origin_port"; wait_port "$nginx_proxy_port"; wait_port "$static_port"

taskset -c 0 "$build/coordinator/anteroom-coordinator" --data-dir="$work/coord" \
  --listen=127.0.0.1:0 --admin-listen=127.0.0.1:0 --ports-file="$work/coord.ports" \
  --admin-token=$token --log-level=warn >"$work/coord.log" 2>&1 & pids+=($!)
wait_file "$work/coord.ports"
grpc_port=$(sed -n 's/^grpc=//p' "$work/coord.ports")
export ANTEROOM_COORDINATOR=127.0.0.1:$grpc_port ANTEROOM_TOKEN=$token
"$build/ctl/anteroomctl" room create bench --route / --total-active-users 1000000 \
  --new-users-per-minute 1000000 --session-duration 1h --session-renewal=false >/dev/null
"$build/ctl/anteroomctl" room create waiting --route waiting.test/ --total-active-users 1 \
  --new-users-per-minute 1 --queue-all >/dev/null

"$build/agent/anteroom-agent" --listen=127.0.0.1:0 --admin-listen=127.0.0.1:0 \
  --ports-file="$work/agent.ports" --coordinators=127.0.0.1:$grpc_port \
  --default-upstream=127.0.0.1:$origin_port --io-threads=1 --log-level=warn \
  >"$work/agent.log" 2>&1 & agent_pid=$!; pids+=($agent_pid)
wait_file "$work/agent.ports"
agent_port=$(sed -n 's/^http=//p' "$work/agent.ports")
agent_admin=$(sed -n 's/^admin=//p' "$work/agent.ports")
taskset -apc 1 "$agent_pid" >/dev/null
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$agent_admin/readyz" >/dev/null && break; sleep 0.1; done

# An admitted user's cookie, for the admitted-traffic runs.
cookie=
for _ in $(seq 1 50); do
  headers=$(curl -s -o /dev/null -D - -c "$work/jar" -b "$work/jar" "http://127.0.0.1:$agent_port/")
  if ! grep -qi '^x-anteroom-status' <<<"$headers"; then
    cookie=$(awk '$6 ~ /^anteroom_/ {print $6"="$7}' "$work/jar")
    break
  fi
  sleep 0.2
done
[ -n "$cookie" ] || { echo "run_proxy_bench: could not get an admitted cookie" >&2; exit 1; }

connections=64
run_wrk() {  # port, extra wrk args...; prints "rps p50_us p99_us"
  local port=$1; shift
  taskset -c 0 wrk -t1 -c"$connections" -d"${seconds}s" --latency "$@" "http://127.0.0.1:$port/" 2>&1 | awk '
    function us(v) { if (v ~ /us$/) return v+0; if (v ~ /ms$/) return (v+0)*1000; if (v ~ /s$/) return (v+0)*1000000; return v }
    /Requests\/sec/ { rps = $2 }
    $1 == "50%" { p50 = us($2) }
    $1 == "99%" { p99 = us($2) }
    END { printf "%.0f %.0f %.0f\n", rps, p50, p99 }'
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
echo "peer: $(nginx -v 2>&1); wrk: $(wrk --version 2>&1 | head -1 | cut -d' ' -f1-2)"
echo "layout: proxy on core 1 (agent --io-threads=1 / nginx 1 worker), wrk -t1 -c64 -d${seconds}s and the origin on core 0"
echo
read -r d_rps d_p50 d_p99 < <(run_wrk "$origin_port")
echo "direct origin: ${d_rps} req/s, p50 ${d_p50} us, p99 ${d_p99} us"

ratios=()
for i in $(seq 1 "$pairs"); do
  read -r a_rps a_p50 a_p99 < <(run_wrk "$agent_port" -H "Cookie: $cookie")
  read -r n_rps n_p50 n_p99 < <(run_wrk "$nginx_proxy_port")
  ratio=$(awk -v a="$a_rps" -v n="$n_rps" 'BEGIN { printf "%.2f", a / n }')
  ratios+=("$ratio")
  echo "pair $i  agent ${a_rps} req/s p50 ${a_p50} us p99 ${a_p99} us | nginx ${n_rps} req/s p50 ${n_p50} us p99 ${n_p99} us | agent/nginx ${ratio}"
  echo "RESULT proxy pair=$i agent_rps=$a_rps nginx_rps=$n_rps ratio=$ratio agent_p99_us=$a_p99 nginx_p99_us=$n_p99 added_p99_us=$((a_p99 - d_p99))"
done
median=$(printf '%s\n' "${ratios[@]}" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
echo "median agent/nginx (admitted traffic): $median"

read -r w_rps w_p50 w_p99 < <(run_wrk "$agent_port" -H "Host: waiting.test")
read -r s_rps s_p50 s_p99 < <(run_wrk "$static_port")
echo "waiting page (a newcomer per request: place, cookie, page): ${w_rps} req/s p99 ${w_p99} us | nginx static ${page_bytes} B page: ${s_rps} req/s | ratio $(awk -v a="$w_rps" -v n="$s_rps" 'BEGIN { printf "%.2f", a / n }')"
echo "RESULT waiting agent_rps=$w_rps nginx_static_rps=$s_rps"

# Added latency at light load (8 connections): what a request pays for the proxy, without the
# queueing that 64 connections on one core add.
connections=8
read -r l_d_rps l_d_p50 l_d_p99 < <(run_wrk "$origin_port")
read -r l_a_rps l_a_p50 l_a_p99 < <(run_wrk "$agent_port" -H "Cookie: $cookie")
read -r l_n_rps l_n_p50 l_n_p99 < <(run_wrk "$nginx_proxy_port")
echo "light load (8 connections): direct p50/p99 ${l_d_p50}/${l_d_p99} us; agent ${l_a_p50}/${l_a_p99} us (p99 +$((l_a_p99 - l_d_p99)) us); nginx ${l_n_p50}/${l_n_p99} us (p99 +$((l_n_p99 - l_d_p99)) us)"
echo "RESULT latency connections=8 direct_p99_us=$l_d_p99 agent_p99_us=$l_a_p99 nginx_p99_us=$l_n_p99 agent_added_p99_us=$((l_a_p99 - l_d_p99)) nginx_added_p99_us=$((l_n_p99 - l_d_p99))"

#!/usr/bin/env bash
# make demo: a coordinator on an embedded RocksDB, the demo origin, and an agent in front of it,
# with a room of two places created through anteroomctl. Everything listens on loopback.
# Ctrl-C stops what it started; the coordinator's state stays in .demo/.
set -euo pipefail

build_dir=${1:-build/release}
root=$(cd "$(dirname "$0")/.." && pwd)
demo_dir="$root/.demo"
bin="$root/$build_dir"
grpc_port=${ANTEROOM_DEMO_GRPC_PORT:-7400}
admin_port=${ANTEROOM_DEMO_ADMIN_PORT:-7401}
origin_port=${ANTEROOM_DEMO_ORIGIN_PORT:-7500}
agent_port=${ANTEROOM_DEMO_AGENT_PORT:-8080}
agent_admin_port=${ANTEROOM_DEMO_AGENT_ADMIN_PORT:-8081}
token=demo-token

mkdir -p "$demo_dir"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

wait_for() {  # file, what
  for _ in $(seq 1 100); do [ -s "$1" ] && return 0; sleep 0.1; done
  echo "demo: $2 did not start; see $demo_dir/$2.log" >&2
  exit 1
}

rm -f "$demo_dir"/*.ports
"$bin/coordinator/anteroom-coordinator" --data-dir="$demo_dir/coordinator" \
  --listen="127.0.0.1:$grpc_port" --admin-listen="127.0.0.1:$admin_port" \
  --admin-token="$token" --ports-file="$demo_dir/coordinator.ports" --log-level=info \
  >"$demo_dir/coordinator.log" 2>&1 &
pids+=($!)
wait_for "$demo_dir/coordinator.ports" coordinator

"$bin/tests/origin/anteroom-demo-origin" --listen="127.0.0.1:$origin_port" --name="the demo shop" \
  --ports-file="$demo_dir/origin.ports" >"$demo_dir/origin.log" 2>&1 &
pids+=($!)
wait_for "$demo_dir/origin.ports" origin

export ANTEROOM_COORDINATOR="127.0.0.1:$grpc_port" ANTEROOM_TOKEN="$token"
ctl="$bin/ctl/anteroomctl"
if ! "$ctl" room get demo >/dev/null 2>&1; then
  "$ctl" room create demo --route / --total-active-users 2 --new-users-per-minute 30 \
    --session-duration 60s --refresh-interval 5s --json-response --page-title "The demo shop" \
    >/dev/null
  echo "demo: created room 'demo'"
fi

"$bin/agent/anteroom-agent" --listen="127.0.0.1:$agent_port" \
  --admin-listen="127.0.0.1:$agent_admin_port" --coordinators="127.0.0.1:$grpc_port" \
  --default-upstream="127.0.0.1:$origin_port" --ports-file="$demo_dir/agent.ports" \
  --log-level=info >"$demo_dir/agent.log" 2>&1 &
pids+=($!)
wait_for "$demo_dir/agent.ports" agent

cat <<MSG

Anteroom demo
  open             http://127.0.0.1:$agent_port/   (the room lets 2 people in at a time)
  a 3rd visitor    open it in another browser profile or a private window: you wait in line
  free a place     visit http://127.0.0.1:$agent_port/checkout in one of the first two
  status           $ctl room status demo
  metrics          http://127.0.0.1:$agent_admin_port/metrics  http://127.0.0.1:$admin_port/metrics

  (ANTEROOM_COORDINATOR=127.0.0.1:$grpc_port ANTEROOM_TOKEN=$token are set for anteroomctl)
Ctrl-C stops the demo.
MSG
while sleep 10; do
  "$ctl" room status demo 2>/dev/null | grep -E "^(phase|waiting|active|admissions)" | paste -sd' ' || true
done

#!/usr/bin/env bash
# make demo: a coordinator on an embedded RocksDB in .demo/, with a small room created through
# anteroomctl, on loopback ports. Ctrl-C stops everything it started.
set -euo pipefail

build_dir=${1:-build/release}
root=$(cd "$(dirname "$0")/.." && pwd)
demo_dir="$root/.demo"
coordinator="$root/$build_dir/coordinator/anteroom-coordinator"
ctl="$root/$build_dir/ctl/anteroomctl"
grpc_port=${ANTEROOM_DEMO_GRPC_PORT:-7400}
admin_port=${ANTEROOM_DEMO_ADMIN_PORT:-7401}
token=demo-token

mkdir -p "$demo_dir"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

rm -f "$demo_dir/ports"
"$coordinator" --data-dir="$demo_dir/coordinator" --listen="127.0.0.1:$grpc_port" \
  --admin-listen="127.0.0.1:$admin_port" --admin-token="$token" \
  --ports-file="$demo_dir/ports" --log-level=info >"$demo_dir/coordinator.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do [ -s "$demo_dir/ports" ] && break; sleep 0.1; done
if [ ! -s "$demo_dir/ports" ]; then
  echo "demo: the coordinator did not start; see $demo_dir/coordinator.log" >&2
  exit 1
fi

export ANTEROOM_COORDINATOR="127.0.0.1:$grpc_port" ANTEROOM_TOKEN="$token"
if ! "$ctl" room get demo >/dev/null 2>&1; then
  "$ctl" room create demo --route / --total-active-users 2 --new-users-per-minute 30 \
    --session-duration 60s --refresh-interval 5s --json-response >/dev/null
  echo "demo: created room 'demo'"
fi

cat <<MSG

Anteroom demo
  coordinator gRPC   127.0.0.1:$grpc_port   (token: $token)
  admin HTTP         http://127.0.0.1:$admin_port/metrics
  room               demo: 2 active users, 30 new users per minute

Try:
  ANTEROOM_COORDINATOR=127.0.0.1:$grpc_port ANTEROOM_TOKEN=$token $ctl room status demo
  ANTEROOM_COORDINATOR=127.0.0.1:$grpc_port ANTEROOM_TOKEN=$token $ctl room list -o json

Ctrl-C stops the demo; its state stays in .demo/ for the next run.
MSG
while sleep 5; do
  "$ctl" room status demo 2>/dev/null | head -12 || true
done

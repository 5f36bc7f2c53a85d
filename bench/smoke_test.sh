#!/usr/bin/env bash
# ctest bench_sync_smoke: keeps the Sync benchmark's binaries from rotting. Starts the echo
# server, runs the load generator for about a second in each mode (rooms created through the
# echo's Admin.CreateRoom), and checks that Syncs went through without errors. No coordinator.
#
# Usage: smoke_test.sh ECHO_SERVER_BIN SYNC_BENCH_BIN
set -euo pipefail

echo_bin=${1:?usage: smoke_test.sh ECHO_SERVER_BIN SYNC_BENCH_BIN}
bench_bin=${2:?usage: smoke_test.sh ECHO_SERVER_BIN SYNC_BENCH_BIN}

work=$(mktemp -d "${TMPDIR:-/tmp}/anteroom-bench-smoke.XXXXXX")
echo_pid=

cleanup() {
  if [[ -n $echo_pid ]] && kill -0 "$echo_pid" 2>/dev/null; then
    kill -TERM "$echo_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$echo_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$echo_pid" 2>/dev/null || true
    wait "$echo_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  for f in "$work"/*.log "$work"/*.out; do
    [[ -f $f ]] && { echo "--- $f" >&2; cat "$f" >&2; }
  done
  exit 1
}

"$echo_bin" --listen=127.0.0.1:0 --ports-file="$work/ports" 2>"$work/echo.log" &
echo_pid=$!
for _ in $(seq 100); do
  [[ -s $work/ports ]] && break
  kill -0 "$echo_pid" 2>/dev/null || fail "echo server exited"
  sleep 0.1
done
port=$(sed -n 's/^grpc=//p' "$work/ports" 2>/dev/null)
[[ -n $port ]] || fail "echo server wrote no grpc port"

# run NAME ARGS...: one short bench run that must report Syncs and no errors.
run() {
  local name=$1
  shift
  timeout 30 "$bench_bin" --target="127.0.0.1:$port" --agents=8 --rooms=3 --channels=2 \
    --warmup=200ms --duration=1s --label=echo --durability=none "$@" >"$work/$name.out" 2>&1 ||
    fail "$name: exit status $?"
  local result
  result=$(grep '^RESULT ' "$work/$name.out") || fail "$name: no RESULT line"
  local syncs errors
  syncs=$(sed -n 's/.* syncs_per_s=\([0-9]*\).*/\1/p' <<<"$result")
  errors=$(sed -n 's/.* errors=\([0-9]*\).*/\1/p' <<<"$result")
  [[ -n $syncs && $syncs -gt 0 ]] || fail "$name: no Syncs completed: $result"
  [[ $errors == 0 ]] || fail "$name: $errors errors: $result"
  echo "ok $name: $result"
}

run closed --token=smoke --inflight=4
run open --no-create --rate=200

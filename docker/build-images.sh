#!/usr/bin/env bash
# Builds the coordinator, agent and anteroomctl images from docker/Dockerfile, then checks
# them together, the way the Helm chart runs them:
#   - each image runs as 10001:10001 and holds its binary only (no compiler, no build tree);
#   - the coordinator runs with a read-only root filesystem and its data on a volume;
#   - anteroomctl (in its image) creates a room on it;
#   - the agent (in its image, read-only root) syncs with it and proxies a request to an
#     origin on the host.
# Containers use the host's network namespace and free 127.0.0.1 ports chosen at run time;
# everything started here is removed on exit.
#
# Usage (from anywhere, with a Docker daemon):  docker/build-images.sh [TAG]   (default 0.1.0)
# Environment: DOCKER [docker], BUILD_NETWORK [host] (network of the build's RUN steps).
set -euo pipefail

tag=${1:-0.1.0}
docker=${DOCKER:-docker}
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

images=(coordinator:anteroom/anteroom-coordinator agent:anteroom/anteroom-agent
  ctl:anteroom/anteroomctl)
for pair in "${images[@]}"; do
  target=${pair%%:*}
  image=${pair#*:}:$tag
  echo "== building $image (target $target)"
  "$docker" build --network "${BUILD_NETWORK:-host}" -f docker/Dockerfile \
    --target "$target" -t "$image" .
done

coordinator=anteroom/anteroom-coordinator:$tag
agent=anteroom/anteroom-agent:$tag
ctl=anteroom/anteroomctl:$tag
run_id=anteroom-check-$$
# Containers of an earlier run that was killed before its trap ran (they hold host ports).
label=org.anteroom.image-check
mapfile -t leftover < <("$docker" ps -aq --filter "label=$label")
((${#leftover[@]} == 0)) || "$docker" rm -f "${leftover[@]}" >/dev/null
volume=$run_id-data
work=$(mktemp -d /tmp/anteroom-images.XXXXXX)
origin_pid=
cleanup() {
  "$docker" rm -f "$run_id-coordinator" "$run_id-agent" >/dev/null 2>&1 || true
  "$docker" volume rm "$volume" >/dev/null 2>&1 || true
  [[ -n $origin_pid ]] && kill "$origin_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

fail() {
  echo "FAIL: $*" >&2
  for c in coordinator agent; do
    echo "--- $c log" >&2
    "$docker" logs "$run_id-$c" 2>&1 | tail -20 >&2 || true
  done
  exit 1
}

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_http URL: up to 20 s for a 200.
wait_http() {
  for _ in $(seq 100); do
    [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$1") == 200 ]] && return 0
    sleep 0.2
  done
  return 1
}

echo "== image contents"
# BuildKit may keep the base in its own cache without a local tag: then sizes are absolute.
base_size=$("$docker" image inspect -f '{{.Size}}' debian:bookworm-slim 2>/dev/null) || base_size=0
for image in "$coordinator" "$agent" "$ctl"; do
  user=$("$docker" image inspect -f '{{.Config.User}}' "$image")
  [[ $user == 10001:10001 ]] || fail "$image runs as '$user', not 10001:10001"
  size=$("$docker" image inspect -f '{{.Size}}' "$image")
  # No toolchain or build tree may leak into a runtime image (exit 3 from the probe = clean).
  probe=0
  "$docker" run --rm --entrypoint /bin/sh "$image" -c \
    'command -v c++ || command -v cmake || test -d /src || exit 3' >/dev/null 2>&1 || probe=$?
  [[ $probe == 3 ]] || fail "$image contains a compiler, cmake or /src (probe exit $probe)"
  echo "$image: user $user, $((size / 1000000)) MB ($(((size - base_size) / 1000000)) MB over" \
    "debian:bookworm-slim)"
done
"$docker" run --rm "$ctl" --help >/dev/null || fail "anteroomctl --help failed in its image"

echo "== coordinator (read-only root, data on a volume)"
grpc_port=$(free_port)
coord_admin_port=$(free_port)
token=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
"$docker" volume create "$volume" >/dev/null
"$docker" run -d --name "$run_id-coordinator" --label "$label" --network host --read-only \
  -v "$volume:/var/lib/anteroom" \
  -e ANTEROOM_LISTEN="127.0.0.1:$grpc_port" -e ANTEROOM_ADMIN_LISTEN="127.0.0.1:$coord_admin_port" \
  -e ANTEROOM_ADMIN_TOKEN="$token" "$coordinator" >/dev/null
wait_http "http://127.0.0.1:$coord_admin_port/readyz" || fail "coordinator not ready"
echo "coordinator ready on 127.0.0.1:$grpc_port"

echo "== anteroomctl creates a room"
"$docker" run --rm --network host -e ANTEROOM_COORDINATOR="127.0.0.1:$grpc_port" \
  -e ANTEROOM_TOKEN="$token" "$ctl" room create images --route / --total-active-users 100 \
  --new-users-per-minute 600 || fail "anteroomctl room create failed"

echo "== agent proxies to an origin on the host"
origin_port=$(free_port)
mkdir -p "$work/site"
echo "hello from the origin" >"$work/site/index.html"
python3 -m http.server "$origin_port" --bind 127.0.0.1 --directory "$work/site" \
  >"$work/origin.log" 2>&1 &
origin_pid=$!
agent_port=$(free_port)
agent_admin_port=$(free_port)
"$docker" run -d --name "$run_id-agent" --label "$label" --network host --read-only \
  -e ANTEROOM_LISTEN="127.0.0.1:$agent_port" -e ANTEROOM_ADMIN_LISTEN="127.0.0.1:$agent_admin_port" \
  -e ANTEROOM_COORDINATORS="127.0.0.1:$grpc_port" \
  -e ANTEROOM_DEFAULT_UPSTREAM="127.0.0.1:$origin_port" "$agent" >/dev/null
wait_http "http://127.0.0.1:$agent_admin_port/readyz" || fail "agent not ready"
body=
for _ in $(seq 50); do
  body=$(curl -s --max-time 2 "http://127.0.0.1:$agent_port/" || true)
  [[ $body == "hello from the origin" ]] && break
  sleep 0.2
done
[[ $body == "hello from the origin" ]] || fail "agent answered '$body', not the origin's page"
echo "agent on 127.0.0.1:$agent_port served the origin's page"

echo "== graceful stop"
for c in agent coordinator; do
  "$docker" stop -t 20 "$run_id-$c" >/dev/null
  code=$("$docker" inspect -f '{{.State.ExitCode}}' "$run_id-$c")
  [[ $code == 0 ]] || fail "$c exited with $code on SIGTERM"
done
echo "PASS: images $coordinator, $agent, $ctl"

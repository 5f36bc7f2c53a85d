#!/usr/bin/env bash
# Makes the base images docker/Dockerfile starts from, debian:bookworm and debian:bookworm-slim,
# out of a Debian mirror instead of a registry: for builders that reach Debian's packages but
# no container registry. Both tags get the same minbase root filesystem (debootstrap
# --variant=minbase: apt, dpkg and the essential packages, what the slim image holds).
#
# Usage (as root, with docker and debootstrap installed):
#   docker/import-debian-base.sh [MIRROR [SECURITY_MIRROR]]
#   (defaults http://deb.debian.org/debian and http://deb.debian.org/debian-security)
#
# Skips the work when both tags already exist; FORCE=1 rebuilds them.
set -euo pipefail

mirror=${1:-http://deb.debian.org/debian}
security_mirror=${2:-http://deb.debian.org/debian-security}
release=bookworm

if [[ ${FORCE:-0} != 1 ]] && docker image inspect "debian:$release" >/dev/null 2>&1 &&
  docker image inspect "debian:$release-slim" >/dev/null 2>&1; then
  echo "import-debian-base: debian:$release and debian:$release-slim exist (FORCE=1 rebuilds)"
  exit 0
fi
command -v debootstrap >/dev/null || {
  echo "import-debian-base: debootstrap is missing (apt-get install debootstrap)" >&2
  exit 2
}

root=$(mktemp -d /tmp/anteroom-rootfs.XXXXXX)
trap 'rm -rf "$root"' EXIT
debootstrap --variant=minbase "$release" "$root" "$mirror"
# What a container image needs that a debootstrapped system leaves behind: no apt caches, and
# the sources the build's apt-get will use, updates and security fixes included.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
cat >"$root/etc/apt/sources.list" <<EOF
deb $mirror $release main
deb $mirror $release-updates main
deb $security_mirror $release-security main
EOF
tar -C "$root" -c . | docker import \
  --change 'CMD ["bash"]' --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  - "debian:$release"
docker tag "debian:$release" "debian:$release-slim"
echo "import-debian-base: made debian:$release and debian:$release-slim from $mirror"

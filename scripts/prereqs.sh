#!/usr/bin/env bash
# Installs the Debian packages a step needs, only those missing (idempotent; needs root and apt).
#   scripts/prereqs.sh build   Native AOT toolchain and dpkg-deb
#   scripts/prereqs.sh run     what the .deb depends on at run time
#   scripts/prereqs.sh test    the lab: namespaces, nftables, a Docker engine, busybox for the test image
set -euo pipefail

declare -A packages=(
  [build]="clang zlib1g-dev dpkg-dev shellcheck"
  [run]="nftables libnftables1 iproute2 docker.io ca-certificates libssl3"
  [test]="busybox-static iputils-ping procps psmisc util-linux systemd"
)

wanted=()
for step in "$@"; do
  [ -n "${packages[$step]:-}" ] || { echo "usage: $0 build|run|test..." >&2; exit 64; }
  read -ra names <<< "${packages[$step]}"
  wanted+=("${names[@]}")
done

missing=()
for name in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$name" 2>/dev/null | grep -q "install ok installed" || missing+=("$name")
done
[ ${#missing[@]} -eq 0 ] && exit 0

[ "$(id -u)" = 0 ] || { echo "prereqs.sh: missing packages (${missing[*]}); run as root to install them" >&2; exit 1; }
echo "==> installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

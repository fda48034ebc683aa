#!/usr/bin/env bash
# Installs the Debian packages a step needs, only those missing (idempotent; needs root and apt).
#   scripts/prereqs.sh build   Native AOT toolchain and dpkg-deb
#   scripts/prereqs.sh run     what the .deb depends on at run time
#   scripts/prereqs.sh test    the lab: namespaces, nftables, a Docker engine, busybox for the test image,
#                              sshd, iptables and iperf3 for lab hosts, ethtool to check offloads
set -euo pipefail

declare -A packages=(
  [build]="clang zlib1g-dev dpkg-dev shellcheck"
  [run]="nftables libnftables1 iproute2 docker.io ca-certificates libssl3"
  [test]="busybox-static iputils-ping procps psmisc util-linux systemd openssh-server iptables iperf3 ethtool"
)

# Daemons the lab runs only inside its own namespaces: installing them must not start one in the root
# namespace (an sshd there would listen on the machine's own addresses).
declare -A no_start=([openssh-server]=1)

wanted=()
for step in "$@"; do
  [ -n "${packages[$step]:-}" ] || { echo "usage: $0 build|run|test..." >&2; exit 64; }
  read -ra names <<< "${packages[$step]}"
  wanted+=("${names[@]}")
done

missing=()
quiet=()
for name in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$name" 2>/dev/null | grep -q "install ok installed" && continue
  if [ -n "${no_start[$name]:-}" ]; then quiet+=("$name"); else missing+=("$name"); fi
done
[ ${#missing[@]} -eq 0 ] && [ ${#quiet[@]} -eq 0 ] && exit 0

[ "$(id -u)" = 0 ] || { echo "prereqs.sh: missing packages (${missing[*]} ${quiet[*]}); run as root to install them" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> installing ${missing[*]}"
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ${#quiet[@]} -gt 0 ]; then
  # invoke-rc.d and deb-systemd-invoke ask policy-rc.d before starting a service; exit 101 means "forbidden".
  # Only a policy we wrote is ours to remove: a container image often ships one of its own.
  policy=/usr/sbin/policy-rc.d
  if [ ! -e "$policy" ]; then
    trap 'rm -f "$policy"' EXIT
    printf '#!/bin/sh\n# written by nanobox scripts/prereqs.sh while it installs packages; removed when it is done\nexit 101\n' > "$policy"
    chmod 755 "$policy"
  fi
  echo "==> installing ${quiet[*]} (services not started)"
  apt-get install -y -qq --no-install-recommends "${quiet[@]}" >/dev/null
  # Nor at the next boot: the package enables its unit, and the lab starts every sshd it needs itself.
  if [[ " ${quiet[*]} " == *" openssh-server "* ]] && command -v systemctl >/dev/null; then
    systemctl disable --quiet ssh.service ssh.socket 2>/dev/null || true
  fi
fi

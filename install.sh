#!/usr/bin/env bash
# Set-up command 1: builds the .deb, installs it and leaves a running node whose `nanobox status` answers.
# Under systemd the package's unit runs the agent; without systemd as PID 1 (containers, this CI machine)
# this script starts the agent itself, logging to /var/log/nanobox/agent.log.
set -euo pipefail
cd "$(dirname "$0")"
[ "$(id -u)" = 0 ] || { echo "install.sh: installing a package needs root: run sudo ./install.sh" >&2; exit 1; }

scripts/prereqs.sh build
./publish.sh
version=$(sed -n 's:.*<Version>\(.*\)</Version>.*:\1:p' Directory.Build.props)
echo "==> installing dist/nanobox_${version}_amd64.deb"
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "./dist/nanobox_${version}_amd64.deb"

if [ -d /run/systemd/system ]; then
  systemctl enable --now nanobox
elif ! nanobox status >/dev/null 2>&1; then
  echo "==> systemd is not running here: starting the agent in the background (log: /var/log/nanobox/agent.log)"
  mkdir -p /var/log/nanobox
  setsid /usr/bin/nanobox agent >>/var/log/nanobox/agent.log 2>&1 < /dev/null &
fi

for _ in $(seq 50); do
  nanobox status >/dev/null 2>&1 && break
  sleep 0.2
done
nanobox status

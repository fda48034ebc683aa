#!/usr/bin/env bash
# Overlay throughput benchmark (docs/BENCHMARKS.md): a lab of 2 hosts with Docker forms a cluster (firewall
# active); iperf3 (Debian package) measures TCP from a container on h2 to a container on h1 over the overlay
# and host h2 to host h1 on the underlay, alternating, RUNS times SECONDS each; then the overlay with tx
# checksum offload on the VXLAN devices (agents stopped). Needs root (the lab makes network namespaces).
#   bench/overlay-throughput.sh [RUNS] [SECONDS]      (default 3 5)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
seconds=${2:-5}
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

command -v iperf3 >/dev/null || { echo "iperf3 is missing: apt-get install -y iperf3 (scripts/prereqs.sh test)" >&2; exit 1; }
[ -x artifacts/publish/nanobox ] || ./publish.sh --no-deb
dotnet build src/Bench/Bench.csproj -c Release -nologo -v quiet
dotnet src/Bench/bin/Release/net10.0/nanobox-bench.dll overlay-throughput "$runs" "$seconds"

#!/usr/bin/env bash
# Cluster benchmark (docs/BENCHMARKS.md): a lab of 5 + RUNS network-namespace hosts, each running the
# published nanobox; kill -9 to dead everywhere, join visibility, leader failover to a committed write and
# gossip bytes per node, observed through the CLI. Needs root (the lab makes network namespaces).
#   bench/cluster.sh [RUNS]      (default 10)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-10}
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

[ -x artifacts/publish/nanobox ] || ./publish.sh --no-deb
dotnet build src/Bench/Bench.csproj -c Release -nologo -v quiet
dotnet src/Bench/bin/Release/net10.0/nanobox-bench.dll cluster "$runs"

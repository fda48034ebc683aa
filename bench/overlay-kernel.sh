#!/usr/bin/env bash
# Overlay kernel benchmark (docs/BENCHMARKS.md): programs N = 10, 100, 1000 peers' FDB and neighbour entries
# on a vxlan device in a scratch network namespace, and removes them, through the rtnetlink library
# in-process, iproute2 with a process per entry, and iproute2 batch mode; then times a reconcile read.
# Needs root (it makes a network namespace; nothing outside it changes).
#   bench/overlay-kernel.sh [RUNS]      (default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

dotnet build src/Bench/Bench.csproj -c Release -nologo -v quiet
dotnet src/Bench/bin/Release/net10.0/nanobox-bench.dll overlay-kernel "$runs"

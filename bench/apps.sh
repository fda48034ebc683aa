#!/usr/bin/env bash
# Apps deploy benchmark (docs/BENCHMARKS.md): a lab of 3 network-namespace hosts, each with its own dockerd
# and the published nanobox, formed into a cluster. Each run starts the same 30 containers twice, side by
# side: `nanobox app deploy` (until `ps --json` shows all 30 running) and plain `docker run -d` one by one,
# 10 per host engine; prints both and their ratio. Needs root (the lab makes network namespaces).
#   bench/apps.sh [RUNS]      (default 5)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

[ -x artifacts/publish/nanobox ] || ./publish.sh --no-deb
dotnet build src/Bench/Bench.csproj -c Release -nologo -v quiet
dotnet src/Bench/bin/Release/net10.0/nanobox-bench.dll apps "$runs"

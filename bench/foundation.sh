#!/usr/bin/env bash
# Foundation benchmark (docs/BENCHMARKS.md): the shipped Native AOT binary against a baseline built from
# the same code without AOT (self-contained single-file, JIT), side by side in one run.
# Runs standalone agents in throwaway dirs: a standalone node changes nothing in the kernel.
#   bench/foundation.sh [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-20}
version=$(sed -n 's:.*<Version>\(.*\)</Version>.*:\1:p' Directory.Build.props)

[ -x artifacts/publish/nanobox ] && [ -f "dist/nanobox_${version}_amd64.deb" ] || ./publish.sh
echo "==> building the baseline (same code, JIT, self-contained single-file)"
dotnet publish src/Node/Node.csproj -c Release -r linux-x64 --self-contained -p:PublishAot=false -p:PublishSingleFile=true \
  -p:DebugType=none -o artifacts/bench/jit -nologo -v quiet
dotnet build src/Bench/Bench.csproj -c Release -nologo -v quiet
dotnet src/Bench/bin/Release/net10.0/nanobox-bench.dll foundation \
  artifacts/publish/nanobox artifacts/bench/jit/nanobox "dist/nanobox_${version}_amd64.deb" "$runs"

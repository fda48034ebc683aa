#!/usr/bin/env bash
# Set-up command 2: installs the test prerequisites and runs every test: unit tests, the lab tests (real
# network namespaces, nftables, a dockerd per lab host, the published AOT binary) and the package tests.
# Fails loudly if the lab cannot start: a run that skipped the lab has not tested the product.
set -euo pipefail
cd "$(dirname "$0")"
[ "$(id -u)" = 0 ] || { echo "test.sh: the lab needs root (network namespaces, nftables, dockerd): run sudo ./test.sh" >&2; exit 1; }

scripts/prereqs.sh build run test
./publish.sh

results=artifacts/test-results
rm -rf "$results"
status=0
# A test that hangs is aborted after 10 minutes with a dump naming it, instead of eating CI's time.
dotnet test Nanobox.sln -c Release --nologo --logger "console;verbosity=normal" --logger "trx;LogFileName=results.trx" \
  --blame-hang-timeout 10m --results-directory "$results" "$@" || status=$?

# One closing line that any CI reads: counts from the run's own report.
trx=$(find "$results" -name results.trx | head -1)
if [ -z "$trx" ]; then
  echo "test.sh: no test report was written; the test run did not happen" >&2
  exit 1
fi
counters=$(grep -o '<Counters [^>]*>' "$trx")
count() { sed -n "s/.* $1=\"\([0-9]*\)\".*/\1/p" <<< "$counters"; }
# CI may keep only the tail of the output: name the failed tests right above the counts.
grep -o 'testName="[^"]*"[^>]*outcome="Failed"' "$trx" | sed 's/^testName="\([^"]*\)".*/Failed test: \1/' || true
echo "Tests: $(count passed) passed, $(count failed) failed, $(( $(count total) - $(count executed) )) skipped"
[ "$(count executed)" -gt 0 ] || { echo "test.sh: no test ran" >&2; exit 1; }
exit "$status"

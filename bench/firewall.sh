#!/usr/bin/env bash
# Firewall benchmark (docs/BENCHMARKS.md): one peer added and removed with 10, 1 000 and 10 000 peers in the
# set, and the whole ruleset replaced, the product's path (RulesetRenderer + libnftables in-process) against
# one iptables rule per peer (an `iptables` process per change, `iptables-restore --noflush` to replace),
# side by side in one run. Everything runs in a network namespace of its own (`unshare --net`) that dies
# with the benchmark; the host's ruleset is compared before and after. Needs root.
#   bench/firewall.sh [RUNS]      (default 20)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-20}
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

missing=()
for command in nft iptables iptables-restore iptables-save ip6tables-save unshare; do
  command -v "$command" >/dev/null || missing+=("$command")
done
ldconfig -p | grep -q 'libnftables\.so\.1 ' || missing+=(libnftables.so.1)
if [ ${#missing[@]} -gt 0 ]; then
  echo "missing: ${missing[*]}; install them with \`apt install nftables libnftables1 iptables util-linux\` (or scripts/prereqs.sh run test)" >&2
  exit 1
fi

# The host's own firewall, counters masked: the benchmark must leave it exactly as it was.
host_firewall() {
  { nft list ruleset; iptables-save; ip6tables-save; } 2>&1 | sed -E '/^#/d; s/packets [0-9]+ bytes [0-9]+//; s/\[[0-9]+:[0-9]+\]//'
}
before=$(host_firewall)

dotnet build src/Bench/Bench.csproj -c Release -nologo -v quiet
# Tiered compilation off: every method is fully optimised from its first call, as in the Native AOT product.
DOTNET_TieredCompilation=0 unshare --net -- dotnet src/Bench/bin/Release/net10.0/nanobox-bench.dll firewall "$runs"

after=$(host_firewall)
if [ "$before" == "$after" ]; then
  echo "host network namespace: \`nft list ruleset\`, \`iptables-save\` and \`ip6tables-save\` unchanged ($(printf '%s' "$before" | grep -c . || true) lines before and after)"
else
  echo "host network namespace: FIREWALL CHANGED during the benchmark:" >&2
  diff <(printf '%s\n' "$before") <(printf '%s\n' "$after") >&2 || true
  exit 1
fi

#!/usr/bin/env bash
# Builds the shipped artefacts: the Native AOT `nanobox` binary (linux-x64, trimmed, single file, any
# IL2xxx/IL3xxx warning fails the build) into artifacts/publish/, then the .deb into dist/.
#   ./publish.sh            binary and .deb
#   ./publish.sh --no-deb   binary only
set -euo pipefail
cd "$(dirname "$0")"

build_deb=1
for arg in "$@"; do
  case "$arg" in
    --no-deb) build_deb=0 ;;
    *) echo "usage: $0 [--no-deb]" >&2; exit 64 ;;
  esac
done

out=artifacts/publish
version=$(sed -n 's:.*<Version>\(.*\)</Version>.*:\1:p' Directory.Build.props)

echo "==> publishing nanobox $version (Native AOT, linux-x64) to $out/"
rm -rf "$out"
mkdir -p artifacts
log=artifacts/publish.log
dotnet publish src/Node/Node.csproj -c Release -r linux-x64 -o "$out" -nologo 2>&1 | tee "$log"
# ILC reports trim/AOT warnings as errors (TreatWarningsAsErrors); make sure none slipped through as text.
if grep -E 'warning IL[23][0-9]{3}' "$log"; then
  echo "publish.sh: trim/AOT warnings found (see above); they must be fixed, not ignored" >&2
  exit 1
fi
rm -f "$log"
test -x "$out/nanobox"
"$out/nanobox" --version

if [ "$build_deb" = 1 ]; then
  packaging/deb/build-deb.sh "$out/nanobox" "$version" dist
fi

#!/usr/bin/env bash
# Builds the nanobox Debian package from an already published binary:
#   packaging/deb/build-deb.sh BINARY VERSION OUTDIR   ->   OUTDIR/nanobox_<VERSION>_amd64.deb
# publish.sh calls it as: packaging/deb/build-deb.sh artifacts/publish/nanobox 0.1.0 dist
#
# The package's files live next to this script as real files (control, conffiles, postinst, prerm,
# postrm, nanobox.service, nanobox.toml, copyright); this script only stages them under
# artifacts/deb/, fills in the control fields that depend on the build, and runs dpkg-deb.
# docs/PACKAGING.md describes the result.
set -euo pipefail

if [ "$#" -ne 3 ]; then
  echo "usage: $0 BINARY VERSION OUTDIR" >&2
  exit 64
fi

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
# Relative arguments are relative to the caller's directory, resolved before anything changes it.
binary=$(realpath "$1")
version=$2
outdir=$(realpath -m "$3")

if [ ! -x "$binary" ]; then
  echo "build-deb.sh: $1 is not an executable file (run ./publish.sh --no-deb first)" >&2
  exit 66
fi
# Debian version syntax (upstream version, optional -revision); dpkg-deb would refuse worse later.
if ! [[ "$version" =~ ^[0-9][A-Za-z0-9.+~]*(-[A-Za-z0-9.+~]+)?$ ]]; then
  echo "build-deb.sh: '$version' is not a valid Debian version" >&2
  exit 65
fi
# The binary must be the version we are packaging (catches a stale artifacts/publish).
binary_version=$("$binary" --version)
if [ "${version%%-*}" != "$binary_version" ]; then
  echo "build-deb.sh: $binary reports version '$binary_version', not '${version%%-*}'" >&2
  exit 65
fi

maintainer=${NANOBOX_DEB_MAINTAINER:-Nanobox Node authors <maintainers@nanobox.invalid>}
# Timestamps inside the package come from the last commit, so rebuilding a commit gives the same .deb.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git -C "$root" log -1 --format=%ct 2>/dev/null || date +%s)}

# Maintainer scripts: POSIX sh syntax always; shellcheck where it is installed (apt install shellcheck).
for script in postinst prerm postrm; do
  sh -n "$here/$script"
done
if command -v shellcheck >/dev/null 2>&1; then
  shellcheck --shell=sh "$here/postinst" "$here/prerm" "$here/postrm"
else
  echo "build-deb.sh: shellcheck not installed; maintainer scripts only syntax-checked" >&2
fi

# ---- Run-time dependencies ------------------------------------------------------------------------
# The binary is Native AOT: ldd shows only libc and libm (both in libc6). The rest are loaded with
# dlopen or run as programs, which dpkg-shlibdeps cannot see, so each is named here:
#   libc6 (>= the newest GLIBC_x.y symbol version the binary references): libc.so.6, libm.so.6.
#   nftables      - the `nft` command: the agent runs it, and operators inspect the agent's table with it.
#   libnftables1  - libnftables.so.1, P/Invoked (dlopen) to apply the default-deny firewall atomically.
#   iproute2      - the `ip` command: VXLAN links, neighbour/FDB entries and routes of the overlay.
#   docker.io | docker-ce | docker-engine - the Docker engine the agent runs app containers on,
#                   through /var/run/docker.sock (Debian's package, Docker Inc.'s, and the old name).
#   libssl3 | libssl1.1 - .NET's System.Security.Cryptography loads libssl.so.3 (or .1.1) at run time
#                   for TLS between nodes and for verifying updates.
#   ca-certificates - the system trust store (/etc/ssl/certs) .NET uses to verify TLS servers
#                   (update downloads).
glibc_min=$(grep -aoE 'GLIBC_[0-9]+\.[0-9]+(\.[0-9]+)?' "$binary" | sed 's/^GLIBC_//' | sort -uV | tail -n 1)
libc_dep=libc6${glibc_min:+ (>= $glibc_min)}
depends="$libc_dep, nftables, libnftables1, iproute2, docker.io | docker-ce | docker-engine, libssl3 | libssl1.1, ca-certificates"

# ---- Staging ---------------------------------------------------------------------------------------
stage=$root/artifacts/deb/nanobox_${version}_amd64
rm -rf "$stage"
# Files are created with exact modes below, whatever the caller's umask.
umask 022
mkdir -p "$stage/DEBIAN" \
  "$stage/usr/bin" \
  "$stage/lib/systemd/system" \
  "$stage/etc/nanobox" \
  "$stage/var/lib/nanobox" \
  "$stage/usr/share/doc/nanobox"

install -m 0755 "$binary" "$stage/usr/bin/nanobox"
install -m 0644 "$here/nanobox.service" "$stage/lib/systemd/system/nanobox.service"
# The config holds no secret today, so operators (who may run `nanobox status` without root) can
# read admin.socket from it. Revisit the mode when it gains one.
install -m 0644 "$here/nanobox.toml" "$stage/etc/nanobox/nanobox.toml"
install -m 0644 "$here/copyright" "$stage/usr/share/doc/nanobox/copyright"
# The node's store: root only (postinst re-applies this to an existing directory).
chmod 0700 "$stage/var/lib/nanobox"

# Debian changelog: changelog.gz for a native version (no -revision), changelog.Debian.gz otherwise
# (Debian policy 12.7).
if [[ "$version" == *-* ]]; then changelog_name=changelog.Debian.gz; else changelog_name=changelog.gz; fi
{
  printf 'nanobox (%s) unstable; urgency=medium\n\n' "$version"
  printf '  * Nanobox Node %s.\n\n' "$version"
  printf ' -- %s  %s\n' "$maintainer" "$(date -u -R -d "@$SOURCE_DATE_EPOCH")"
} | gzip -9n >"$stage/usr/share/doc/nanobox/$changelog_name"
chmod 0644 "$stage/usr/share/doc/nanobox/$changelog_name"

install -m 0755 "$here/postinst" "$here/prerm" "$here/postrm" "$stage/DEBIAN/"
install -m 0644 "$here/conffiles" "$stage/DEBIAN/conffiles"

# Installed-Size: KiB the files take once installed, counted like dpkg-gencontrol (each file rounded
# up to a KiB, one KiB per directory).
installed_size=$(find "$stage" -path "$stage/DEBIAN" -prune -o -printf '%y %s\n' |
  awk '$1 == "f" { kib += int(($2 + 1023) / 1024) } $1 != "f" { kib += 1 } END { print kib }')

sed -e "s|@VERSION@|$version|" \
    -e "s|@MAINTAINER@|$maintainer|" \
    -e "s|@INSTALLED_SIZE@|$installed_size|" \
    -e "s/@DEPENDS@/$depends/" \
    "$here/control" >"$stage/DEBIAN/control"
chmod 0644 "$stage/DEBIAN/control"
if grep -q '@[A-Z_]*@' "$stage/DEBIAN/control"; then
  echo "build-deb.sh: unfilled placeholder in DEBIAN/control" >&2
  exit 70
fi

find "$stage" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +

# ---- Build -----------------------------------------------------------------------------------------
mkdir -p "$outdir"
deb=$outdir/nanobox_${version}_amd64.deb
rm -f "$deb"
# --root-owner-group: every file root:root in the package, whoever builds it.
dpkg-deb --root-owner-group -Zxz --build "$stage" "$deb"
echo "==> built $deb (Installed-Size $installed_size KiB; Depends: $depends)"

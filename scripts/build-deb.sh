#!/usr/bin/env bash
# Builds the package for the Debian release it runs on from release binaries: on Debian 12,
# dist/access-gateway_<version>_<arch>.deb (`make deb`); on Debian 13 (`make deb-trixie` runs it in
# the trixie root), dist/access-gateway_<version>+deb13_<arch>.deb. dpkg-shlibdeps computes each
# one's Depends from that release's libraries (libgpiod2 or libgpiod3).
#   scripts/build-deb.sh BIN_DIR          # holds access-gateway
#   scripts/build-deb.sh ACCESS_GATEWAY
# access-gateway is both programs (it runs as gatewayctl by that name): the package holds it once,
# with /usr/bin/gatewayctl a symlink to it.
# VERSION defaults to what `access-gateway --version` prints, so the version lives in one place.
# OUT_DIR defaults to dist/. Prints the .deb's path on stdout; everything else goes to stderr.
set -euo pipefail
umask 022

top=$(cd "$(dirname "$0")/.." && pwd)
case $# in
    1) ag=$1; [ -d "$ag" ] && ag=$1/access-gateway ;;
    *) echo "usage: $0 BIN_DIR | ACCESS_GATEWAY" >&2; exit 2 ;;
esac
[ -x "$ag" ] || { echo "build-deb: $ag: no such executable" >&2; exit 1; }
command -v dpkg-shlibdeps >/dev/null || { echo "build-deb: needs dpkg-dev (scripts/install-deps.sh deb)" >&2; exit 1; }

# Only Debian's libraries may be linked dynamically: a Swift runtime from /opt/swift would not be
# on the gateway. ALLOW_FOREIGN_LIBS=1 is for trying the packaging with debug binaries only.
foreign=$(ldd "$ag" | awk '$2 == "=>" && $3 ~ /^\// && $3 !~ /^\/(usr\/)?lib\// {print $3}' | sort -u)
if [ -n "$foreign" ] && [ -z "${ALLOW_FOREIGN_LIBS:-}" ]; then
    echo "build-deb: these libraries are not Debian's; build with --static-swift-stdlib:" >&2
    echo "$foreign" >&2
    exit 1
fi

version=${VERSION:-$("$ag" --version 2>/dev/null | awk 'NR == 1 && $1 == "access-gateway" {print $2}' || true)}
[ -n "$version" ] || { echo "build-deb: $ag --version names no version; set VERSION" >&2; exit 1; }
# A package built on Debian 13 says so in its version ("+deb13" sorts after the plain version), so
# the two releases' packages never share a file name.
release=$(. /etc/os-release 2>/dev/null && echo "${ID:-}${VERSION_ID:-}")
# Debian 13 finished the /usr merge: files go under /usr/lib, never the /lib alias (lintian's
# aliased-location); Debian 12's debhelper still installs units under /lib.
libdir=/lib
if [ "$release" = debian13 ]; then version=$version+deb13 libdir=/usr/lib; fi
arch=$(dpkg --print-architecture)
maintainer=${MAINTAINER:-$(git -C "$top" log -1 --format='%an <%ae>' 2>/dev/null || echo 'AccessGateway maintainers <root@localhost>')}
out=${OUT_DIR:-$top/dist}
deb=$out/access-gateway_${version}_${arch}.deb

# dh's layout (stage/debian/<package>), because dpkg-shlibdeps expects it.
rm -rf "$out/stage"
pkg=$out/stage/debian/access-gateway
mkdir -p "$pkg/DEBIAN"
: >"$out/stage/debian/control"

install -D -m 0755 "$ag" "$pkg/usr/bin/access-gateway"
ln -s access-gateway "$pkg/usr/bin/gatewayctl"
# As dh_strip does: no symbol tables; Swift's metadata sections are not symbols and stay.
strip --remove-section=.comment --remove-section=.note "$pkg/usr/bin/access-gateway"
install -D -m 0644 "$top/systemd/access-gateway.service" "$pkg$libdir/systemd/system/access-gateway.service"
install -D -m 0644 "$top/udev/70-access-gateway.rules" "$pkg$libdir/udev/rules.d/70-access-gateway.rules"
install -D -m 0644 "$top/systemd/gateway.example.toml" "$pkg/etc/access-gateway/gateway.toml"
install -D -m 0644 "$top/scripts/deb/lintian-overrides" "$pkg/usr/share/lintian/overrides/access-gateway"
doc=$pkg/usr/share/doc/access-gateway
# Uncompressed: the unit's Documentation= names this path.
install -D -m 0644 "$top/docs/install.md" "$doc/install.md"
# The drop-in that narrows the unit to loopback and HQ, for sites that know HQ's addresses.
install -D -m 0644 "$top/systemd/hq-only.conf" "$doc/hq-only.conf"

# The binaries link the Swift runtime and the Swift packages statically: their licences go into the
# copyright file, each distinct text once. The packages are SwiftPM's checkouts beside the bin dir.
checkouts=${CHECKOUTS:-$(realpath -m "$(dirname "$ag")/../../checkouts")}
[ -d "$checkouts" ] || echo "build-deb: warning: no $checkouts: the copyright file lists no Swift packages" >&2
swift_licence=$(realpath -m "$(command -v swift || echo /opt/swift/usr/bin/swift)/../../share/swift/LICENSE.txt")
{
    echo "access-gateway: Copyright (C) the AccessGateway authors. The source tree names no licence."
    echo
    echo "/usr/bin/access-gateway (also /usr/bin/gatewayctl, a link to it) statically links the Swift"
    echo "runtime and Swift packages from the list below. Their licences follow."
    declare -A seen=()
    # Apache-2.0 asks for the NOTICE files too; vendored C code keeps its licence under Sources/.
    for lic in "$swift_licence" "$checkouts"/*/{LICENSE,NOTICE,COPYING}* "$checkouts"/*/Sources/*/LICENSE*; do
        [ -f "$lic" ] || continue
        name=${lic#"$checkouts"/}; [ "$lic" = "$swift_licence" ] && name="the Swift runtime"
        # Debian ships the Apache text once (lintian insists): keep what follows it, such as the
        # Swift runtime's library exception.
        if grep -q 'Version 2.0, January 2004' "$lic"; then
            text=$(echo "The Apache License 2.0: /usr/share/common-licenses/Apache-2.0"
                awk '/limitations under the License\./ {end = NR} {line[NR] = $0} END {for (i = end + 1; i <= NR; i++) print line[i]}' "$lic")
        else
            text=$(cat "$lic")
        fi
        sum=$(md5sum <<<"$text" | cut -c1-32)
        echo; echo "==== $name ===="
        if [ -n "${seen[$sum]:-}" ]; then echo "The same licence as ${seen[$sum]}."; else seen[$sum]=$name; echo "$text"; fi
    done
} | cat -s >"$doc/copyright"
stamp=$(git -C "$top" log -1 --format=%ct 2>/dev/null || date +%s)
{
    echo "access-gateway ($version) unstable; urgency=medium"
    echo
    echo "  * Built from $(git -C "$top" describe --always --dirty 2>/dev/null || echo 'an unknown revision') by make deb."
    echo
    echo " -- $maintainer  $(date -R -u -d "@$stamp")"
} | gzip -9n >"$doc/changelog.gz"
chmod 0644 "$doc/copyright" "$doc/changelog.gz"

for script in postinst prerm postrm; do install -m 0755 "$top/scripts/deb/$script" "$pkg/DEBIAN/$script"; done
# dpkg keeps an edited conffile on upgrade (and asks, or obeys --force-confold/confnew).
echo /etc/access-gateway/gateway.toml >"$pkg/DEBIAN/conffiles"

shlibs=$(cd "$out/stage" && dpkg-shlibdeps -O ${ALLOW_FOREIGN_LIBS:+--ignore-missing-info} \
    debian/access-gateway/usr/bin/access-gateway 2>/dev/null |
    sed -n 's/^shlibs:Depends=//p')
[ -n "$shlibs" ] || { echo "build-deb: dpkg-shlibdeps found no dependencies" >&2; exit 1; }
cat >"$pkg/DEBIAN/control" <<CONTROL
Package: access-gateway
Version: $version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $(du -sk --exclude=DEBIAN "$pkg" | cut -f1)
Depends: $shlibs, passwd, init-system-helpers (>= 1.54~)
Recommends: systemd, udev
Section: misc
Priority: optional
Description: access-control gateway for door readers
 One small Linux board at each entrance: it decodes a member's QR pass from
 a camera, verifies the signed pass offline against keys and a booking
 snapshot cached in SQLite, pulses the door relay through libgpiod and keeps
 a tamper-evident audit log that it uploads to HQ.
 .
 This package holds the daemon (access-gateway), its administration tool
 (gatewayctl, the same program by another name), the hardened systemd
 unit, the udev rules that give the access-gateway group the GPIO and
 camera devices, and an example configuration in
 /etc/access-gateway/gateway.toml.
CONTROL
(cd "$pkg" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum >DEBIAN/md5sums)
chmod 0644 "$pkg/DEBIAN/control" "$pkg/DEBIAN/conffiles" "$pkg/DEBIAN/md5sums"

rm -f "$deb"
dpkg-deb --root-owner-group --build "$pkg" "$deb" >&2
echo "$deb"

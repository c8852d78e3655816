#!/usr/bin/env bash
# Installs, upgrades, removes and purges the .deb in a scratch root, never touching this machine:
# dpkg --root runs the maintainer scripts outside a chroot with DPKG_ROOT set. Checks the files,
# their modes, the system user, the conffile and that an upgrade keeps the database, the device key
# and the edited configuration; then lintian, when installed. Prints "N passed, N failed".
#   scripts/test-deb.sh dist/access-gateway_<version>_<arch>.deb         (Debian 12, on the host)
#   scripts/test-deb.sh dist/access-gateway_<version>+deb13_<arch>.deb   (Debian 13, in the trixie root)
# Run it on the Debian release the package was built for: the installed binaries run here.
# The checks are single-quoted code that check() evaluates: variables are used only there.
# shellcheck disable=SC2016,SC2034
set -euo pipefail

if [ $# -ne 1 ] || [ ! -f "$1" ]; then echo "usage: $0 PACKAGE.deb" >&2; exit 2; fi
deb=$(realpath "$1")
top=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
R=$work/root
ctl=$work/control

passed=0 failed=0
# check WHAT CONDITION: CONDITION is shell code, evaluated here (it sees this script's variables).
check() {
    if eval "$2"; then passed=$((passed + 1)); echo "ok    $1"; else failed=$((failed + 1)); echo "FAIL  $1"; fi
}
# mode_is PATH MODE UID GID: numeric ids, because the names live in $R/etc, not in this machine's.
mode_is() { [ "$(stat -c '%a %u %g' "$R$1" 2>/dev/null)" = "$2 $3 $4" ]; }
status() { dpkg-query --admindir="$R/var/lib/dpkg" -W -f='${Status} ${Version}' access-gateway 2>/dev/null || true; }
state_sum() { (cd "$R/var/lib/access-gateway" && sha256sum gateway.sqlite device-key.pem); }
enabled() { [ -L "$R/etc/systemd/system/multi-user.target.wants/access-gateway.service" ]; }
host_state() { cat /etc/passwd /etc/group | md5sum; ls -d /var/lib/access-gateway /etc/access-gateway 2>/dev/null || true; }
# --force-depends: the scratch root has no libc6 and friends; the scripts run on this machine's tools.
dpkg_r() { dpkg --root="$R" --force-script-chrootless --force-depends --force-unsafe-io --log=/dev/null "$@"; }

echo "== dpkg-deb -I"
dpkg-deb -I "$deb"
echo "== dpkg-deb -c"
dpkg-deb -c "$deb"
version=$(dpkg-deb -f "$deb" Version)
# /lib on Debian 12, /usr/lib on Debian 13 (the finished /usr merge): where the unit is, the rule is.
libdir=$(dpkg-deb -c "$deb" | awk '$6 ~ /systemd\/system\/access-gateway.service$/ {sub("^\\./", "/", $6); sub("/systemd/system/access-gateway.service$", "", $6); print $6}')

echo "== the archive"
dpkg-deb -e "$deb" "$ctl"
check "every entry is root:root" '[ -z "$(dpkg-deb -c "$deb" | awk '\''$2 != "root/root"'\'')" ]'
check "the config is the one conffile" '[ "$(cat "$ctl/conffiles")" = /etc/access-gateway/gateway.toml ]'
for s in postinst prerm postrm; do
    check "$s is executable, parses and honours DPKG_ROOT" '[ -x "$ctl/$s" ] && sh -n "$ctl/$s" && grep -q DPKG_ROOT "$ctl/$s"'
done

echo "== install $version into a scratch root"
# What dpkg needs under --root (its database) and what useradd --prefix edits.
mkdir -p "$R/var/lib/dpkg/info" "$R/var/lib/dpkg/updates" "$R/var/lib/dpkg/triggers" "$R/etc"
touch "$R/var/lib/dpkg/status" "$R/var/lib/dpkg/available"
echo 'root:x:0:0:root:/root:/bin/bash' >"$R/etc/passwd"
echo 'root:x:0:' >"$R/etc/group"
echo 'root:*::0:99999:7:::' >"$R/etc/shadow"
echo 'root:*::' >"$R/etc/gshadow"
chmod 0640 "$R/etc/shadow" "$R/etc/gshadow"
host_before=$(host_state)

check "dpkg -i $(basename "$deb")" 'dpkg_r -i "$deb"'
user=$(grep '^access-gateway:' "$R/etc/passwd" || true)
uid=$(cut -d: -f3 <<<"$user")
gid=$(grep '^access-gateway:' "$R/etc/group" | cut -d: -f3 || true)
check "installed" '[ "$(status)" = "install ok installed $version" ]'
check "system user access-gateway: uid ${uid:-none} < 1000, home /var/lib/access-gateway, nologin" \
    '[ -n "$uid" ] && [ "$uid" -lt 1000 ] && [ "$(cut -d: -f4,6,7 <<<"$user")" = "$gid:/var/lib/access-gateway:/usr/sbin/nologin" ]'
check "access-gateway 0755 root, gatewayctl a link to it" \
    'mode_is /usr/bin/access-gateway 755 0 0 && [ "$(readlink "$R/usr/bin/gatewayctl")" = access-gateway ]'
check "unit 0644 root, systemd/access-gateway.service" \
    'mode_is $libdir/systemd/system/access-gateway.service 644 0 0 && cmp -s "$R$libdir/systemd/system/access-gateway.service" "$top/systemd/access-gateway.service"'
check "udev rule 0644 root, udev/70-access-gateway.rules" \
    'mode_is $libdir/udev/rules.d/70-access-gateway.rules 644 0 0 && cmp -s "$R$libdir/udev/rules.d/70-access-gateway.rules" "$top/udev/70-access-gateway.rules"'
check "config 0644 root, systemd/gateway.example.toml" \
    'mode_is /etc/access-gateway/gateway.toml 644 0 0 && cmp -s "$R/etc/access-gateway/gateway.toml" "$top/systemd/gateway.example.toml"'
check "/etc/access-gateway 0750 root:access-gateway" 'mode_is /etc/access-gateway 750 0 "$gid"'
check "/var/lib/access-gateway 0700 access-gateway:access-gateway" 'mode_is /var/lib/access-gateway 700 "$uid" "$gid"'
check "dpkg registered the conffile" \
    'dpkg-query --admindir="$R/var/lib/dpkg" -W -f="\${Conffiles}" access-gateway | grep -Eq "^ /etc/access-gateway/gateway.toml [0-9a-f]{32}$"'
check "enabled for multi-user.target" 'enabled'
# The libgpiod the binary links is this release's (libgpiod.so.2 from libgpiod2 on Debian 12,
# libgpiod.so.3 from libgpiod3 on Debian 13), and Depends names that package.
gpiod_so=$(ldd "$R/usr/bin/access-gateway" 2>/dev/null | awk '/libgpiod\.so/ {print $3}')
gpiod_pkg=$( [ -n "$gpiod_so" ] && dpkg -S "$(realpath "$gpiod_so")" 2>/dev/null | head -1 | cut -d: -f1 || true)
check "links ${gpiod_so:-no libgpiod} (${gpiod_pkg:-no package}), and Depends names it" \
    '[ -n "$gpiod_pkg" ] && dpkg-deb -f "$deb" Depends | tr "," "\n" | grep -q "^ *$gpiod_pkg\b"'
check "this machine's users, groups, /etc and /var/lib untouched" '[ "$(host_state)" = "$host_before" ]'
out=$("$R/usr/bin/access-gateway" --version 2>&1) && rc=0 || rc=$?
echo "      access-gateway --version: $(head -1 <<<"${out:-(nothing)}")"
check "the installed access-gateway runs" '[ "$rc" -eq 0 ]'
if [[ $out == access-gateway* ]]; then # a real build, not a stand-in binary
    check "the installed config passes access-gateway --check" \
        '"$R/usr/bin/access-gateway" --config "$R/etc/access-gateway/gateway.toml" --check'
    # Run by the link's name, the one binary is gatewayctl.
    help=$("$R/usr/bin/gatewayctl" --help 2>&1 || true)
    check "the installed gatewayctl runs as gatewayctl" 'grep -q "^USAGE: gatewayctl " <<<"$help"'
fi

echo "== a provisioned gateway: an edited config, a database and a device key"
sed -i 's/^on_stale = "deny"/on_stale = "grant"/' "$R/etc/access-gateway/gateway.toml"
echo '# edited on site' >>"$R/etc/access-gateway/gateway.toml"
head -c 65536 /dev/urandom >"$R/var/lib/access-gateway/gateway.sqlite"
printf -- '-----BEGIN PRIVATE KEY-----\n%s\n-----END PRIVATE KEY-----\n' "$(head -c 48 /dev/urandom | base64)" \
    >"$R/var/lib/access-gateway/device-key.pem"
chown "$uid:$gid" "$R"/var/lib/access-gateway/*
chmod 0600 "$R"/var/lib/access-gateway/*
before=$(state_sum)

# The next version also changes the example config: dpkg meets an edited conffile whose packaged
# version changed too, the case where it would ask. --force-confold answers "keep mine".
next=$version+upgradetest1
dpkg-deb -R "$deb" "$work/next"
sed -i "s/^Version: .*/Version: $next/" "$work/next/DEBIAN/control"
echo '# a comment from the next version' >>"$work/next/etc/access-gateway/gateway.toml"
(cd "$work/next" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum >DEBIAN/md5sums)
# gzip -1: the test package is thrown away, and xz takes minutes on the release binaries.
dpkg-deb --root-owner-group -Zgzip -z1 --build "$work/next" "$work/next.deb" >/dev/null

echo "== upgrade to $next"
check "dpkg --force-confold -i (the upgrade)" 'dpkg_r --force-confold -i "$work/next.deb"'
check "upgraded" '[ "$(status)" = "install ok installed $next" ]'
check "the edited config is kept" 'grep -q "^# edited on site" "$R/etc/access-gateway/gateway.toml"'
check "the new example is beside it as gateway.toml.dpkg-dist" \
    'grep -q "from the next version" "$R/etc/access-gateway/gateway.toml.dpkg-dist"'
check "database and device key unchanged" '[ "$(state_sum)" = "$before" ]'
check "device key still 0600 access-gateway" 'mode_is /var/lib/access-gateway/device-key.pem 600 "$uid" "$gid"'
check "/var/lib/access-gateway still 0700 access-gateway" 'mode_is /var/lib/access-gateway 700 "$uid" "$gid"'
check "one access-gateway user, the same" '[ "$(grep "^access-gateway:" "$R/etc/passwd")" = "$user" ]'
check "still enabled" 'enabled'

echo "== remove"
check "dpkg -r" 'dpkg_r -r access-gateway'
check "removed, config files kept" '[ "$(status)" = "deinstall ok config-files $next" ]'
check "binaries and unit gone" '[ ! -e "$R/usr/bin/access-gateway" ] && [ ! -e "$R$libdir/systemd/system/access-gateway.service" ]'
check "config, database and device key kept" \
    'grep -q "^# edited on site" "$R/etc/access-gateway/gateway.toml" && [ "$(state_sum)" = "$before" ]'

echo "== purge"
check "dpkg -P" 'dpkg_r -P access-gateway'
check "purged" '[ -z "$(status)" ]'
check "config and /var/lib/access-gateway deleted" '[ ! -e "$R/etc/access-gateway" ] && [ ! -e "$R/var/lib/access-gateway" ]'
check "the system user stays (Debian policy)" 'grep -q "^access-gateway:" "$R/etc/passwd"'
check "no enable link left" '! enabled'
check "this machine still untouched" '[ "$(host_state)" = "$host_before" ]'

if command -v lintian >/dev/null; then
    echo "== lintian"
    # Errors fail the test; warnings and notes are shown. Justified overrides ship in the package.
    findings=$(lintian --display-info --pedantic "$deb" 2>&1 | grep -v 'running with root privileges' || true)
    echo "${findings:-(no findings)}"
    check "lintian reports no errors" '! grep -q "^E:" <<<"$findings"'
else
    echo "== lintian: not installed (scripts/install-deps.sh deb installs it), skipped"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]

#!/usr/bin/env bash
# The Debian 13 "trixie" root the Debian 13 stages build and test in: a debootstrap minbase root in
# .cache/trixie/root (gitignored), made from the Debian archive apt already reaches. Nothing is
# installed on the host but debootstrap (scripts/install-deps.sh).
#
#   scripts/trixie-root.sh                 make or refresh the root; prints its path
#   scripts/trixie-root.sh run CMD...      run CMD in the root, as root, in the worktree's copy
#                                          at /src, with /opt/swift and /opt/swift-packages bound
#
# The root is reused while its package versions stand: each call runs `apt-get update` and
# installs or upgrades the packages below (a no-op when nothing changed), so a Debian 13 point
# release is picked up and an unchanged root costs seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$PWD
cache=$src/.cache/trixie
root=$cache/root
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

# What the issue names for building the package on Debian 13, exactly, with --no-install-recommends.
BUILD_PACKAGES=(build-essential pkg-config libzbar-dev libqrencode-dev libgpiod-dev libsqlite3-dev zlib1g-dev
    libzxing-dev git ca-certificates libcurl4t64 libxml2 libedit2 libncurses6 python3)
# Test-only extras (README lists them): the sqlite3 shell, node and systemd-analyze that tests call;
# gpiod's tools; xz, zstd, kmod and busybox for the hardware stage's kernel and initramfs; dpkg-dev and lintian for
# the Debian 13 package; pip with cwt's dependencies for the python interop peer; Pillow for the real-photo
# tests. The kernel, its headers and linux-source-6.12 are downloaded by the hardware stage, never installed.
TEST_PACKAGES=(sqlite3 nodejs systemd gpiod dpkg-dev lintian xz-utils zstd kmod busybox-static
    python3-pip python3-cbor2 python3-cryptography python3-pil)
# The python interop peer, as on the host (scripts/install-deps.sh): its pure-python wheels are
# fetched by the host's pip into .cache/trixie/wheels, the rest comes from Debian.
PIP_PACKAGES=(cwt==3.3.0 'pyhpke>=0.5.3,<1')

# Each call mounts in a private mount namespace: the mounts vanish with it, and concurrent calls
# (a build and the hardware stage) never see each other's.
if [ "$(id -u)" -eq 0 ] && [ -z "${TRIXIE_NAMESPACE:-}" ]; then
    exec unshare --mount --propagation private env TRIXIE_NAMESPACE=1 "$0" "$@"
fi
bind() { # source target [ro]
    mkdir -p "$2"
    mount --bind "$1" "$2"
    if [ "${3:-}" = ro ]; then mount -o remount,bind,ro "$2"; fi
}
enter() { # the kernel file systems, the toolchain and the worktree
    mount -t proc proc "$root/proc"
    bind /sys "$root/sys"
    bind /dev "$root/dev"
    bind /opt/swift "$root/opt/swift" ro
    bind /opt/swift-packages "$root/opt/swift-packages" ro
    bind "$src" "$root/src"
    # A git worktree's .git names its repository by absolute path: show it there too, so that git
    # (the package's changelog and maintainer) works inside as outside.
    common=$(git -C "$src" rev-parse --path-format=absolute --git-common-dir 2>/dev/null || true)
    case $common in "" | "$src"/*) ;; *) bind "$common" "$root$common" ro ;; esac
    # The shared test vectors sit beside the worktree, as on the host.
    if [ -d "$src/../shared" ]; then bind "$(cd "$src/../shared" && pwd)" "$root/shared" ro; fi
    cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
}
in_root() { chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
    PATH=/opt/swift/usr/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"; }

if [ "$(id -u)" -ne 0 ]; then
    echo "trixie-root: needs root (debootstrap, chroot and bind mounts)" >&2
    exit 77
fi
command -v debootstrap >/dev/null || { echo "trixie-root: debootstrap is missing (scripts/install-deps.sh)" >&2; exit 1; }

mkdir -p "$cache"
if [ ! -x "$root/usr/bin/apt-get" ]; then
    rm -rf "$root.tmp"
    debootstrap --variant=minbase trixie "$root.tmp" "$mirror" >"$cache/debootstrap.log" 2>&1 ||
        { tail -20 "$cache/debootstrap.log" >&2; exit 1; }
    rm -rf "$root" && mv "$root.tmp" "$root"
fi

if [ "${1:-}" = run ]; then
    shift
    enter
    set +e
    in_root bash -c 'cd /src && "$@"' bash "$@"
    status=$?
    set -e
    exit $status
fi

if ! ls "$cache"/wheels/cwt-*.whl >/dev/null 2>&1; then
    python3 -m pip download -q --no-deps -d "$cache/wheels" "${PIP_PACKAGES[@]}" >&2
fi
enter
# Installs what is missing and upgrades what Debian has updated; an unchanged root costs the
# archive's index check only.
in_root bash -c "export DEBIAN_FRONTEND=noninteractive
    set -e
    apt-get update -qq
    missing=\$(dpkg-query -W -f='\${db:Status-Abbrev} \${Package}\n' ${BUILD_PACKAGES[*]} ${TEST_PACKAGES[*]} 2>&1 | grep -cv '^ii ' || true)
    [ \"\$missing\" = 0 ] || apt-get install -y -qq --no-install-recommends ${BUILD_PACKAGES[*]} ${TEST_PACKAGES[*]}
    if apt-get -s upgrade | grep -q '^Inst '; then apt-get upgrade -y -qq; fi
    apt-get clean
    python3 -c 'import cwt' 2>/dev/null ||
        python3 -m pip install -q --break-system-packages --no-index --find-links /src/.cache/trixie/wheels cwt
    " >"$cache/apt.log" 2>&1 || { tail -20 "$cache/apt.log" >&2; exit 1; }
# After the install: a fresh root has no git until apt has put it there.
# The system git config carries the mirror's insteadOf rules: Swift packages resolve as on the host.
git config --system -l 2>/dev/null | grep -E '^url\..*insteadof=' > "$cache/insteadof" || true
in_root bash -c 'rm -f /etc/gitconfig
    while IFS= read -r line; do git config --system --add "${line%%=*}" "${line#*=}"; done < /src/.cache/trixie/insteadof
    git config --system --add safe.directory "*"'
echo "$root"

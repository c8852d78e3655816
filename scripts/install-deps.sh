#!/usr/bin/env bash
# Installs what the build, the tests and the demo need: Debian packages and python packages, and
# schemathesis (pinned) in its own virtual environment, .cache/venv-schemathesis, for
# scripts/api-contract.sh. Idempotent and quick when everything is already there.
#   scripts/install-deps.sh          build + test + demo dependencies
#   scripts/install-deps.sh bench    also the corpus generator's python packages and zxing-cpp's
#                                    Python binding, the benchmark's second decode anchor, and dpkg-dev
#   scripts/install-deps.sh deb      also what `make deb` needs
set -euo pipefail

APT_PACKAGES=(pkg-config libzbar-dev libqrencode-dev libgpiod-dev libsqlite3-dev sqlite3 systemd zlib1g-dev python3 python3-pip
    qemu-system-x86 busybox-static gpiod make gcc-12 xz-utils libzxing-dev nodejs chromium openssl debootstrap
    python3-venv)
PIP_PACKAGES=(cwt==3.3.0 pillow==13.0.0)
if [ "${1:-}" = bench ]; then
    # dpkg-dev: the package section packs the .deb it measures (scripts/build-deb.sh).
    APT_PACKAGES+=(util-linux dpkg-dev)
    PIP_PACKAGES+=(numpy opencv-python-headless segno zxing-cpp==3.1.1)
fi
# `make deb`: dpkg-shlibdeps computes Depends; lintian checks the package.
if [ "${1:-}" = deb ]; then
    APT_PACKAGES+=(dpkg-dev lintian)
fi

sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing Debian packages: ${missing[*]}"
    sudo_if_needed apt-get update -qq
    sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# pip refuses to touch Debian's own python (PEP 668); --break-system-packages only matters there.
pip_install() {
    python3 -m pip install -q "$@" 2>/dev/null || python3 -m pip install -q --break-system-packages "$@"
}
need_pip=()
for p in "${PIP_PACKAGES[@]}"; do
    module=${p%%=*}
    case "$module" in opencv-python-headless) module=cv2 ;; zxing-cpp) module=zxingcpp ;; pillow) module=PIL ;; esac
    python3 -c "import ${module//-/_}" 2>/dev/null || need_pip+=("$p")
done
if [ ${#need_pip[@]} -gt 0 ]; then
    echo "installing python packages: ${need_pip[*]}"
    pip_install "${need_pip[@]}"
fi

# The API contract stage's schemathesis: pinned, from PyPI, in a virtual environment of its own so
# that its dependencies neither meet nor move the system's. Debian's python3 makes it (python3-venv).
SCHEMATHESIS=schemathesis==4.32.5
venv="$(cd "$(dirname "$0")/.." && pwd)/.cache/venv-schemathesis"
if ! compgen -G "$venv/lib/python3*/site-packages/schemathesis-${SCHEMATHESIS#*==}.dist-info" >/dev/null; then
    echo "installing $SCHEMATHESIS into $venv"
    rm -rf "$venv"
    /usr/bin/python3 -m venv "$venv"
    "$venv/bin/python" -m pip install -q "$SCHEMATHESIS"
fi

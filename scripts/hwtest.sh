#!/usr/bin/env bash
# make hwtest: the DoorDriver and camera tests on a Debian kernel under qemu, against gpio-sim and
# vivid's video loopback, each Debian's kernel paired with its own libgpiod:
#
#   scripts/hwtest.sh            Debian 12 (the host): kernel 6.1, libgpiod 1.6, the v1 API
#   scripts/hwtest.sh trixie     Debian 13 (the trixie root, scripts/trixie-root.sh): kernel 6.12,
#                                libgpiod 2.2, the v2 API; gpio-sim built with Debian 13's gcc
#
# scripts/hwtest-prepare.sh fetches the kernel, builds gpio-sim, door-hwtest (in the debug build the
# unit stage of the same Debian made: .build or .build-trixie) and the initramfs tree in that
# Debian (cached in .cache/hw); this script packs it and boots it. Prints
# "N passed, N failed" from inside the VM and fails on any failure or a timeout.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
suite=${1:-bookworm}
start=$(date +%s.%N)
log() { printf '[hwtest %5.1fs] %s\n' "$(awk -v s="$start" -v n="$(date +%s.%N)" 'BEGIN {print n - s}')" "$*"; }

case $suite in
bookworm)
    api=1
    build=$(scripts/hwtest-prepare.sh .build)
    ;;
trixie)
    api=2
    if [ "$(id -u)" -ne 0 ]; then
        echo "hwtest trixie: SKIPPED: the Debian 13 root needs root (debootstrap, chroot, bind mounts)"
        exit 0
    fi
    scripts/trixie-root.sh >/dev/null
    # The root sees the worktree at /src: its build folder is the same one under .cache/hw.
    inside=$(scripts/trixie-root.sh run scripts/hwtest-prepare.sh .build-trixie)
    build=$root/.cache/hw/$(basename "$(echo "$inside" | tail -1)")
    ;;
*)
    echo "usage: scripts/hwtest.sh [bookworm|trixie]" >&2
    exit 2
    ;;
esac
build=$(echo "$build" | tail -1)
log "$suite: initramfs tree in $build"
(cd "$build/initrd" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1 > "$build/initrd.cpio.gz")
log "initramfs packed ($(du -h "$build/initrd.cpio.gz" | cut -f1))"

# Boot. TCG, since KVM here is a nested backend that cannot run stock kernels. HWTEST_GPIOD_API
# reaches init (and door-hwtest) as an environment variable: the API this kernel is paired with.
output=$build/console.log
set +e
timeout 300 qemu-system-x86_64 -accel tcg -m 1024 -smp 1 -nographic -no-reboot \
    -kernel "$build/vmlinux" -initrd "$build/initrd.cpio.gz" \
    -append "console=ttyS0 quiet panic=-1 oops=panic HWTEST_GPIOD_API=$api" > "$output" 2>&1
qemu_status=$?
set -e
sed -n '/HWTEST-BEGIN/,/HWTEST-EXIT/p' "$output" | grep -v '^HWTEST-' | tr -d '\r'
log "VM finished"
summary=$(tr -d '\r' < "$output" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -1 || true)
exit_line=$(tr -d '\r' < "$output" | grep -E '^HWTEST-EXIT' | tail -1 || true)
if [ $qemu_status -eq 124 ]; then echo "hwtest: the VM timed out"; tail -20 "$output"; exit 1; fi
if [ -z "$summary" ]; then echo "hwtest: no summary from the VM"; tail -30 "$output"; exit 1; fi
echo "$summary"
[ "$exit_line" = "HWTEST-EXIT 0" ]

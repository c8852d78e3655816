#!/usr/bin/env bash
# make hwtest: the DoorDriver and camera tests on Debian's own kernel under qemu, against gpio-sim
# and vivid's video loopback.
#
# Everything downloaded or built goes to .cache/hw (gitignored) and is reused: the kernel debs, the
# gpio-sim module (built out of tree, since Debian 12 lacks CONFIG_GPIO_SIM), the uncompressed
# vmlinux and the busybox initramfs. The door tests are one static-stdlib Swift binary.
# Prints "N passed, N failed" from inside the VM and fails on any failure or a timeout.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
cache=$root/.cache/hw
mkdir -p "$cache/debs"
start=$(date +%s.%N)
log() { printf '[hwtest %5.1fs] %s\n' "$(awk -v s="$start" -v n="$(date +%s.%N)" 'BEGIN {print n - s}')" "$*"; }

kernel_abi() {
    apt-cache depends linux-image-amd64 2>/dev/null |
        awk '/Depends: linux-image-[0-9]/ {sub("linux-image-", "", $2); print $2; exit}'
}
abi=$(kernel_abi)
if [ -z "$abi" ]; then apt-get update -qq && abi=$(kernel_abi); fi
[ -n "$abi" ] || { echo "hwtest: cannot find the current Debian kernel ABI"; exit 1; }
version=${abi%-amd64}
log "kernel $abi"
# Everything built from the kernel is kept per ABI, so a Debian kernel update rebuilds it all.
build=$cache/$abi
mkdir -p "$build"

# 1. The kernel, its headers and its source, unpacked but never installed.
# Exact versions: a cached deb of another version (a kernel update since) is not reused.
cd "$cache/debs"
deb_of() { # package -> the .deb of its candidate version, downloading it when missing
    local version file
    version=$(apt-cache policy "$1" | awk '/Candidate:/ {print $2}')
    file=$(ls "${1}_${version//:/%3a}"_*.deb 2>/dev/null | head -1 || true)
    if [ -z "$file" ]; then
        apt-get download -q "$1=$version" >/dev/null 2>&1 || { echo "hwtest: apt-get download $1=$version failed" >&2; exit 1; }
        file=$(ls "${1}_${version//:/%3a}"_*.deb | head -1)
    fi
    echo "$cache/debs/$file"
}
image=$(deb_of "linux-image-$abi")
headers=$(deb_of "linux-headers-$abi")
common=$(deb_of "linux-headers-$version-common")
kbuild=$(deb_of linux-kbuild-6.1)
source=$(deb_of linux-source-6.1)
cd "$build"
if [ ! -f "root/boot/vmlinuz-$abi" ]; then
    rm -rf root && mkdir root
    for deb in "$image" "$headers" "$common" "$kbuild"; do dpkg -x "$deb" root; done
    # The headers' Makefile includes the common part by absolute path; point it into the cache.
    sed -i "s|^include /usr/src/|include $build/root/usr/src/|" "root/usr/src/linux-headers-$abi/Makefile"
fi
log "debs unpacked"

# 2. gpio-sim, out of tree, from the matching source.
if [ ! -f mod/gpio-sim.ko ]; then
    rm -rf src mod && mkdir -p src mod
    dpkg -x "$source" srcdeb
    tar -xJf srcdeb/usr/src/linux-source-6.1.tar.xz -C src --strip-components=1 \
        linux-source-6.1/drivers/gpio/gpio-sim.c linux-source-6.1/kernel/irq/irq_sim.c \
        linux-source-6.1/drivers/gpio/gpiolib.h linux-source-6.1/scripts/extract-vmlinux
    rm -rf srcdeb
    cp src/drivers/gpio/gpio-sim.c mod/gpio-sim-core.c
    cp src/drivers/gpio/gpiolib.h mod/
    # handle_simple_irq(irq_to_desc()) is not exported to modules; generic_handle_irq is.
    sed 's/handle_simple_irq(irq_to_desc(irqnum));/generic_handle_irq(irqnum);/' src/kernel/irq/irq_sim.c > mod/irq_sim.c
    printf 'obj-m := gpio-sim.o\ngpio-sim-y := gpio-sim-core.o irq_sim.o\n' > mod/Kbuild
    make -s -C "root/usr/src/linux-headers-$abi" M="$build/mod" modules >mod/build.log 2>&1 || {
        cat mod/build.log; exit 1; }
fi
log "gpio-sim module built"
if [ ! -f vmlinux ]; then
    sh src/scripts/extract-vmlinux "root/boot/vmlinuz-$abi" > vmlinux.tmp && mv vmlinux.tmp vmlinux
fi
log "vmlinux extracted"

# 3. The tests: one static-stdlib binary (the C libraries stay dynamic), and the C fixture that puts
# a frame on vivid's output.
cd "$root"
swift build -q --product door-hwtest --static-swift-stdlib --scratch-path .build-hw
binary=$(swift build --scratch-path .build-hw --show-bin-path)/door-hwtest
gcc -O2 -Wall -o "$build/vivid-show" scripts/vivid-show.c
log "door-hwtest and vivid-show built"

# 4. The initramfs: busybox, the two modules, the test binary and the libraries it links.
initrd=$build/initrd
rm -rf "$initrd" && mkdir -p "$initrd"/{bin,dev,proc,sys,tmp,lib/modules}
cp /bin/busybox "$initrd/bin/"
kernel=$build/root/lib/modules/$abi/kernel
cp "$kernel/fs/configfs/configfs.ko" "$build/mod/gpio-sim.ko" "$initrd/lib/modules/"
# vivid and what it needs, numbered in load order (busybox insmod resolves nothing itself).
n=10
for module in rc/rc-core cec/core/cec mc/mc v4l2-core/videodev common/videobuf2/videobuf2-common \
    common/videobuf2/videobuf2-v4l2 common/videobuf2/videobuf2-memops common/videobuf2/videobuf2-vmalloc \
    common/videobuf2/videobuf2-dma-contig v4l2-core/v4l2-dv-timings common/v4l2-tpg/v4l2-tpg \
    test-drivers/vivid/vivid; do
    mkdir -p "$initrd/lib/modules/video"
    cp "$kernel/drivers/media/$module.ko" "$initrd/lib/modules/video/$n-$(basename "$module").ko"
    n=$((n + 1))
done
cp "$binary" "$initrd/door-hwtest"
cp "$build/vivid-show" "$initrd/vivid-show"
for lib in $( (ldd "$binary"; ldd "$build/vivid-show") | awk '/=> \// {print $3} /^\t\/lib/ {print $1}' | sort -u); do
    mkdir -p "$initrd$(dirname "$lib")" && cp -L "$lib" "$initrd$lib"
done
cp scripts/hwtest-init.sh "$initrd/init"
chmod +x "$initrd/init"
(cd "$initrd" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1 > "$build/initrd.cpio.gz")
log "initramfs packed ($(du -h "$build/initrd.cpio.gz" | cut -f1))"

# 5. Boot. TCG, since KVM here is a nested backend that cannot run stock kernels.
output=$build/console.log
set +e
timeout 240 qemu-system-x86_64 -accel tcg -m 1024 -smp 1 -nographic -no-reboot \
    -kernel "$build/vmlinux" -initrd "$build/initrd.cpio.gz" \
    -append "console=ttyS0 quiet panic=-1 oops=panic" > "$output" 2>&1
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

#!/usr/bin/env bash
# The part of the hardware stage that belongs to the Debian under test: run on the host for Debian
# 12, inside the trixie root (scripts/trixie-root.sh run) for Debian 13, so that the kernel, the
# gpio-sim module, the compiler and the libraries are that Debian's own.
#
#   scripts/hwtest-prepare.sh SCRATCH
#       SCRATCH: the Swift scratch path of the debug build the unit stage of that Debian made
#       (.build, .build-trixie): door-hwtest is already in it, and the Swift runtime's libraries go
#       into the initramfs like the C ones.
#
# Everything goes to .cache/hw/<kernel ABI> (gitignored) and is reused: the kernel debs (exact
# versions: a kernel update downloads and rebuilds), the gpio-sim module (built out of tree: Debian's
# kernels lack CONFIG_GPIO_SIM), the uncompressed vmlinux, and the initramfs tree. Prints the build
# folder as its last line.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
scratch=$1
cache=$root/.cache/hw
mkdir -p "$cache/debs"
start=$(date +%s.%N)
log() { printf '[hwtest %5.1fs] %s\n' "$(awk -v s="$start" -v n="$(date +%s.%N)" 'BEGIN {print n - s}')" "$*" >&2; }

kernel_abi() {
    apt-cache depends linux-image-amd64 2>/dev/null |
        awk '/Depends: linux-image-[0-9]/ {sub("linux-image-", "", $2); print $2; exit}'
}
abi=$(kernel_abi)
if [ -z "$abi" ]; then apt-get update -qq && abi=$(kernel_abi); fi
[ -n "$abi" ] || { echo "hwtest: cannot find the current Debian kernel ABI" >&2; exit 1; }
version=${abi%-amd64}
series=$(echo "$version" | cut -d. -f1-2)
log "kernel $abi"
build=$cache/$abi
mkdir -p "$build"

# 1. The kernel, its headers and its source, unpacked but never installed.
cd "$cache/debs"
deb_of() { # package -> the .deb of its candidate version, downloading it when missing
    local version file
    version=$(apt-cache policy "$1" | awk '/Candidate:/ {print $2}')
    [ -n "$version" ] && [ "$version" != "(none)" ] || { echo "hwtest: no candidate for $1" >&2; exit 1; }
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
# Debian 12 names it linux-kbuild-6.1, Debian 13 linux-kbuild-<version>: ask the headers.
kbuild=$(deb_of "$(apt-cache depends "linux-headers-$abi" | awk '/Depends: linux-kbuild-/ {print $2; exit}')")
source=$(deb_of "linux-source-$series")
cd "$build"
if [ ! -f "root/boot/vmlinuz-$abi" ]; then
    rm -rf root && mkdir root
    for deb in "$image" "$headers" "$common" "$kbuild"; do dpkg -x "$deb" root; done
    # The headers' Makefile includes the common part by absolute path; point it into the cache.
    sed -i "s|^include /usr/src/|include $build/root/usr/src/|" "root/usr/src/linux-headers-$abi/Makefile"
    # Debian 13's headers find their kbuild tools through /usr/src symlinks; repoint them too.
    for link in $(find "root/usr/src/linux-headers-$abi" -maxdepth 2 -type l); do
        target=$(readlink "$link")
        case $target in /usr/*) ln -sfn "$build/root$target" "$link" ;; esac
    done
fi
log "debs unpacked"

# 2. gpio-sim, out of tree, from the matching source, with this Debian's compiler.
if [ ! -f mod/gpio-sim.ko ]; then
    rm -rf src mod srcdeb && mkdir -p src mod
    dpkg -x "$source" srcdeb
    tar -xJf "srcdeb/usr/src/linux-source-$series.tar.xz" -C src --strip-components=1 \
        "linux-source-$series/drivers/gpio/gpio-sim.c" "linux-source-$series/kernel/irq/irq_sim.c" \
        "linux-source-$series/drivers/gpio/gpiolib.h" "linux-source-$series/scripts/extract-vmlinux"
    rm -rf srcdeb
    cp src/drivers/gpio/gpio-sim.c mod/gpio-sim-core.c
    cp src/drivers/gpio/gpiolib.h mod/
    # handle_simple_irq(irq_to_desc()) is not exported to modules; generic_handle_irq is.
    sed 's/handle_simple_irq(irq_to_desc(irqnum));/generic_handle_irq(irqnum);/' src/kernel/irq/irq_sim.c > mod/irq_sim.c
    printf 'obj-m := gpio-sim.o\ngpio-sim-y := gpio-sim-core.o irq_sim.o\n' > mod/Kbuild
    # No BTF for the module: Debian 13's kernel would want pahole for it, and loading needs none.
    make -s -C "root/usr/src/linux-headers-$abi" M="$build/mod" CONFIG_DEBUG_INFO_BTF_MODULES= modules >mod/build.log 2>&1 || {
        cat mod/build.log >&2; exit 1; }
fi
log "gpio-sim module built"
if [ ! -f vmlinux ]; then
    # Debian 12's kernel is xz-compressed, Debian 13's zstd: extract-vmlinux needs the tool.
    sh src/scripts/extract-vmlinux "root/boot/vmlinuz-$abi" > vmlinux.tmp && [ -s vmlinux.tmp ] || {
        echo "hwtest: cannot extract vmlinux (xz and zstd installed?)" >&2; exit 1; }
    mv vmlinux.tmp vmlinux
fi
log "vmlinux extracted"

# 3. The tests: one binary (the C libraries stay dynamic: this Debian's libgpiod), and the C fixture
# that puts a frame on vivid's output.
cd "$root"
swift build -q --product door-hwtest --scratch-path "$scratch" >&2
binary=$(swift build --scratch-path "$scratch" --show-bin-path)/door-hwtest
gcc -O2 -Wall -o "$build/vivid-show" scripts/vivid-show.c
log "door-hwtest and vivid-show built"

# 4. The initramfs tree: busybox, the modules, the test binary and the libraries it links.
initrd=$build/initrd
rm -rf "$initrd" && mkdir -p "$initrd"/{bin,dev,proc,sys,tmp,lib/modules}
cp /bin/busybox "$initrd/bin/"
# Debian 12's kernel package puts its modules under /lib/modules, Debian 13's under /usr/lib/modules.
kernel=$(ls -d "$build/root/usr/lib/modules/$abi/kernel" "$build/root/lib/modules/$abi/kernel" 2>/dev/null | head -1 || true)
# Debian 13 ships modules xz-compressed; busybox insmod wants them plain.
module() { # path-without-.ko destination
    if [ -f "$1.ko" ]; then cp "$1.ko" "$2"; else xz -dc "$1.ko.xz" > "$2"; fi
}
module "$kernel/fs/configfs/configfs" "$initrd/lib/modules/configfs.ko"
cp "$build/mod/gpio-sim.ko" "$initrd/lib/modules/"
# vivid and what it needs, numbered in load order (busybox insmod resolves nothing itself).
mkdir -p "$initrd/lib/modules/video"
n=10
for name in rc/rc-core cec/core/cec mc/mc v4l2-core/videodev common/videobuf2/videobuf2-common \
    common/videobuf2/videobuf2-v4l2 common/videobuf2/videobuf2-memops common/videobuf2/videobuf2-vmalloc \
    common/videobuf2/videobuf2-dma-contig v4l2-core/v4l2-dv-timings common/v4l2-tpg/v4l2-tpg \
    test-drivers/vivid/vivid; do
    module "$kernel/drivers/media/$name" "$initrd/lib/modules/video/$n-$(basename "$name").ko"
    n=$((n + 1))
done
# Without its debug info: a third of the size, and the VM unpacks the initramfs into its memory.
strip --strip-debug -o "$initrd/door-hwtest" "$binary"
cp "$build/vivid-show" "$initrd/vivid-show"
for lib in $( (ldd "$binary"; ldd "$build/vivid-show") | awk '/=> \// {print $3} /^\t\/lib/ {print $1}' | sort -u); do
    mkdir -p "$initrd$(dirname "$lib")" && cp -L "$lib" "$initrd$lib"
done
cp scripts/hwtest-init.sh "$initrd/init"
chmod +x "$initrd/init"
log "initramfs tree ready"
echo "$build"

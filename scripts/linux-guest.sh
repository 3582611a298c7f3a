#!/bin/sh
# Builds the ringvm Linux guest: Debian's stock i686 kernel and a busybox
# initramfs whose /init runs a few workloads (scripts/guest-init/), plus
# expected.txt, the workloads' results on the host with the same busybox.
#
#   scripts/linux-guest.sh [--out DIR]        build (default DIR: guest-linux)
#   scripts/linux-guest.sh --interactive      build, then boot a shell in ringvm
#   scripts/linux-guest.sh --qemu [--interactive]
#                                             build, boot in qemu-system-i386 (optional cross-check)
#   scripts/linux-guest.sh --qemu-loader      build, then have QEMU boot the kernel from the exact
#                                             RAM state ringvm's Linux loader makes; compare results
#
# Downloaded .debs are kept in DIR/debs, so a second run needs no network.
# Exit status 2: packages could not be downloaded.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=guest-linux
mode=build
shell=
while [ $# -gt 0 ]; do
	case $1 in
	--out) out=$2; shift ;;
	--interactive) shell=1; [ $mode = build ] && mode=ringvm ;;
	--qemu) mode=qemu ;;
	--qemu-loader) mode=qemu-loader ;;
	*) echo "usage: $0 [--out DIR] [--interactive] [--qemu] [--qemu-loader]" >&2; exit 1 ;;
	esac
	shift
done
# The kernel command line (docs/boot.md says why each word is there).
APPEND=${APPEND:-"console=ttyS0 earlyprintk=ttyS0 reboot=k panic=-1 nokaslr tsc=reliable"}

mkdir -p "$out/debs"
out=$(cd "$out" && pwd)
debs=$out/debs

have_deb() { ls "$debs"/$1_*.deb >/dev/null 2>&1; }

fetch() {
	# apt-get download wants a writable cwd; run it where the .debs go.
	(cd "$debs" && apt-get download "$@" >/dev/null 2>&1)
}

if ! have_deb 'linux-image-*-686' || ! have_deb busybox-static; then
	if ! dpkg --print-foreign-architectures | grep -qx i386; then
		dpkg --add-architecture i386
	fi
	# A mirror mid-sync can fail one index; go on if the packages resolve.
	apt-get update -qq >/dev/null 2>&1 || echo "linux-guest: apt-get update reported errors, trying anyway" >&2
	kpkg=$(apt-cache depends linux-image-686:i386 2>/dev/null | sed -n 's/^ *Depends: \(linux-image-[^ ]*-686\)\(:i386\)\{0,1\}$/\1/p' | head -1)
	if [ -z "$kpkg" ]; then
		echo "linux-guest: cannot resolve linux-image-686:i386" >&2
		exit 2
	fi
	have_deb "$kpkg" || fetch "$kpkg:i386" || { echo "linux-guest: cannot download $kpkg:i386" >&2; exit 2; }
	have_deb busybox-static || fetch busybox-static:i386 || { echo "linux-guest: cannot download busybox-static:i386" >&2; exit 2; }
fi
command -v cpio >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq cpio >/dev/null

stage=$out/stage
rm -rf "$stage"
mkdir -p "$stage/deb" "$stage/root"
# The newest of each, should the cache hold more than one version.
kdeb=$(ls "$debs"/linux-image-*-686_*.deb | sort -V | tail -1)
bdeb=$(ls "$debs"/busybox-static_*.deb | sort -V | tail -1)
dpkg-deb -x "$kdeb" "$stage/deb"
dpkg-deb -x "$bdeb" "$stage/deb"
cp "$(ls "$stage"/deb/boot/vmlinuz-* | head -1)" "$out/vmlinuz"
basename "$kdeb" >"$out/kernel-package.txt"

# The initramfs: busybox, its applet links, /init and the workloads.
r=$stage/root
mkdir -p "$r/bin" "$r/proc" "$r/sys" "$r/dev" "$r/tmp" "$r/etc" "$r/root"
cp "$stage/deb/bin/busybox" "$r/bin/busybox"
for a in $("$r/bin/busybox" --list); do
	[ "$a" = busybox ] || ln -s busybox "$r/bin/$a"
done
ln -s bin "$r/sbin"
cp "$here/guest-init/init" "$r/init"
cp "$here/guest-init/workloads.sh" "$r/workloads.sh"
cp "$here/guest-init/udhcpc.script" "$r/etc/udhcpc.script"
chmod 755 "$r/init" "$r/etc/udhcpc.script"
# The virtio drivers from the same kernel package, and the small minix
# file system the disk tests use, uncompressed, with the order /init
# loads them in (each after what it depends on); /init loads them only
# when the machine has a virtio device and the running kernel is theirs.
kver=$(ls "$stage/deb/lib/modules" | head -1)
kmod=$stage/deb/lib/modules/$kver/kernel
mkdir -p "$r/lib/modules/$kver"
for m in drivers/virtio/virtio_ring drivers/virtio/virtio drivers/virtio/virtio_pci_legacy_dev \
	drivers/virtio/virtio_pci_modern_dev drivers/virtio/virtio_pci drivers/block/virtio_blk net/core/failover \
	drivers/net/net_failover drivers/net/virtio_net drivers/char/hw_random/virtio-rng drivers/char/virtio_console \
	fs/minix/minix; do
	b=$(basename "$m").ko
	if [ -f "$kmod/$m.ko" ]; then
		cp "$kmod/$m.ko" "$r/lib/modules/$kver/$b"
	elif [ -f "$kmod/$m.ko.xz" ]; then
		xz -dc "$kmod/$m.ko.xz" >"$r/lib/modules/$kver/$b"
	else
		echo "linux-guest: $m.ko not in $(basename "$kdeb") (built in?), skipped" >&2
		continue
	fi
	echo "$b" >>"$r/lib/modules/$kver/load-order"
done
# The kernel opens /dev/console before /init runs; creating the node needs
# root (init falls back to devtmpfs without it).
mknod -m 600 "$r/dev/console" c 5 1 2>/dev/null || true
# Fixed time stamps, sorted names, root owner: the same inputs give the
# same initrd.gz, byte for byte.
find "$r" -exec touch -h -d @0 {} +
repro=
cpio --help 2>/dev/null | grep -q -- --reproducible && repro=--reproducible # inode numbers too
(cd "$r" && find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0 $repro) | gzip -9 -n >"$out/initrd.gz"

# Reference results: the same workloads, the same busybox, on the host.
bbin=$stage/hostbin
mkdir -p "$bbin" "$stage/tmp"
for a in $("$r/bin/busybox" --list); do ln -s "$r/bin/busybox" "$bbin/$a"; done
env -i PATH="$bbin" WL_BIN="$bbin" TMPDIR="$stage/tmp" "$bbin/sh" -c '. "$1"; wl_run_all' sh "$r/workloads.sh" \
	>"$stage/host.log"
grep '^RINGVM-END ' "$stage/host.log" >"$out/expected.txt"
if grep -q FAILED "$out/expected.txt"; then
	echo "linux-guest: a workload failed on the host:" >&2
	cat "$out/expected.txt" >&2
	exit 1
fi
echo "$APPEND" >"$out/cmdline.txt"
rm -rf "$stage"
echo "linux-guest: $out/vmlinuz $out/initrd.gz $out/expected.txt ($(cat "$out/kernel-package.txt"))"

case $mode in
ringvm)
	BUILD=${BUILD:-build}
	exec "$BUILD/ringvm" ${ACCEL:+--accel "$ACCEL"} -m 256 --kernel "$out/vmlinuz" --initrd "$out/initrd.gz" \
		--no-reboot --append "$APPEND ringvm.shell" ;;
qemu)
	exec qemu-system-i386 -kernel "$out/vmlinuz" -initrd "$out/initrd.gz" -m 256 -nographic -no-reboot \
		-append "$APPEND${shell:+ ringvm.shell}" ;;
qemu-loader)
	# tests/test_boot_vmlinuz.c loads the guest with src/boot/linux.c and
	# writes the RAM it made plus a small multiboot shim that copies it
	# into place in QEMU and jumps to the 32-bit entry as our board does.
	q=$out/qemu-loader
	mkdir -p "$q"
	src=$here/..
	${CC:-cc} -std=c11 -D_GNU_SOURCE -O1 -I"$src/src" "$src/tests/test_boot_vmlinuz.c" "$src"/src/boot/*.c -o "$q/loadtest"
	LINUX_GUEST_DIR=$out RINGVM_QEMU_SHIM=$q RINGVM_APPEND="$APPEND" "$q/loadtest"
	timeout 600 qemu-system-i386 -kernel "$q/shim.elf" -initrd "$q/low.bin,$q/kernel.bin,$q/initrd.bin" \
		-m 256 -nographic -no-reboot </dev/null | tr -d '\r' | tee "$q/console.log"
	if grep -a '^RINGVM-END ' "$q/console.log" | cmp -s - "$out/expected.txt"; then
		echo "linux-guest: QEMU booted from ringvm's loader state; results equal expected.txt"
	else
		echo "linux-guest: results differ from expected.txt (log: $q/console.log)" >&2
		exit 1
	fi ;;
esac

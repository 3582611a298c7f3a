#!/bin/sh
# `make bench`: gets what the benchmark needs, then runs bench/bench.py.
# The Makefile has built $BUILD/ringvm, $BUILD/bench/ips, $BUILD/bench/tschz
# and the embedded guest's ELF ($GUEST_ELF) before this runs.
#
# Installs with apt-get when missing: qemu-system-x86 (the peer we compare
# against: qemu-system-i386) and python3 (the driver; Debian's /usr/bin/python3,
# standard library only). Builds the Linux
# guest (scripts/linux-guest.sh) when missing or older than its scripts.
set -eu
BUILD=${BUILD:-build}
dir=${LINUX_GUEST_DIR:-guest-linux}
GUEST_ELF=${GUEST_ELF:-$BUILD/guest/ringos.elf}
QEMU=${BENCH_QEMU:-qemu-system-i386}

apt_install() {
	echo "bench: installing $* (apt-get)" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1 ||
		{ apt-get update -qq >/dev/null 2>&1 || true; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null; }
}

# python3-minimal alone lacks modules the driver uses (statistics, shutil).
py=/usr/bin/python3
if ! "$py" -c 'import statistics, shutil, argparse' >/dev/null 2>&1; then
	apt_install python3
fi
command -v "$QEMU" >/dev/null 2>&1 || apt_install qemu-system-x86
command -v "$QEMU" >/dev/null 2>&1 || { echo "bench: $QEMU not found, and qemu-system-x86 did not install" >&2; exit 1; }

# The guest, rebuilt as tests/t_linux_boot.sh does when stale.
LINUX_GUEST_DIR=$dir . tests/linux_guest.sh
if lg_stale; then
	echo "bench: building the Linux guest in $dir (scripts/linux-guest.sh)" >&2
	mkdir -p "$BUILD/bench"
	sh scripts/linux-guest.sh --out "$dir" >"$BUILD/bench/linux-guest-build.log" 2>&1 ||
		{ tail -20 "$BUILD/bench/linux-guest-build.log" >&2; echo "bench: building the Linux guest failed" >&2; exit 1; }
fi

exec "$py" bench/bench.py --build "$BUILD" --guest-elf "$GUEST_ELF" --linux "$dir" --qemu "$QEMU" \
	--runs "${BENCH_RUNS:-3}" --command "${BENCH_CMD:-make bench}"

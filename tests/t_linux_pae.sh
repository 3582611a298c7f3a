#!/bin/sh
# Debian's linux-image-686-pae kernel (what Debian installs on every i386
# machine since 2006) on a Pentium 4 model with 6 GiB of RAM: 3 GiB below
# the PCI hole and 3 GiB from 4 GiB up, which only PAE paging reaches.
# The kernel must take the memory above 4 GiB (e820 and its HighMem zone),
# run with NX active (EFER.NXE, XD in its page tables), and the workloads
# of the usual guest's /init must give the host's results (expected.txt).
#
# The kernel package is downloaded once (apt-get download, as
# scripts/linux-guest.sh does for the 686 kernel) and kept in
# guest-linux-pae/debs; the initrd is the usual guest's (a module built
# for the 686 kernel just does not load). Skips (77) only when the package
# cannot be downloaded. cryptomgr.notests: the kernel's crypto self-tests
# are most of a boot and test nothing of ringvm's that the workloads do not.
BUILD=${BUILD:-build}
engine=${RINGVM_ENGINE:-bt}
log=$BUILD/t_linux_pae.log
pae=${LINUX_PAE_DIR:-guest-linux-pae}
. tests/linux_guest.sh
lg_prepare

mkdir -p "$pae/debs"
have() { ls "$pae"/debs/linux-image-*-686-pae_*.deb >/dev/null 2>&1; }
if ! have; then
	dpkg --print-foreign-architectures | grep -qx i386 || dpkg --add-architecture i386
	apt-get update -qq >/dev/null 2>&1
	kpkg=$(apt-cache depends linux-image-686-pae:i386 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[^ ]*-686-pae\)\(:i386\)\{0,1\}$/\1/p' | head -1)
	[ -n "$kpkg" ] && (cd "$pae/debs" && apt-get download "$kpkg:i386" >/dev/null 2>&1)
	have || { echo "skip: linux-image-686-pae:i386 cannot be downloaded"; exit 77; }
fi
kdeb=$(ls "$pae"/debs/linux-image-*-686-pae_*.deb | sort -V | tail -1)
if [ ! -f "$pae/vmlinuz" ] || [ "$kdeb" -nt "$pae/vmlinuz" ]; then
	rm -rf "$pae/stage" && mkdir -p "$pae/stage"
	dpkg-deb --fsys-tarfile "$kdeb" | (cd "$pae/stage" && tar -x --wildcards './boot/vmlinuz-*') &&
		cp "$pae"/stage/boot/vmlinuz-* "$pae/vmlinuz" || { echo "FAIL: no vmlinuz in $kdeb"; exit 1; }
	rm -rf "$pae/stage"
fi
echo "kernel: $(basename "$kdeb")"

lg_mem=6G lg_kernel=$pae/vmlinuz RINGVM_CPU=pentium4
export RINGVM_CPU
lg_boot "$log" "$engine" "$(cat "$dir/cmdline.txt") cryptomgr.notests"
echo "boot and workloads: ${lg_secs}s, exit status $lg_status"

fail=0
if [ -n "$lg_why" ]; then
	echo "FAIL: killed ringvm: $lg_why"
	fail=1
fi
lg_need 'BIOS-e820: \[mem 0x0000000100000000-0x00000001bfffffff\] usable' "e820: 3 GiB usable at 4 GiB"
lg_need 'HighMem  *\[mem 0x[0-9a-f]*-0x00000001bfffffff\]' "HighMem zone reaches past 4 GiB (PAE)"
lg_need 'NX (Execute Disable) protection: active' "NX active"
# "Memory: 6135188K/6291064K available": more than 4 GiB of it
kb=$(grep -ao 'Memory: [0-9]*K/' "$log.txt" | head -1 | tr -dc 0-9)
if [ -n "$kb" ] && [ "$kb" -gt 4194304 ]; then
	echo "  ok   the kernel has ${kb} KiB (> 4 GiB)"
else
	echo "  FAIL the kernel reports ${kb:-no} KiB, want > 4 GiB"
	fail=1
fi
lg_need '^RINGVM-DONE' "the workloads all ran"
lg_results "$log.txt" || fail=1
if [ "$lg_status" -ne 0 ]; then
	echo "FAIL: ringvm exited with status $lg_status, expected 0 after poweroff"
	fail=1
fi
if [ $fail -ne 0 ]; then
	echo "--- last lines of the console ($log):"
	tail -15 "$log.txt"
fi
exit $fail

#!/bin/sh
# The Debian Linux guest booted the way a PC boots it: Debian's SeaBIOS
# (--bios) loads GRUB (Debian's grub-pc-bin: boot.img in the MBR,
# core.img with biosdisk, part_msdos, ext2 and linux after it) from the
# IDE disk; GRUB reads vmlinuz and initrd.gz from an ext2 partition
# through INT 13h and boots Linux, which finds the board's ACPI tables
# (placed by SeaBIOS from fw_cfg's table loader), runs the workloads and
# powers off through ACPI S5. The image is built here without root:
# mke2fs -d fills the file system, python3 writes the partition table.
# The workloads' results must be the host's (guest-linux/expected.txt), on two
# CPUs (-smp 2: nproc must say so).
BUILD=${BUILD:-build}
bin="$BUILD/ringvm"
bios=/usr/share/seabios/bios.bin
grub=/usr/lib/grub/i386-pc
engine=${RINGVM_ENGINE:-bt}
[ -x "$bin" ] || { echo "t_seabios_linux: no $bin"; exit 1; }
[ -f "$bios" ] || { echo "skip: no $bios (Debian's seabios package)"; exit 77; }
[ -f "$grub/boot.img" ] && command -v grub-mkimage >/dev/null || { echo "skip: no GRUB for BIOS (Debian's grub-pc-bin)"; exit 77; }
mke2fs=$(command -v mke2fs || echo /sbin/mke2fs)
[ -x "$mke2fs" ] || { echo "skip: no mke2fs (e2fsprogs)"; exit 77; }
command -v python3 >/dev/null || { echo "skip: no python3"; exit 77; }
. tests/linux_guest.sh
lg_prepare
tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; echo "FAIL: $*" >>"$tmp/fails"; fails=$((fails + 1)); }

mkdir -p "$tmp/root/boot"
cp "$dir/vmlinuz" "$dir/initrd.gz" "$tmp/root/boot/"
size=$(( ($(du -k "$tmp/root" | tail -1 | cut -f1) + 2048) / 1024 + 1 ))
"$mke2fs" -q -t ext2 -d "$tmp/root" -F "$tmp/fs.img" "${size}M" >/dev/null || { fail "mke2fs -d failed"; exit 1; }
cat >"$tmp/grub.cfg" <<EOF2
set root=(hd0,msdos1)
linux /boot/vmlinuz $(cat "$dir/cmdline.txt")
initrd /boot/initrd.gz
boot
EOF2
grub-mkimage -O i386-pc -o "$tmp/core.img" -p '(hd0,msdos1)/boot/grub' -c "$tmp/grub.cfg" \
	biosdisk part_msdos ext2 linux boot || { fail "grub-mkimage failed"; exit 1; }
# MBR: boot.img's code (its blocklist finds core.img at sector 1, where
# grub-mkimage's diskboot expects the rest at sector 2 on), one bootable
# Linux partition from sector 2048.
python3 - "$grub/boot.img" "$tmp/core.img" "$tmp/fs.img" "$tmp/disk.img" <<'PY' || { fail "cannot build the disk image"; exit 1; }
import sys
boot, core, fs = (open(p, "rb").read() for p in sys.argv[1:4])
start = 2048
assert len(core) <= (start - 1) * 512, len(core)
mbr = bytearray(512)
mbr[:440] = boot[:440]
e = bytearray(16)
e[0], e[4] = 0x80, 0x83
e[1:4] = e[5:8] = b"\xfe\xff\xff"  # CHS beyond 8 GB: LBA only
e[8:12] = start.to_bytes(4, "little")
e[12:16] = (len(fs) // 512).to_bytes(4, "little")
mbr[446:462] = e
mbr[510:512] = b"\x55\xaa"
open(sys.argv[4], "wb").write(bytes(mbr) + core + bytes(start * 512 - 512 - len(core)) + fs)
PY

# Two CPUs: SeaBIOS counts them by INIT-SIPI-SIPI and hands over its
# tables, Linux starts the second again (SEABIOS_SMP=1 for one).
smp=${SEABIOS_SMP:-2}
start=$(date +%s)
"$bin" --accel "$engine" -m 256 -smp "$smp" --bios "$bios" -hda "$tmp/disk.img" </dev/null >"$tmp/out" 2>"$tmp/err" &
pid=$!
# Progress, not speed: give up only after 300 s without console output.
last=0 n=0 quiet=0
while kill -0 "$pid" 2>/dev/null; do
	sleep 1
	sz=$(wc -c <"$tmp/out")
	if [ "$sz" -ne "$last" ]; then last=$sz; quiet=0; else quiet=$((quiet + 1)); fi
	[ $quiet -ge 300 ] && { fail "no console output for 300 s"; kill "$pid"; break; }
done
wait "$pid"
rc=$?
pid=
secs=$(($(date +%s) - start))
tr -d '\r' <"$tmp/out" >"$tmp/out.txt"
for want in "Booting from Hard Disk" "Welcome to GRUB" "Linux version" "ACPI: RSDP" "ACPI: PM-Timer IO Port: 0xb008" \
	"RINGVM-INIT" "RINGVM-DONE" "RINGVM-NPROC $smp"; do
	grep -aqF "$want" "$tmp/out.txt" || fail "no '$want' on the console"
done
grep -a '^RINGVM-END ' "$tmp/out.txt" >"$tmp/results"
diff "$dir/expected.txt" "$tmp/results" >"$tmp/diff" || { fail "workload results differ from the host's:"; cat "$tmp/diff"; }
[ $rc -eq 0 ] || fail "exit status $rc, want 0 (poweroff -f through ACPI S5)"
if [ $fails -ne 0 ]; then
	echo "--- console (last 40 lines)"; tail -40 "$tmp/out.txt"; echo "--- stderr"; tail -20 "$tmp/err"
	# again last: the test runner shows a failing test's last lines
	echo "--- $fails failures:"; cat "$tmp/fails"
	exit 1
fi
echo "ok: SeaBIOS -> GRUB -> Linux from the IDE disk, $(wc -l <"$tmp/results") workloads as on the host, ACPI power-off, ${secs}s"

#!/bin/sh
# Debian's SeaBIOS (the seabios package's bios.bin) through --bios on the
# i440FX/PIIX3 board: it shadows itself with the PAM registers, reads
# fw_cfg (e820, sercon-port, bootorder, boot-menu-wait), finds the PIIX3
# and the IDE controller on PCI, and talks through its serial console.
# The test builds a disk image (tests/seabios_disk/: a boot sector and a
# second stage, assembled here) and:
#  1. with -boot menu=on, waits for "Press ESC for boot menu.", sends ESC
#     over the serial line, sees the menu list the IDE disk, picks it;
#  2. the boot sector reads 32 sectors through INT 13h's extended read
#     (SeaBIOS's ATA PIO driver) and prints their byte sum, which must be
#     the host's;
#  3. the second stage reads the same sectors by bus-master DMA (READ DMA
#     with a PRD table) and compares, writes a sector through INT 13h,
#     reads it back, and powers off through ACPI PM1a_CNT (status 0);
#     the written sector must be in the image file afterwards.
BUILD=${BUILD:-build}
bin="$BUILD/ringvm"
bios=/usr/share/seabios/bios.bin
[ -x "$bin" ] || { echo "t_seabios: no $bin"; exit 1; }
[ -f "$bios" ] || { echo "skip: no $bios (Debian's seabios package)"; exit 77; }
command -v python3 >/dev/null || { echo "skip: no python3 to build the disk image"; exit 77; }
tmp=$(mktemp -d)
pid=
trap 'exec 3>&- 2>/dev/null; [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

d=tests/seabios_disk
gcc -m32 -c "$d/boot.S" -o "$tmp/boot.o" 2>"$tmp/as.err" &&
	ld -m elf_i386 -N -Ttext=0x7c00 -e _start --oformat binary -o "$tmp/boot.bin" "$tmp/boot.o" 2>>"$tmp/as.err" &&
	gcc -m32 -c "$d/stage2.S" -o "$tmp/stage2.o" 2>>"$tmp/as.err" &&
	ld -m elf_i386 -N -Ttext=0 -e _start --oformat binary -o "$tmp/stage2.bin" "$tmp/stage2.o" 2>>"$tmp/as.err" ||
	{ cat "$tmp/as.err"; echo "skip: cannot assemble 16-bit code here"; exit 77; }
# The image: boot sector, stage 2 (two sectors), 30 sectors of seeded
# random bytes, zeros to 1 MiB. Prints the byte sum of sectors 1-32.
sum=$(python3 - "$tmp" <<'PY'
import random, sys
t = sys.argv[1]
boot = open(t + "/boot.bin", "rb").read()
st = open(t + "/stage2.bin", "rb").read()
assert len(boot) == 512 and len(st) <= 1024, (len(boot), len(st))
r = random.Random(13)
data = st + bytes(1024 - len(st)) + bytes(r.randrange(256) for _ in range(30 * 512))
open(t + "/disk.img", "wb").write(boot + data + bytes((1 << 20) - 512 - len(data)))
print("%04X" % (sum(data) & 0xFFFF))
PY
) || { fail "cannot build the disk image"; exit 1; }

mkfifo "$tmp/in"
start=$(date +%s)
"$bin" --accel "${RINGVM_ENGINE:-bt}" -m 64 --bios "$bios" -hda "$tmp/disk.img" \
	-boot menu=on,splash-time=5000 --debugcon "$tmp/bios.log" <"$tmp/in" >"$tmp/out" 2>"$tmp/err" &
pid=$!
exec 3>"$tmp/in"
# wait_for TEXT SECONDS
wait_for() {
	n=0
	while ! grep -q "$1" "$tmp/out" 2>/dev/null; do
		[ $n -ge $(($2 * 10)) ] && return 1
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.1
		n=$((n + 1))
	done
}
if wait_for "Press ESC for boot menu" 30; then
	printf '\033' >&3
	if wait_for "1\. ata0-0: RINGVM HARDDISK" 10; then
		sleep 0.2
		printf '1' >&3
	else
		fail "no boot menu listing the IDE disk after ESC"
	fi
else
	fail "SeaBIOS did not offer its boot menu"
fi
n=0
while kill -0 "$pid" 2>/dev/null && [ $n -lt 300 ]; do sleep 0.1; n=$((n + 1)); done
kill "$pid" 2>/dev/null
wait "$pid"
rc=$?
pid=
exec 3>&-
secs=$(($(date +%s) - start))
tr -d '\r' <"$tmp/out" >"$tmp/out.txt"
for want in "SeaBIOS (version" "Select boot device:" "Booting from Hard Disk" "ringvm test boot sector" \
	"sectors 1-32 sum $sum" "stage 2 running" "bus-master DMA read matches" \
	"INT 13h write and read back match"; do
	grep -qF "$want" "$tmp/out.txt" || fail "no '$want' on the console"
done
[ $rc -eq 0 ] || fail "exit status $rc, want 0 (ACPI power-off)"
dd if="$tmp/disk.img" bs=512 skip=1 count=1 2>/dev/null >"$tmp/s1"
dd if="$tmp/disk.img" bs=512 skip=100 count=1 2>/dev/null >"$tmp/s100"
cmp -s "$tmp/s1" "$tmp/s100" || fail "sector 100 of the image does not hold what the guest wrote"
grep -q "Relocating init" "$tmp/bios.log" || fail "SeaBIOS did not relocate its init code (PAM)"
grep -q "QEMU fw_cfg DMA interface supported" "$tmp/bios.log" || fail "SeaBIOS did not find fw_cfg DMA"
if [ $fails -ne 0 ]; then
	echo "--- console"; cat "$tmp/out.txt"; echo "--- stderr"; cat "$tmp/err"; echo "--- SeaBIOS log"; tail -30 "$tmp/bios.log"
	exit 1
fi
echo "ok: SeaBIOS menu, INT 13h reads (sum $sum), DMA, write-back, power-off in ${secs}s"

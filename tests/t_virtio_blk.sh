#!/bin/sh
# virtio-blk, virtio-rng and virtio-console with the Debian guest
# (docs/virtio.md). Two boots:
#  1. the guest writes a 200 KB file of random bytes (from virtio-rng's
#     /dev/hwrng) to a minix file system on a virtio disk, syncs, and
#     prints its checksum; ringvm is then killed with SIGKILL. The same
#     boot has a read-only drive: its contents must read back as the
#     image holds them, a write must fail (Linux sees VIRTIO_BLK_F_RO and
#     refuses it even after blockdev --setrw; the device's own IOERR for
#     writes is test_dev_virtio's), and the image's checksum on the host
#     must not change; and the guest writes a line to the virtio
#     console, which must reach the file its -chardev names. Every
#     virtio interrupt line in /proc/interrupts must be the kernel's
#     PCI-MSI (MSI-X, docs/virtio.md), and virtio-blk's request vector
#     must have counted interrupts: completions came as MSI messages.
#  2. a new ringvm boots with the same image; /init mounts it
#     (ringvm.disk=/dev/vda) and the guest prints the file's checksum:
#     it must equal the one of boot 1. This boot has pci=nomsi: the
#     devices must work on INTx (IO-APIC lines in /proc/interrupts).
BUILD=${BUILD:-build}
. tests/linux_guest.sh
. tests/virtio_guest.sh
lg_prepare
if ! command -v mkfs.minix >/dev/null 2>&1 && [ ! -x /sbin/mkfs.minix ]; then
	echo "skip: mkfs.minix (util-linux) is not installed"
	exit 77
fi
PATH=$PATH:/sbin:/usr/sbin
t=$BUILD/t_virtio_blk
rm -rf "$t"
mkdir -p "$t"
fail=0
# Bad device options: status 1 and a message naming the problem.
refuse() { # refuse REGEX ARGS...
	want=$1
	shift
	msg=$("$ringvm" "$@" </dev/null 2>&1)
	st=$?
	if [ $st -ne 1 ] || ! echo "$msg" | grep -q -- "$want"; then
		echo "FAIL: ringvm $* gave status $st: $msg"
		fail=1
	fi
}
refuse "No such file" -drive "file=$t/none.img,if=virtio"
refuse "no qcow2" -drive "file=$t/none.img,if=virtio,format=qcow2"
refuse "No such file" -drive "file=$t/none.img,if=ide"
refuse "is not supported" -drive "file=$t/none.img,if=scsi"
refuse "readonly= takes on or off" -drive "file=$t/none.img,if=virtio,readonly=maybe"
refuse "not a regular file or block device" -drive "file=/dev/null,if=virtio"
: >"$t/empty.img"
refuse "smaller than one 512-byte sector" -drive "file=$t/empty.img,if=virtio"
refuse "no drive 'd1'" -drive "file=$t/none.img,if=none,id=d0" -device virtio-blk-pci,drive=d1
refuse "needs id=ID and path=FILE" -chardev file,id=c0
truncate -s 8M "$t/disk.img"
mkfs.minix "$t/disk.img" >/dev/null || { echo "FAIL: mkfs.minix"; exit 1; }
head -c 1M /dev/urandom >"$t/ro.img"
ro_sum=$(sha256sum <"$t/ro.img")

cat >"$t/s1.sh" <<'G'
mkdir -p /mnt
mount /dev/vda /mnt || echo "RINGVM-T mount failed"
head -c 200000 /dev/hwrng >/mnt/data.bin
echo "RINGVM-T written $(sha256sum </mnt/data.bin | cut -d' ' -f1)"
sync
echo "RINGVM-T ro-before $(sha256sum </dev/vdc | cut -d' ' -f1)"
blockdev --setrw /dev/vdc
if dd if=/dev/zero of=/dev/vdc bs=4096 count=4 oflag=direct 2>/tmp/dd.err; then
	echo "RINGVM-T ro-write accepted"
else
	echo "RINGVM-T ro-write refused: $(head -1 /tmp/dd.err)"
fi
echo "virtconsole says hello" >/dev/hvc0
grep virtio /proc/interrupts | sed 's/^ */RINGVM-T irq /'
echo "RINGVM-T synced"
sleep 600
G
vg_script "$t/s1.sh"
vg_start "$t/boot1.log" "ringvm.script=/dev/vdb" \
	-drive "file=$t/disk.img,if=virtio,format=raw" -drive "file=$t/s1.sh,if=virtio,readonly=on" \
	-drive "file=$t/ro.img,if=virtio,readonly=on" -device virtio-rng-pci \
	-device virtconsole,chardev=c0 -chardev "file,id=c0,path=$t/hvc0.txt"
if vg_wait "$t/boot1.log" "^RINGVM-T synced" 300; then
	kill -9 $vg_pid
fi
vg_end 5
tr -d '\r' <"$t/boot1.log" >"$t/boot1.txt"
grep -a '^RINGVM-T' "$t/boot1.txt" | sed 's/^/  guest: /'
written=$(sed -n 's/^RINGVM-T written \([0-9a-f]*\)$/\1/p' "$t/boot1.txt")
if ! grep -aq '^RINGVM-T synced' "$t/boot1.txt"; then
	echo "FAIL: boot 1 never finished its script"
	tail -30 "$t/boot1.txt"
	exit 1
fi
[ $vg_status -eq 137 ] || { echo "FAIL: ringvm was not the one killed by SIGKILL (status $vg_status)"; fail=1; }
[ ${#written} -eq 64 ] || { echo "FAIL: no checksum of the written file"; fail=1; }
[ "$written" != "$(printf '' | sha256sum | cut -d' ' -f1)" ] || { echo "FAIL: the written file is empty (no virtio-rng?)"; fail=1; }
grep -aq '^RINGVM-T ro-write refused: ' "$t/boot1.txt" || { echo "FAIL: a write to the read-only drive was not refused"; fail=1; }
grep -aq "^RINGVM-T ro-before $(echo "$ro_sum" | cut -d' ' -f1)" "$t/boot1.txt" ||
	{ echo "FAIL: the guest read other bytes than the read-only image holds"; fail=1; }
[ "$(sha256sum <"$t/ro.img")" = "$ro_sum" ] || { echo "FAIL: the read-only image changed"; fail=1; }
[ "$(vg_irqs "$t/boot1.txt" PCI-MSI 'virtio[0-9]*-req')" -gt 0 ] ||
	{ echo "FAIL: no virtio-blk request interrupt came through MSI-X"; fail=1; }
grep -a '^RINGVM-T irq' "$t/boot1.txt" | grep -av PCI-MSI | grep -q . &&
	{ echo "FAIL: a virtio device interrupts through INTx, not MSI-X"; fail=1; }
tr -d '\r' <"$t/hvc0.txt" 2>/dev/null | grep -q '^virtconsole says hello$' || { echo "FAIL: the virtio console's line is not in $t/hvc0.txt"; fail=1; }

cat >"$t/s2.sh" <<'G'
echo "RINGVM-T read $(sha256sum </mnt/data.bin | cut -d' ' -f1)"
grep virtio /proc/interrupts | sed 's/^ */RINGVM-T irq /'
G
vg_script "$t/s2.sh"
vg_start "$t/boot2.log" "pci=nomsi ringvm.disk=/dev/vda ringvm.script=/dev/vdb" \
	-drive "file=$t/disk.img,if=virtio" -drive "file=$t/s2.sh,if=virtio,readonly=on"
vg_end 300
tr -d '\r' <"$t/boot2.log" >"$t/boot2.txt"
grep -a '^RINGVM-\(T\|DISK\)' "$t/boot2.txt" | sed 's/^/  guest: /'
read_back=$(sed -n 's/^RINGVM-T read \([0-9a-f]*\)$/\1/p' "$t/boot2.txt")
if [ -z "$written" ] || [ "$read_back" != "$written" ]; then
	echo "FAIL: after SIGKILL the file reads back as '${read_back:-nothing}', written '$written'"
	fail=1
fi
[ "$(vg_irqs "$t/boot2.txt" IO-APIC 'virtio')" -gt 0 ] ||
	{ echo "FAIL: with pci=nomsi, no virtio interrupt came through INTx (IO-APIC)"; fail=1; }
[ $vg_status -eq 0 ] || { echo "FAIL: boot 2: ringvm exited with status $vg_status"; fail=1; }
if [ $fail -ne 0 ]; then
	echo "--- last lines of boot 2:"
	tail -20 "$t/boot2.txt"
	exit 1
fi
echo "ok"

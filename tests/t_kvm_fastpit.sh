#!/bin/sh
# The kvm engine makes progress however fast the guest's timers run: a
# multiboot kernel programs PIT channel 0 in mode 2 with divisors 1, 2 and
# 48 (1.19 MHz down to 25 kHz), with IRQ0 masked and interrupts off, counts
# to 20,000 between each, prints on the UART and exits through debug-exit.
# Before the fix the run loop found the next PIT deadline already past each
# time it had synced the state in and never entered KVM_RUN. Needs only
# 32-bit protected mode of the host's KVM; skips (77) naming the probe
# result when the host cannot run that (tests/kvm_probe.sh).
BUILD=${BUILD:-build}
bin="$BUILD/ringvm"
[ -x "$bin" ] || { echo "t_kvm_fastpit: no $bin"; exit 1; }
[ -c /dev/kvm ] || { echo "skip: no /dev/kvm on this host"; exit 77; }
command -v gcc >/dev/null && command -v ld >/dev/null || { echo "skip: no gcc/ld to build test kernels"; exit 77; }
. tests/kvm_probe.sh
kvm_need protected # a multiboot kernel without paging or interrupts
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. tests/mbkernel.sh
kernel fastpit <<'EOF2'
	cli
	mov $0xff, %al
	out %al, $0x21          /* every IRQ masked */
	mov $divs, %esi
1:	movzwl (%esi), %ebx
	test %ebx, %ebx
	jz 3f
	mov $0x34, %al
	out %al, $0x43          /* channel 0, lsb/msb, mode 2 */
	mov %bl, %al
	out %al, $0x40
	mov %bh, %al
	out %al, $0x40
	mov $20000, %ecx
2:	loop 2b
	mov $0x3f8, %dx
	mov $'.', %al
	out %al, %dx
	add $2, %esi
	jmp 1b
3:	mov $0x3f8, %dx
	mov $'\n', %al
	out %al, %dx
	mov $0x10, %al
	out %al, $0xf4          /* exit status 33 */
	hlt
divs:	.word 1, 2, 48, 0
EOF2
start=$(date +%s)
timeout 120 "$bin" --accel kvm --no-reboot --kernel "$tmp/fastpit.elf" </dev/null >"$tmp/out" 2>"$tmp/err"
rc=$?
secs=$(($(date +%s) - start))
echo "kvm: exit $rc after ${secs}s, output '$(cat "$tmp/out")'"
if [ $rc -ne 33 ]; then
	cat "$tmp/err"
	[ $rc -eq 124 ] && echo "FAIL: no progress in 120 s with a fast PIT (livelock)" ||
		echo "FAIL: exit status $rc, want 33 (debug-exit 0x10)"
	exit 1
fi
[ "$(cat "$tmp/out")" = "..." ] || { echo "FAIL: output '$(cat "$tmp/out")', want '...'"; exit 1; }
echo "kvm: progress with PIT divisors 1, 2 and 48"

#!/bin/sh
# The board seen from outside: tiny multiboot kernels (assembled here with
# gcc -m32) check the serial console on stdout, the 0xe9 debug console,
# debug-exit statuses, APM power-off, resets with and without --no-reboot,
# HLT with interrupts off, triple fault, the PIT/PIC timer interrupt waking
# HLT while the host stays idle, and SIGTERM handling.
BUILD=${BUILD:-build}
bin="$BUILD/ringvm"
engine=${RINGVM_ENGINE:-interp} # the engine under test (tests/harness.h)
[ -x "$bin" ] || { echo "t_cli_board: no $bin"; exit 1; }
command -v gcc >/dev/null && command -v ld >/dev/null || { echo "skip: no gcc/ld to build test kernels"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

. tests/mbkernel.sh

# run NAME ARGS...: run the kernel, stdout/stderr to $tmp/out, $tmp/err, status in $rc
run() {
	k=$1
	shift
	timeout 20 "$bin" --accel "$engine" --kernel "$tmp/$k.elf" "$@" </dev/null >"$tmp/out" 2>"$tmp/err"
	rc=$?
}

# --- serial, debugcon, debug-exit ---
kernel hello <<'EOF2'
	mov $0x3f8, %dx
	mov $'H', %al
	out %al, %dx
	mov $'i', %al
	out %al, %dx
	mov $'\n', %al
	out %al, %dx
	mov $0xe9, %dx
	in %dx, %al
	out %al, %dx            /* 0xe9 reads back as 0xe9 */
	mov $'D', %al
	out %al, %dx
	mov $0xf4, %dx
	mov $0x21, %al
	out %al, %dx            /* exit status (0x21 << 1) | 1 = 67 */
	hlt
EOF2
run hello --debugcon "$tmp/dcon"
[ "$rc" = 67 ] || fail "debug-exit: status $rc, want 67"
[ "$(cat "$tmp/out")" = "Hi" ] || fail "serial output: '$(cat "$tmp/out")', want 'Hi'"
printf '\351D' | cmp -s - "$tmp/dcon" || fail "debugcon file: $(od -c "$tmp/dcon")"
run hello -debugcon "file:$tmp/dcon2" -m 2M
[ "$rc" = 67 ] && printf '\351D' | cmp -s - "$tmp/dcon2" || fail "QEMU-style -debugcon file:"
run hello
grep -q 'D' "$tmp/err" || fail "debugcon defaults to stderr"
# output through a pipe is flushed
out=$(timeout 20 "$bin" --accel "$engine" --kernel "$tmp/hello.elf" </dev/null 2>/dev/null | cat)
[ "$out" = "Hi" ] || fail "serial output through a pipe: '$out'"

# --- console input through a pipe reaches the UART (polled, no FIFO) ---
kernel echo <<'EOF2'
	mov $0x3fd, %dx         /* LSR */
1:	in %dx, %al
	test $1, %al
	jz 1b
	mov $0x3f8, %dx
	in %dx, %al             /* RBR */
	out %al, %dx            /* echo */
	mov %al, %bl
	mov $0x3fd, %dx
	cmp $'q', %bl
	jne 1b
	mov $0xf4, %dx
	mov $0x10, %al
	out %al, %dx            /* status 33 */
EOF2
head -c 3000 /dev/urandom | tr -d 'q' >"$tmp/in"
printf q >>"$tmp/in"
timeout 20 "$bin" --accel "$engine" --kernel "$tmp/echo.elf" <"$tmp/in" >"$tmp/out" 2>"$tmp/err"
rc=$?
[ "$rc" = 33 ] || fail "echo: status $rc, want 33"
cmp -s "$tmp/in" "$tmp/out" || fail "echo: output differs from input ($(wc -c <"$tmp/out") bytes)"

# --- BIOS ROM: 64 and 128 KiB images start at F000:FFF0 in real mode ---
# (mov $0x3f8,%dx; mov $'B',%al; out; mov $0xf4,%dx; mov $5,%al; out; hlt)
for size in 65536 131072; do
	{ head -c $((size - 16)) /dev/zero; printf '\272\370\003\260\102\356\272\364\000\260\005\356\364\000\000\000'; } >"$tmp/rom.bin"
	for accel in "--accel $engine" ""; do
		timeout 20 "$bin" $accel --bios "$tmp/rom.bin" </dev/null >"$tmp/out" 2>"$tmp/err"
		rc=$?
		[ "$rc" = 11 ] && [ "$(cat "$tmp/out")" = B ] ||
			fail "BIOS $size bytes ${accel:-default engine}: status $rc, output '$(head -c 20 "$tmp/out")'; $(tail -2 "$tmp/err")"
	done
done

# closed standard descriptors are not a problem
timeout 20 "$bin" --accel "$engine" --kernel "$tmp/hello.elf" <&- >"$tmp/out" 2>&-
rc=$?
[ "$rc" = 67 ] && [ "$(cat "$tmp/out")" = "Hi" ] || fail "stdin and stderr closed: status $rc"
timeout 20 "$bin" --accel "$engine" --kernel "$tmp/hello.elf" <&- >&- 2>/dev/null
rc=$?
[ "$rc" = 67 ] || fail "stdin and stdout closed: status $rc"

# --- APM power off: exit 0 ---
kernel off <<'EOF2'
	mov $0x8900, %dx
	mov $'S', %al; out %al, %dx
	mov $'h', %al; out %al, %dx
	mov $'u', %al; out %al, %dx
	mov $'t', %al; out %al, %dx
	mov $'d', %al; out %al, %dx
	mov $'o', %al; out %al, %dx
	mov $'w', %al; out %al, %dx
	mov $'n', %al; out %al, %dx
	mov $0xf4, %dx
	out %al, %dx
EOF2
run off
[ "$rc" = 0 ] || fail "APM shutdown: status $rc, want 0"

# --- HLT with IF=0: message, registers, status 4 ---
kernel halt <<'EOF2'
	mov $0x12345678, %eax
	hlt
EOF2
run halt
[ "$rc" = 4 ] || fail "hlt with interrupts off: status $rc, want 4"
grep -q "processor halted with interrupts disabled" "$tmp/err" || fail "hlt: no message"
grep -q "EAX=12345678" "$tmp/err" || fail "hlt: no register dump"

# --- reset: counts boots in CMOS byte 0x40 (CMOS survives a reset) ---
kernel reset <<'EOF2'
	mov $0x70, %dx
	mov $0x40, %al
	out %al, %dx
	mov $0x71, %dx
	in %dx, %al
	mov %al, %bl
	add $1, %al
	out %al, %dx
	mov $0x3f8, %dx
	mov %bl, %al
	add $'0', %al
	out %al, %dx
	cmp $2, %bl
	je 1f
	mov $0xcf9, %dx        /* PIIX reset control: hard reset */
	mov $0x06, %al
	out %al, %dx
	hlt
1:	mov $0xf4, %dx
	mov $5, %al
	out %al, %dx
EOF2
run reset
[ "$rc" = 11 ] || fail "reset reboots the image: status $rc, want 11"
[ "$(head -c 20 "$tmp/out")" = "012" ] || fail "reset: boots seen '$(head -c 20 "$tmp/out")', want '012'"
run reset --no-reboot
[ "$rc" = 0 ] || fail "reset with --no-reboot: status $rc, want 0"
[ "$(head -c 20 "$tmp/out")" = "0" ] || fail "reset with --no-reboot: '$(head -c 20 "$tmp/out")', want '0'"
# the same through the keyboard controller and port 0x92
for how in "mov \$0x64, %dx; mov \$0xfe, %al; out %al, %dx" "mov \$0x92, %dx; mov \$1, %al; out %al, %dx"; do
	kernel kreset <<EOF2
	$how
	hlt
EOF2
	run kreset -no-reboot
	[ "$rc" = 0 ] || fail "reset via '$how' with --no-reboot: status $rc, want 0"
done

# --- triple fault: no IDT, so #UD cannot be delivered ---
kernel triple <<'EOF2'
	lidt idtr
	ud2
idtr:	.word 0
	.long 0
EOF2
run triple --no-reboot
[ "$rc" = 2 ] || fail "triple fault with --no-reboot: status $rc, want 2"
grep -q "triple fault" "$tmp/err" || fail "triple fault: no message"

# --- timer interrupt: PIT channel 0 at 100 Hz through the PIC wakes HLT;
# the host sleeps meanwhile; SIGTERM ends ringvm with status 143 ---
kernel timer <<'EOF2'
	lgdt gdtr
	lidt idtr
	mov $0x20, %dx          /* ICW1..4: vectors 0x20.., cascade, 8086 */
	mov $0x11, %al; out %al, %dx
	mov $0x21, %dx
	mov $0x20, %al; out %al, %dx
	mov $0x04, %al; out %al, %dx
	mov $0x01, %al; out %al, %dx
	mov $0xfe, %al; out %al, %dx  /* only IRQ0 */
	mov $0x43, %dx
	mov $0x34, %al; out %al, %dx  /* channel 0, mode 2 */
	mov $0x40, %dx
	mov $0x9c, %al; out %al, %dx  /* 11932: 100 Hz */
	mov $0x2e, %al; out %al, %dx
	mov $0x90000, %esp
	sti
2:	hlt
	jmp 2b
	.align 8
gdt:	.quad 0
	.quad 0
	.quad 0x00cf9a000000ffff  /* 0x10: flat code */
	.quad 0x00cf92000000ffff  /* 0x18: flat data */
gdtr:	.word 31
	.long gdt
idtr:	.word 0x21 * 8 - 1
	.long idt
	.org 0x200
handler:                        /* at 0x100200: the gate below points here */
	mov $0x3f8, %dx
	mov $'.', %al
	out %al, %dx
	mov $0x20, %al
	out %al, $0x20              /* EOI */
	iret
	.align 8
idt:	.fill 0x20, 8, 0
	.word 0x0200, 0x10, 0x8e00, 0x0010  /* vector 0x20: interrupt gate */
EOF2
"$bin" --accel "$engine" --kernel "$tmp/timer.elf" </dev/null >"$tmp/out" 2>"$tmp/err" &
pid=$!
sleep 2
# utime + stime of ringvm so far, in clock ticks
ticks=$(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null || echo 999)
hz=$(getconf CLK_TCK)
kill -TERM $pid
wait $pid
rc=$?
dots=$(tr -cd . <"$tmp/out" | wc -c)
[ "$rc" = 143 ] || fail "SIGTERM: status $rc, want 143"
grep -q "terminating on signal 15" "$tmp/err" || fail "SIGTERM: no message"
[ "$dots" -ge 100 ] && [ "$dots" -le 260 ] || fail "timer: $dots interrupts in ~2 s at 100 Hz"
# an idle guest costs ~0% CPU: allow 10% of the 2 s (slow CI, ASan)
[ "$ticks" -le $((hz / 5)) ] || fail "idle guest used $ticks/$hz s of host CPU in 2 s"
# --- deterministic mode: a loop counts iterations until the 5th tick of
# a 1 kHz PIT; with time = instructions x 1 ns the count is the same on
# every run, and about 4 ms / 3 instructions per iteration ---
kernel det <<'EOF2'
	lgdt gdtr
	lidt idtr
	mov $0x20, %dx
	mov $0x11, %al; out %al, %dx
	mov $0x21, %dx
	mov $0x20, %al; out %al, %dx
	mov $0x04, %al; out %al, %dx
	mov $0x01, %al; out %al, %dx
	mov $0xfe, %al; out %al, %dx
	mov $0x43, %dx
	mov $0x34, %al; out %al, %dx  /* channel 0, mode 2 */
	mov $0x40, %dx
	mov $0xa9, %al; out %al, %dx  /* 1193: 1 kHz */
	mov $0x04, %al; out %al, %dx
	mov $0x90000, %esp
	xor %ecx, %ecx
	sti
1:	inc %ecx
	cmpl $5, ticks
	jb 1b
	cli
	mov $8, %esi
2:	rol $4, %ecx
	mov %ecx, %eax
	and $15, %eax
	mov hex(%eax), %al
	mov $0x3f8, %dx
	out %al, %dx
	dec %esi
	jnz 2b
	mov $0xf4, %dx
	mov $0, %al
	out %al, %dx
hex:	.ascii "0123456789abcdef"
	.align 8
gdt:	.quad 0
	.quad 0
	.quad 0x00cf9a000000ffff
	.quad 0x00cf92000000ffff
gdtr:	.word 31
	.long gdt
idtr:	.word 0x21 * 8 - 1
	.long idt
ticks:	.long 0
	.org 0x200
handler:
	push %eax
	incl ticks
	mov $0x20, %al
	out %al, $0x20
	pop %eax
	iret
	.align 8
idt:	.fill 0x20, 8, 0
	.word 0x0200, 0x10, 0x8e00, 0x0010
EOF2
run det --deterministic
first=$(cat "$tmp/out")
[ "$rc" = 1 ] || fail "--deterministic: status $rc, want 1"
run det --deterministic
[ "$(cat "$tmp/out")" = "$first" ] || fail "--deterministic: loop counts differ: $first, $(cat "$tmp/out")"
n=$(printf '%d' "0x${first:-0}" 2>/dev/null || echo 0)
[ "$n" -ge 1100000 ] && [ "$n" -le 1600000 ] || fail "--deterministic: $n iterations in 4 ms of virtual time, want ~1.33 M"

[ $fails -eq 0 ] && echo ok
[ $fails -eq 0 ]

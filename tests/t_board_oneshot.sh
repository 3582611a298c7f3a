#!/bin/sh
# A guest that waits for a timer always gets it, whatever the host does:
# a multiboot kernel chains one-shot counts, reprogramming the timer only
# from its interrupt handler and halting in between, 40,000 times, on each
# of the two timers Linux takes as its clockevent: the PIT in mode 4 (a
# board without a local APIC) with counts of 1-4 ticks, then Linux-like
# ones of 15-142; the local APIC's one-shot timer (divide by 16, 160 ns a
# count) with counts of 1-4, then 15-142 (Linux's shortest event is 15).
# One lost interrupt and the guest halts for good. A CPU hog per host
# core runs meanwhile (bounded, killed on exit), since each timer used to
# lose its interrupt when the host preempted ringvm between loading a
# count and arming its timer. The watchdog wants progress (a '.' per 1024
# interrupts), not speed; a stopped guest's wake-up state (SIGUSR2) is
# shown.
BUILD=${BUILD:-build}
bin="$BUILD/ringvm"
[ -x "$bin" ] || { echo "t_board_oneshot: no $bin"; exit 1; }
command -v gcc >/dev/null && command -v ld >/dev/null || { echo "skip: no gcc/ld to build test kernels"; exit 77; }
command -v timeout >/dev/null || { echo "skip: no timeout(1) to bound the CPU hogs"; exit 77; }
tmp=$(mktemp -d)
pids=
. tests/hogs.sh
trap 'hogs_stop; for p in $pids; do kill $p 2>/dev/null; done; rm -rf "$tmp"' EXIT
fails=0
. tests/mbkernel.sh
engine=${RINGVM_ENGINE:-interp}

# The timer's setup, its end-of-interrupt and how the handler loads the
# next count (in %eax), for chain's DEV.
pit_setup='mov $0xfe, %al; out %al, $0x21   /* only IRQ0 */
	mov $0x38, %al; out %al, $0x43   /* channel 0, lsb/msb, mode 4 */
	mov $100, %al; out %al, $0x40
	mov $0, %al; out %al, $0x40'
pit_eoi='mov $0x20, %al; out %al, $0x20'
pit_load='out %al, $0x40
	mov %ah, %al
	out %al, $0x40'
lapic_setup='mov $0xff, %al; out %al, $0x21   /* the 8259 masked */
	movl $0x1ff, 0xfee000f0         /* APIC software-enabled */
	movl $0x3, 0xfee003e0           /* divide by 16 */
	movl $0x20, 0xfee00320          /* one-shot, vector 0x20 */
	movl $100, 0xfee00380'
lapic_eoi='movl $0, 0xfee000b0'
lapic_load='mov %eax, 0xfee00380'

# chain NAME MASK BASE DEV: counts BASE .. BASE+MASK on DEV (pit, lapic)
chain() {
	eval "setup=\$${4}_setup eoi=\$${4}_eoi load=\$${4}_load"

	kernel "$1" <<EOF2
	lgdt gdtr
	ljmp \$0x10, \$1f
1:	mov \$0x18, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov \$0x90000, %esp
	mov \$tick, %eax            /* IDT vector 0x20: interrupt gate to tick */
	mov %ax, idt + 0x20*8
	movw \$0x10, idt + 0x20*8 + 2
	movw \$0x8e00, idt + 0x20*8 + 4
	shr \$16, %eax
	mov %ax, idt + 0x20*8 + 6
	lidt idtr
	mov \$0x11, %al; out %al, \$0x20
	mov \$0x20, %al; out %al, \$0x21
	mov \$0x04, %al; out %al, \$0x21
	mov \$0x01, %al; out %al, \$0x21
	$setup
	sti
2:	hlt
	cmpl \$40000, ticks
	jb 2b
	cli
	mov \$0x10, %al
	out %al, \$0xf4               /* exit status 33 */
	hlt
tick:	push %eax
	$eoi
	incl ticks
	mov ticks, %eax
	and \$$2, %eax
	add \$$3, %eax
	$load                          /* the next one-shot count */
	testl \$1023, ticks
	jnz 3f
	mov \$'.', %al
	out %al, \$0xe9
3:	pop %eax
	iret
	.align 8
gdt:	.quad 0
	.quad 0
	.quad 0x00cf9a000000ffff
	.quad 0x00cf92000000ffff
gdtr:	.word 31
	.long gdt
idtr:	.word 0x21*8 - 1
	.long idt
ticks:	.long 0
	.align 8
idt:	.fill 0x21, 8, 0
EOF2
}

hogs_start 600

for spec in "tiny 3 1 pit" "linux 127 15 pit" "tiny 3 1 lapic" "linux 127 15 lapic"; do
	set -- $spec
	chain "$1-$4" "$2" "$3" "$4"
	set -- "$1-$4" "$2" "$3" "$4"
	: >"$tmp/$1.err"
	"$bin" --accel "$engine" --kernel "$tmp/$1.elf" </dev/null >/dev/null 2>"$tmp/$1.err" &
	pid=$!
	pids="$pids $pid"
	last=-1
	quiet=0
	while kill -0 $pid 2>/dev/null; do
		sleep 1
		dots=$(tr -cd . <"$tmp/$1.err" | wc -c)
		if [ "$dots" = "$last" ]; then quiet=$((quiet + 1)); else quiet=0; last=$dots; fi
		[ $quiet -ge 30 ] && break
	done
	if kill -0 $pid 2>/dev/null; then
		kill -USR2 $pid
		sleep 1
		kill -9 $pid
		wait $pid 2>/dev/null
		echo "FAIL: $4 one-shot counts $3..$(($3 + $2)): no timer interrupt for 30 s after $((last * 1024)) of 40000 (a lost edge)"
		sed -n '/diagnosis/,$p' "$tmp/$1.err"
		fails=$((fails + 1))
		continue
	fi
	wait $pid
	rc=$?
	if [ $rc -ne 33 ]; then
		echo "FAIL: $4 one-shot counts $3..$(($3 + $2)): exit status $rc, want 33"
		fails=$((fails + 1))
	else
		echo "$4 one-shot counts $3..$(($3 + $2)): 40000 timer interrupts, none lost"
	fi
done
exit $((fails != 0))

#!/bin/sh
# The wake-up diagnosis (docs/debugging.md, "A guest that stopped"):
# SIGUSR2 writes the board's state to the log and the guest runs on, and
# QMP's ringvm-diag answers the same text. The guest programs the local
# APIC timer one-shot for 10 s and halts with IF=1: the dump must show the
# CPU halted with interrupts on, the lapic timer armed ~10 s ahead with
# its count, vector and mode, the IOAPIC and the 8259s.
BUILD=${BUILD:-build}
bin=$BUILD/ringvm-asan
[ -x "$bin" ] || bin=$BUILD/ringvm
[ -x "$bin" ] || { echo "FAIL: no ringvm"; exit 1; }
command -v gcc >/dev/null && command -v ld >/dev/null || { echo "skip: no gcc/ld to build test kernels"; exit 77; }
engine=${RINGVM_ENGINE:-interp}
tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill $pid 2>/dev/null; rm -rf "$tmp"' EXIT
. tests/mbkernel.sh
# SVR enable, TDCR divide by 1 (10 ns a count), LVT one-shot vector 0x40,
# TMICT 10^9 counts: 10 s.
kernel idle <<'EOF2'
	movl $0x1ff, 0xfee000f0
	movl $0xb, 0xfee003e0
	movl $0x40, 0xfee00320
	movl $1000000000, 0xfee00380
	sti
1:	hlt
	jmp 1b
EOF2
fail=0
. tests/check.sh

"$bin" --accel "$engine" --kernel "$tmp/idle.elf" >/dev/null 2>"$tmp/err" &
pid=$!
sleep 1
kill -USR2 $pid
sleep 1
if kill -0 $pid 2>/dev/null; then
	echo "  ok   the guest runs on after SIGUSR2"
else
	echo "  FAIL ringvm ended on SIGUSR2"
	fail=1
fi
kill $pid
wait $pid
pid=
o=$tmp/err
check "SIGUSR2: the dump" '^ringvm: diagnosis at virtual [0-9.]* s (host clock)' "$o"
check "the CPU halted, IF=1, no INTR" '^cpu 0: halted IF=1 intr_line=0' "$o"
check "the lapic timer armed seconds ahead" '^timers armed: lapic in [1-9][0-9][0-9][0-9]\.[0-9]* ms;' "$o"
check "the lapic timer's registers" '^lapic timer: lvt=0x40 (one-shot vector 0x40) divide=0xb initial=1000000000 current=[0-9]' "$o"
check "the lapic's IRR and ISR" '^lapic 0: enabled svr=0x1ff tpr=0 intr=0 irr=- isr=-' "$o"
check "the 8259s" '^pic master: irr=' "$o"

if command -v python3 >/dev/null; then
	"$bin" --accel "$engine" --kernel "$tmp/idle.elf" --qmp "unix:$tmp/q.sock,server=on,wait=off" \
		>/dev/null 2>"$tmp/qerr" &
	pid=$!
	python3 tests/qmp.py "$tmp/q.sock" qmp_capabilities ringvm-diag quit >"$tmp/conv" 2>&1
	wait $pid
	pid=
	check "QMP ringvm-diag" '"return": {"text": "ringvm: diagnosis at virtual .*timers armed: lapic in' "$tmp/conv"
else
	echo "  skip QMP ringvm-diag: no python3 for the QMP client"
fi
exit $fail

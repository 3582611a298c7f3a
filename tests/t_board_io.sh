#!/bin/sh
# The board's output paths under pressure, with tiny multiboot kernels:
# - a SIGTERM ends ringvm (status 143, "terminating on signal 15") even
#   while the serial console's reader has stopped reading (stdout is a
#   full pipe), the first time;
# - port 0xe9 output to stderr is buffered (few write calls for 100,000
#   bytes) yet shows up while the guest still runs: all of it once the
#   guest idles, and a partial line from a guest that never idles.
BUILD=${BUILD:-build}
bin="$BUILD/ringvm"
[ -x "$bin" ] || { echo "t_board_io: no $bin"; exit 1; }
command -v gcc >/dev/null && command -v ld >/dev/null || { echo "skip: no gcc/ld to build test kernels"; exit 77; }
tmp=$(mktemp -d)
pids=
trap 'for p in $pids; do kill -9 $p 2>/dev/null; done; rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
. tests/mbkernel.sh
engine=${RINGVM_ENGINE:-interp}

# --- SIGTERM while the console's reader does not read ---
kernel spew <<'EOF2'
1:	mov $0x3fd, %dx
2:	in %dx, %al
	test $0x20, %al
	jz 2b
	mov $0x3f8, %dx
	mov $'x', %al
	out %al, %dx
	jmp 1b
EOF2
mkfifo "$tmp/fifo"
sleep 60 <"$tmp/fifo" &
reader=$!
pids="$pids $reader"
"$bin" --accel "$engine" --kernel "$tmp/spew.elf" </dev/null >"$tmp/fifo" 2>"$tmp/err" &
pid=$!
pids="$pids $pid"
sleep 2 # the pipe (64 KiB) is full long before this
kill -TERM $pid
if wait_exit $pid 10; then
	wait $pid
	rc=$?
	[ "$rc" = 143 ] || fail "SIGTERM with stdout blocked: status $rc, want 143"
	grep -q "terminating on signal 15" "$tmp/err" || fail "SIGTERM with stdout blocked: no message: $(cat "$tmp/err")"
else
	fail "SIGTERM with stdout blocked: ringvm still runs 10 s after one SIGTERM"
fi
kill -9 $pid $reader 2>/dev/null

# --- port 0xe9 to stderr: 100,000 bytes, then the guest idles ---
kernel dcon <<'EOF2'
	mov $0xe9, %dx
	mov $100000, %ecx
1:	mov $'a', %al
	out %al, %dx
	loop 1b
	mov $'\n', %al
	out %al, %dx
	sti
2:	hlt                     /* no timer, no input: idle for good */
	jmp 2b
EOF2
: >"$tmp/dcon.err"
"$bin" --accel "$engine" --kernel "$tmp/dcon.elf" </dev/null >/dev/null 2>"$tmp/dcon.err" &
pid=$!
pids="$pids $pid"
n=0
while [ $n -lt 300 ] && [ "$(wc -c <"$tmp/dcon.err")" -lt 100001 ]; do
	sleep 0.1
	n=$((n + 1))
done
syscw=$(sed -n 's/^syscw: //p' "/proc/$pid/io" 2>/dev/null)
kill -TERM $pid
wait $pid
got=$(awk '/^a+$/ { print length($0) }' "$tmp/dcon.err")
[ "$got" = 100000 ] || fail "debugcon: ${got:-no} line of 100000 'a' on stderr while the guest idles"
echo "debugcon: 100000 bytes in ${syscw:-?} write calls"
[ -n "$syscw" ] && [ "$syscw" -le 1000 ] || fail "debugcon: ${syscw:-?} write calls for 100000 bytes (unbuffered)"

# --- port 0xe9: a partial line from a guest that never idles ---
kernel dbusy <<'EOF2'
	mov $0xe9, %dx
	mov $'X', %al
	out %al, %dx
1:	jmp 1b
EOF2
"$bin" --accel "$engine" --kernel "$tmp/dbusy.elf" </dev/null >/dev/null 2>"$tmp/dbusy.err" &
pid=$!
pids="$pids $pid"
sleep 2
grep -q X "$tmp/dbusy.err" || fail "debugcon: 'X' not on stderr 2 s after a busy guest wrote it"
kill -TERM $pid
wait $pid

[ $fails -eq 0 ] && echo "board I/O: all checks passed"
exit $((fails != 0))

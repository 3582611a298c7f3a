#!/bin/sh
# Record and replay (--record, --replay; docs/debugging.md) on the engine
# under test:
# 1. the embedded guest's tour recorded and replayed: the replay says it
#    matches (instruction count, state digest of registers and RAM,
#    console output) and prints the same bytes;
# 2. gdb's reverse execution on that replay (tests/gdb_client.py rev):
#    reverse-continue lands on the previous breakpoint hit (same
#    instruction count, memory and stack), reverse-stepi goes back one
#    instruction, and the replay still ends matching the recording;
# 3. bad logs: cut short, a wrong digest (reported as a divergence), a
#    different command line, --record with kvm: a message and status 1;
# 4. two CPUs (-smp 2): a tiny kernel whose BSP echoes each byte typed
#    on the UART with the low bits of a count its AP keeps (so the output
#    depends on when each CPU ran), recorded with bytes typed at host
#    times, replayed: the same output, instruction count and digest of
#    both CPUs; a replay with another -smp, and either with gdb, refused;
# 5. Debian's Linux (guest-linux/) booted to its shell with 9 command lines
#    typed on the console while recording, then replayed without them: the same
#    console output (the commands' answers included) and state digest;
#    the log with one typed byte changed diverges, caught at the next input
#    (the echo of the changed byte differs), not only at the end.
BUILD=${BUILD:-build}
engine=${RINGVM_ENGINE:-interp}
bin="$BUILD/ringvm"
elf="$BUILD/guest/ringos.elf"
here=$(dirname "$0")
[ -x "$bin" ] || { echo "t_record_replay: no $bin"; exit 1; }
command -v python3 >/dev/null || { echo "skip: no python3"; exit 77; }
tmp=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$tmp"' EXIT
bad=0
fail() { echo "t_record_replay: $*"; bad=1; }

# ---- 1. the tour ----
timeout 60 "$bin" --accel "$engine" --record "$tmp/tour.log" </dev/null >"$tmp/rec.out" 2>"$tmp/rec.err"
[ $? -eq 0 ] || { fail "recording the tour: status $?"; cat "$tmp/rec.err"; }
grep -q '^ringvm: recorded [0-9]* instructions' "$tmp/rec.err" || fail "no 'recorded' line"
timeout 60 "$bin" --replay "$tmp/tour.log" </dev/null >"$tmp/rep.out" 2>"$tmp/rep.err"
rc=$?
[ $rc -eq 0 ] || fail "replaying the tour: status $rc"
grep -q '^ringvm: replay matches the recording' "$tmp/rep.err" || { fail "the tour's replay does not match"; cat "$tmp/rep.err"; }
cmp -s "$tmp/rec.out" "$tmp/rep.out" || fail "the tour's replay printed something else"
grep -q 'tour done' "$tmp/rep.out" || fail "the replayed tour did not finish"

# ---- 2. reverse execution through the gdb stub ----
if [ -f "$elf" ] && command -v nm >/dev/null; then
	nm "$elf" | awk '{ print $3, $1 }' >"$tmp/sym"
	timeout 120 "$bin" --replay "$tmp/tour.log" --gdb tcp::0 -S </dev/null >"$tmp/gdb.out" 2>"$tmp/gdb.err" &
	pid=$!
	port=
	for _ in $(seq 100); do
		port=$(sed -n 's/^ringvm: gdb stub listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$tmp/gdb.err")
		[ -n "$port" ] && break
		sleep 0.1
	done
	if [ -z "$port" ]; then
		fail "the replay's gdb stub did not listen"
	else
		python3 "$here/gdb_client.py" rev "$port" "$tmp/sym" || bad=1
	fi
	wait "$pid"
	rc=$?
	pid=
	[ $rc -eq 0 ] || fail "the replay under gdb ended with status $rc"
	grep -q '^ringvm: replay matches the recording' "$tmp/gdb.err" || { fail "after reverse execution the replay does not match"; cat "$tmp/gdb.err"; }
	cmp -s "$tmp/rec.out" "$tmp/gdb.out" || fail "re-executed output reached the console twice (or not at all)"
else
	fail "no $elf or nm for the reverse-execution check"
fi

# ---- 3. bad logs and options ----
expect_fail() { # WHAT PATTERN ARGS...: status 1 and a line matching PATTERN
	what=$1 pat=$2
	shift 2
	timeout 60 "$bin" "$@" </dev/null >"$tmp/o" 2>&1
	rc=$?
	if [ $rc -ne 1 ] || ! grep -q -- "$pat" "$tmp/o"; then
		fail "$what: status $rc, want 1 and '$pat'"
		tail -3 "$tmp/o"
	fi
}
grep -v '^end ' "$tmp/tour.log" >"$tmp/cut.log"
expect_fail "a log cut short" "no end record" --replay "$tmp/cut.log"
sed 's/^\(end [0-9]* [0-9]* [0-9]*\) [0-9a-f]*/\1 0123456789abcdef/' "$tmp/tour.log" >"$tmp/digest.log"
expect_fail "a wrong digest" "replay DIVERGED from the recording: state digest" --replay "$tmp/digest.log"
expect_fail "another command line" "kernel command line (--append) differs" --replay "$tmp/tour.log" --append conformance
expect_fail "not a log" "not a ringvm replay log" --replay "$0"
expect_fail "--record with kvm" "need a software engine" --accel kvm --record "$tmp/x.log"

# ---- 4. two CPUs ----
# The UART reads inside a CPU's turn are where the replay stops inside a
# turn; the turn must go on with the same CPU (a replay that let the
# other CPU run there diverged at the second byte).
. "$here/mbkernel.sh"
kernel smp <<'EOF'
	cli
	movl $0x1ff, 0xfee000f0		/* local APIC on (SVR) */
	mov $ap_start, %esi		/* the AP's code at 0x8000: STARTUP vector 8 */
	mov $0x8000, %edi
	mov $(ap_end - ap_start), %ecx
	rep movsb
	movl $0xc4500, 0xfee00300	/* INIT to all excluding self */
	mov $20000, %ecx
1:	loop 1b
	movl $0xc4608, 0xfee00300	/* STARTUP, vector 8 */
2:	pause
	cmpl $0, 0x9000			/* the AP counts there */
	je 2b
	mov $0x3fd, %dx			/* poll the UART: a byte in, echo it with */
3:	in %dx, %al			/* the low bits of the AP's count, which */
	test $1, %al			/* depend on when each CPU ran */
	jz 3b
	mov $0x3f8, %dx
	in %dx, %al
	out %al, %dx
	mov %al, %bl
	mov 0x9000, %eax
	and $15, %eax
	add $'A', %al
	out %al, %dx
	mov $0x3fd, %dx
	cmp $'q', %bl
	jne 3b
	mov $0x21, %al
	out %al, $0xf4			/* debug-exit: status 67 */
	.code16
ap_start:
	xor %ax, %ax
	mov %ax, %ds
4:	lock incl 0x9000
	pause
	jmp 4b
ap_end:
	.code32
EOF
(sleep 0.3; printf ab; sleep 0.3; printf cd; sleep 0.2; printf e; sleep 0.3; printf q) |
	timeout 60 "$bin" --accel "$engine" -smp 2 --kernel "$tmp/smp.elf" --record "$tmp/smp.log" >"$tmp/srec.out" 2>"$tmp/srec.err"
rc=$?
[ $rc -eq 67 ] && [ "$(tr -d 'A-P' <"$tmp/srec.out")" = abcdeq ] || { fail "recording two CPUs: status $rc, output $(cat "$tmp/srec.out")"; tail -3 "$tmp/srec.err"; }
grep -q '^config .* cpus=2$' "$tmp/smp.log" && grep -q '^in [0-9]* [0-9]* 1 ' "$tmp/smp.log" ||
	fail "the two-CPU log: no cpus=2 in its config or no input taken by a UART read"
timeout 60 "$bin" -smp 2 --kernel "$tmp/smp.elf" --replay "$tmp/smp.log" </dev/null >"$tmp/srep.out" 2>"$tmp/srep.err"
rc=$?
[ $rc -eq 67 ] && grep -q '^ringvm: replay matches the recording' "$tmp/srep.err" ||
	{ fail "replaying two CPUs: status $rc"; tail -2 "$tmp/srep.err"; }
cmp -s "$tmp/srec.out" "$tmp/srep.out" || fail "the two-CPU replay printed $(cat "$tmp/srep.out"), the recording $(cat "$tmp/srec.out")"
expect_fail "another -smp" "number of CPUs (-smp) differs" --kernel "$tmp/smp.elf" --replay "$tmp/smp.log"
expect_fail "gdb with a two-CPU replay" "with the gdb stub runs with one CPU only" -smp 2 --kernel "$tmp/smp.elf" \
	--replay "$tmp/smp.log" --gdb tcp::0

# ---- 5. Linux with typed input ----
lin=guest-linux
if [ ! -f "$lin/vmlinuz" ] || [ ! -f "$lin/initrd.gz" ]; then
	[ $bad -eq 0 ] && { echo "skip: the Linux part needs guest-linux/ (make linux-guest); the rest passed"; exit 77; }
	exit 1
fi
cmdline="console=ttyS0 reboot=k panic=-1 nokaslr tsc=reliable ringvm.shell"
mkfifo "$tmp/in"
# The typist: waits for the shell, types three lines, the last powers off.
(
	exec 3>"$tmp/in"
	for _ in $(seq 1200); do
		grep -q 'interactive shell' "$tmp/lrec.out" 2>/dev/null && break
		sleep 0.1
	done
	sleep 0.5
	printf 'echo hello $((6*7))\n' >&3
	# Lines typed while the shell idles in HLT between timer interrupts:
	# the replay must idle (and warp the clock) exactly as the recording.
	for i in 1 2 3 4 5 6; do
		sleep 0.3
		printf 'echo l%d $((%d*3))\n' $i $i >&3
	done
	sleep 0.3
	printf 'cat /proc/uptime; echo done-$((1+1))\n' >&3
	sleep 0.3
	printf 'exit\n' >&3
	sleep 120
) &
typist=$!
timeout 300 "$bin" -m 256 --accel "$engine" --kernel "$lin/vmlinuz" --initrd "$lin/initrd.gz" --append "$cmdline" \
	--record "$tmp/linux.log" <"$tmp/in" >"$tmp/lrec.out" 2>"$tmp/lrec.err"
rc=$?
kill "$typist" 2>/dev/null
[ $rc -eq 0 ] || { fail "recording Linux: status $rc"; tail -5 "$tmp/lrec.err"; }
grep -q '^hello 42' "$tmp/lrec.out" && grep -q '^l6 18' "$tmp/lrec.out" && grep -q '^done-2' "$tmp/lrec.out" || fail "the typed commands did not run while recording"
grep -q '^in ' "$tmp/linux.log" || fail "the Linux log holds no input"
timeout 300 "$bin" -m 256 --kernel "$lin/vmlinuz" --initrd "$lin/initrd.gz" --append "$cmdline" \
	--replay "$tmp/linux.log" </dev/null >"$tmp/lrep.out" 2>"$tmp/lrep.err"
rc=$?
[ $rc -eq 0 ] || fail "replaying Linux: status $rc"
grep -q '^ringvm: replay matches the recording' "$tmp/lrep.err" || { fail "the Linux replay does not match"; cat "$tmp/lrep.err"; }
cmp -s "$tmp/lrec.out" "$tmp/lrep.out" || fail "the Linux replay printed something else"
# One typed byte changed ('6' of 6*7 -> '5'): the replay must notice.
python3 - "$tmp/linux.log" "$tmp/tampered.log" <<'PY'
import sys
lines = open(sys.argv[1]).read().split("\n")
for i, l in enumerate(lines):
    f = l.split(" ")
    if f[0] == "in" and "36" in f[4][0::1] and any(f[4][j:j + 2] == "36" for j in range(0, len(f[4]), 2)):
        j = next(j for j in range(0, len(f[4]), 2) if f[4][j:j + 2] == "36")
        f[4] = f[4][:j] + "35" + f[4][j + 2:]
        lines[i] = " ".join(f)
        break
open(sys.argv[2], "w").write("\n".join(lines))
PY
timeout 300 "$bin" -m 256 --kernel "$lin/vmlinuz" --initrd "$lin/initrd.gz" --append "$cmdline" \
	--replay "$tmp/tampered.log" </dev/null >"$tmp/ltam.out" 2>"$tmp/ltam.err"
rc=$?
if [ $rc -ne 1 ] || ! grep -q 'replay DIVERGED.*console output differs from the recording.s before the input' "$tmp/ltam.err"; then
	fail "a changed input byte: status $rc, want 1 and DIVERGED"
	tail -3 "$tmp/ltam.err"
fi
grep -qF 'echo hello $((5' "$tmp/ltam.out" || fail "the tampered replay did not type the changed byte"
exit $bad

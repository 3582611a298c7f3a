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
# 4. Debian's Linux (guest-linux/) booted to its shell with 9 command lines
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

# ---- 4. Linux with typed input ----
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

#!/bin/sh
# Save and restore (docs/domains.md). With the deterministic clock the
# embedded guest's conformance run is stopped at an instruction count
# (QMP ringvm-stop-at), saved (ringvm-save) and ended; the snapshot is
# restored and run to the end: the console output of both halves, and
# the exit status, must be byte-identical to an uninterrupted run. Done
# with the save under bt and the restore under interp, and the reverse,
# at two points. Then: truncated, corrupted, version-mismatched and
# foreign files are refused with a clear message and status 1, and a save
# that cannot be written answers an error while the domain runs on.
BUILD=${BUILD:-build}
bin=$BUILD/ringvm-asan
[ -x "$bin" ] || bin=$BUILD/ringvm
[ -x "$bin" ] || { echo "FAIL: no ringvm"; exit 1; }
command -v python3 >/dev/null || { echo "skip: no python3 for the QMP client"; exit 77; }
tmp=$(mktemp -d)
pids=
trap 'for p in $pids; do kill $p 2>/dev/null; done; rm -rf "$tmp"' EXIT
fail=0
qmp() { python3 tests/qmp.py "$@"; }

"$bin" --deterministic --accel interp --append conformance >"$tmp/ref.out" 2>/dev/null
ref_rc=$?
grep -q 'passed, 0 failed' "$tmp/ref.out" || { echo "FAIL: the reference run did not finish"; exit 1; }

# split FROM TO ICOUNT: save under FROM at ICOUNT, restore under TO.
split() {
	from=$1 to=$2 at=$3 s=$tmp/$1-$2-$3
	"$bin" --deterministic --accel "$from" --append conformance --qmp "unix:$s.sock,server=on,wait=off" \
		--start-paused >"$s.a" 2>"$s.aerr" &
	p=$!
	pids="$pids $p"
	qmp "$s.sock" qmp_capabilities ringvm-stop-at "{\"icount\": $at}" cont '!EVENT' STOP \
		ringvm-save "{\"file\": \"$s.snap\"}" quit >"$s.qmp" 2>&1
	wait $p
	timeout 120 "$bin" --restore "$s.snap" --accel "$to" >"$s.b" 2>"$s.berr"
	rc=$?
	if cat "$s.a" "$s.b" | cmp -s - "$tmp/ref.out" && [ $rc -eq $ref_rc ] && [ -s "$s.b" ]; then
		echo "  ok   saved under $from at $at, restored under $to: identical output, status $rc"
	else
		echo "  FAIL saved under $from at $at, restored under $to (status $rc, want $ref_rc)"
		cat "$s.qmp" "$s.aerr" "$s.berr" | tail -5
		cat "$s.a" "$s.b" | diff - "$tmp/ref.out" | head -5
		fail=1
	fi
}
split bt interp 2000000
split interp bt 5000000
snap=$tmp/bt-interp-2000000.snap

# refused FILE WHAT MESSAGE
refused() {
	out=$("$bin" --restore "$1" --accel interp 2>&1 </dev/null)
	rc=$?
	if [ $rc -eq 1 ] && echo "$out" | grep -q "$3"; then
		echo "  ok   $2 refused: $(echo "$out" | head -1)"
	else
		echo "  FAIL $2: status $rc, '$out'"
		fail=1
	fi
}
size=$(wc -c <"$snap")
head -c $((size / 2)) "$snap" >"$tmp/trunc.snap"
refused "$tmp/trunc.snap" "a truncated snapshot" "truncated"
cp "$snap" "$tmp/bad.snap"
printf 'X' | dd of="$tmp/bad.snap" bs=1 seek=$((size / 3)) conv=notrunc 2>/dev/null
refused "$tmp/bad.snap" "a corrupted snapshot" "checksum mismatch"
cp "$snap" "$tmp/ver.snap"
printf '\011' | dd of="$tmp/ver.snap" bs=1 seek=8 conv=notrunc 2>/dev/null
refused "$tmp/ver.snap" "another format version" "format version 9"
head -c 4096 /dev/urandom >"$tmp/junk.snap"
refused "$tmp/junk.snap" "a file that is no snapshot" "not a ringvm snapshot"
refused "$tmp/none.snap" "a missing file" "No such file"

# A save that cannot be written: an error, the domain runs on, no
# temporary file left behind.
"$bin" --accel "${RINGVM_ENGINE:-bt}" --append conformance --qmp "unix:$tmp/run.sock" --start-paused \
	>"$tmp/run.out" 2>&1 &
p=$!
pids="$pids $p"
touch "$tmp/plain"
qmp "$tmp/run.sock" qmp_capabilities ringvm-save "{\"file\": \"$tmp/plain/x.snap\"}" \
	ringvm-save "{\"file\": \"$tmp/nodir/x.snap\"}" query-status cont >"$tmp/run.qmp" 2>&1
wait $p
rc=$?
if [ "$(grep -c '"error"' "$tmp/run.qmp")" -eq 2 ] && grep -q '"status": "paused"' "$tmp/run.qmp" &&
	[ $rc -eq $ref_rc ] && grep -q 'passed, 0 failed' "$tmp/run.out" && [ -z "$(ls "$tmp" | grep '\.tmp\.')" ]; then
	echo "  ok   a save that cannot be written is an error; the domain ran on to its end"
else
	echo "  FAIL failed save (status $rc):"
	cat "$tmp/run.qmp"
	fail=1
fi
[ $fail -eq 0 ] && echo "PASS"
exit $fail

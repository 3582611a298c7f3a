#!/bin/sh
# The QMP control socket (docs/domains.md): the greeting, a command
# before qmp_capabilities refused, each command's answer (query-status,
# query-name, stop and cont with their STOP and RESUME events,
# system_reset with RESET, ringvm-stats, quit with SHUTDOWN and exit 0),
# an unknown command's CommandNotFound error object, malformed JSON and a
# non-object answered with errors on a connection that survives. Then
# live migration on the deterministic clock: a migration whose target
# drops the connection fails and the source runs on to the same end as an
# uninterrupted run; a migration to a waiting ringvm --incoming (bt to
# interp), pre-copying while the guest runs, ends with the two halves of the console output equal to the
# uninterrupted run.
BUILD=${BUILD:-build}
bin=$BUILD/ringvm-asan
[ -x "$bin" ] || bin=$BUILD/ringvm
[ -x "$bin" ] || { echo "FAIL: no ringvm"; exit 1; }
command -v python3 >/dev/null || { echo "skip: no python3 for the QMP client"; exit 77; }
command -v gcc >/dev/null && command -v ld >/dev/null || { echo "skip: no gcc/ld to build test kernels"; exit 77; }
engine=${RINGVM_ENGINE:-bt}
tmp=$(mktemp -d)
pids=
trap 'for p in $pids; do kill $p 2>/dev/null; done; rm -rf "$tmp"' EXIT
. tests/mbkernel.sh
kernel spin <<'EOF2'
	sti
1:	jmp 1b
EOF2
fail=0
. tests/check.sh

"$bin" --accel "$engine" --kernel "$tmp/spin.elf" --name qmptest --qmp "unix:$tmp/q.sock,server=on,wait=off" \
	>/dev/null 2>"$tmp/err" &
p=$!
pids="$pids $p"
python3 tests/qmp.py "$tmp/q.sock" query-status qmp_capabilities qmp_capabilities query-status query-name \
	stop query-status ringvm-stats cont no-such-command \
	'!SEND' '{"execute": ' '!RAW' 'xx}' '!RAW' '[1, 2]' '!RAW' '{"arguments": {}}' \
	system_reset '!EVENT' RESET query-name quit '!EVENT' SHUTDOWN >"$tmp/conv" 2>&1
wait $p
rc=$?
o=$tmp/conv
check "greeting" '^{"QMP": {"version": {"qemu"' "$o"
check "commands before qmp_capabilities refused" "Expecting capabilities negotiation with 'qmp_capabilities'" "$o"
check "qmp_capabilities twice" "Capabilities negotiation is already complete" "$o"
check "query-status running" '"status": "running", "singlestep": false, "running": true' "$o"
check "query-name" '{"return": {"name": "qmptest"}}' "$o"
check "stop: STOP event" '"event": "STOP"' "$o"
check "query-status paused" '"status": "paused", "singlestep": false, "running": false' "$o"
check "ringvm-stats" '"engine": "'"$engine"'", "memory-mb": 128, "icount": ' "$o"
check "cont: RESUME event" '"event": "RESUME"' "$o"
check "unknown command" '{"error": {"class": "CommandNotFound", "desc": "The command no-such-command has not been found"}}' "$o"
check "malformed JSON" '"desc": "JSON parse error' "$o"
check "a non-object" '"desc": "QMP input must be a JSON object"' "$o"
check "no execute" "lacks member 'execute'" "$o"
check "system_reset: RESET event" '"event": "RESET"' "$o"
check "quit: SHUTDOWN event" '"event": "SHUTDOWN".*"reason": "host-qmp-quit"' "$o"
[ $rc -eq 0 ] || { echo "  FAIL quit: ringvm exited $rc"; fail=1; }
[ -e "$tmp/q.sock" ] && { echo "  FAIL the socket was left behind"; fail=1; }

# Migration on the deterministic clock.
"$bin" --deterministic --accel interp -m 32 --append conformance >"$tmp/ref.out" 2>/dev/null
ref_rc=$?
# A target that takes 64 KiB, then hangs up.
python3 - "$tmp" <<'PY' &
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0)); s.listen(1)
open(sys.argv[1] + "/port", "w").write(str(s.getsockname()[1]))
c, _ = s.accept(); got = 0
while got < 65536:
    d = c.recv(65536)
    if not d: break
    got += len(d)
c.close()
PY
pids="$pids $!"
n=0
while [ ! -s "$tmp/port" ] && [ $n -lt 50 ]; do sleep 0.1; n=$((n + 1)); done
"$bin" --deterministic --accel "$engine" -m 32 --append conformance --qmp "unix:$tmp/m.sock" --start-paused \
	>"$tmp/m.out" 2>"$tmp/m.err" &
p=$!
pids="$pids $p"
python3 tests/qmp.py "$tmp/m.sock" qmp_capabilities ringvm-stop-at '{"icount": 3000000}' cont '!EVENT' STOP \
	ringvm-migrate "{\"uri\": \"tcp:127.0.0.1:$(cat "$tmp/port")\"}" '!EVENT' MIGRATION query-migrate \
	query-status cont >"$tmp/drop" 2>&1
wait $p
rc=$?
check "dropped connection: the migration fails" '"event": "MIGRATION".*"status": "failed"' "$tmp/drop"
if cmp -s "$tmp/m.out" "$tmp/ref.out" && [ $rc -eq $ref_rc ]; then
	echo "  ok   dropped connection: the source ran on to the uninterrupted run's end"
else
	echo "  FAIL dropped connection: the source's output or status ($rc) differs"
	fail=1
fi
# A real target: ringvm --incoming, on the other engine.
port=$((20000 + ($$ + 7) % 20000))
"$bin" --incoming "tcp:127.0.0.1:$port" --accel interp >"$tmp/d.out" 2>"$tmp/d.err" &
dp=$!
pids="$pids $dp"
RINGVM_MIGRATE_VERIFY=1 RINGVM_MIGRATE_MIN_ROUNDS=4 "$bin" --deterministic --accel "$engine" -m 32 --append conformance \
	--qmp "unix:$tmp/s.sock" --start-paused \
	>"$tmp/s.out" 2>"$tmp/s.err" &
p=$!
pids="$pids $p"
sleep 0.3
# Pre-copy while the guest runs, in 4 rounds at least: the dirty-page
# log must catch its writes in each (the target checks the source's
# whole-RAM checksum).
python3 tests/qmp.py "$tmp/s.sock" qmp_capabilities ringvm-stop-at '{"icount": 1000000}' cont '!EVENT' STOP \
	ringvm-migrate "{\"uri\": \"tcp:127.0.0.1:$port\"}" cont '!EVENT' MIGRATION >"$tmp/mig" 2>&1
wait $p
src_rc=$?
wait $dp
rc=$?
check "migration completed with its figures" '"status": "completed", "total-time-ms": .*"downtime-ms": .*"bytes": ' "$tmp/mig"
if cat "$tmp/s.out" "$tmp/d.out" | cmp -s - "$tmp/ref.out" && [ $rc -eq $ref_rc ] && [ $src_rc -eq 0 ] &&
	[ -s "$tmp/d.out" ]; then
	echo "  ok   migrated $engine -> interp mid-run: source and target output make the uninterrupted run's"
else
	echo "  FAIL migration: target status $rc (want $ref_rc), source $src_rc"
	cat "$tmp/s.err" "$tmp/d.err" | tail -5
	fail=1
fi
[ $fail -eq 0 ] && echo "PASS"
exit $fail

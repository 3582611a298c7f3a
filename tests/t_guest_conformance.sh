#!/bin/sh
# The embedded guest's conformance suite (ringos, guest/conf*.c) passes on
# ringvm: every protection check at CPL 0-3 gives the vector, error code
# and state the Intel SDM prescribes. Passes only if the guest's last
# result line says 0 failed with at least 60 passed, and the guest left
# through the debug-exit port with 0 (host exit status 1).
BUILD=${BUILD:-build}
bin="$BUILD/ringvm-asan"
[ -x "$bin" ] || bin="$BUILD/ringvm"
if [ ! -x "$bin" ]; then
	echo "t_guest_conformance: no $BUILD/ringvm-asan or $BUILD/ringvm"
	exit 1
fi
out=$(timeout 110 "$bin" --no-reboot --append conformance 2>&1)
rc=$?
out=$(printf '%s\n' "$out" | tr -d '\r')
printf '%s\n' "$out"
fails=$(printf '%s\n' "$out" | grep -c '^FAIL ')
last=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -n 1)
if [ -z "$last" ]; then
	echo "t_guest_conformance: no 'N passed, M failed' line (exit status $rc)"
	exit 1
fi
passed=${last%% passed*}
failed=${last#*, }
failed=${failed%% failed}
if [ "$failed" -ne 0 ] || [ "$fails" -ne 0 ]; then
	echo "t_guest_conformance: $failed checks failed"
	exit 1
fi
if [ "$passed" -lt 60 ]; then
	echo "t_guest_conformance: only $passed checks ran (want at least 60)"
	exit 1
fi
if [ "$rc" -ne 1 ]; then
	echo "t_guest_conformance: exit status $rc, want 1 (debug-exit with 0)"
	exit 1
fi
echo "t_guest_conformance: $passed checks passed"

#!/bin/sh
# The CLI puts the running monitor in the seccomp sandbox by default
# (docs/sandbox.md) and --no-sandbox leaves it out: a guest started
# stopped under the gdb stub waits in the run loop, where
# /proc/PID/status shows the filter mode (2 = filter, 0 = none).
# test_sandbox checks what the filter allows and stops; every guest test
# runs sandboxed.
BUILD=${BUILD:-build}
bin=$BUILD/ringvm-asan
[ -x "$bin" ] || { echo "no $bin"; exit 1; }
grep -q '^Seccomp:' /proc/self/status || { echo "skip: this kernel does not report seccomp in /proc"; exit 77; }
mode_of() { # mode_of ARGS...: the Seccomp: field of a ringvm waiting for gdb
	err=$(mktemp)
	"$bin" --accel "${RINGVM_ENGINE:-bt}" --gdb tcp::0 -S "$@" </dev/null >/dev/null 2>"$err" &
	pid=$!
	for _ in $(seq 1 100); do
		grep -q listening "$err" && break
		sleep 0.1
	done
	# Listening comes first; the filter goes on just before the run loop.
	m=
	for _ in $(seq 1 15); do
		sleep 0.1
		m=$(awk '/^Seccomp:/ {print $2}' /proc/$pid/status 2>/dev/null)
		[ "$m" = 2 ] && break
	done
	kill $pid 2>/dev/null
	wait $pid 2>/dev/null
	rm -f "$err"
	echo "$m"
}
fail=0
m=$(mode_of)
if [ "$m" = 2 ]; then echo "ok: sandboxed by default"; else echo "FAIL: Seccomp mode '$m' by default, want 2"; fail=1; fi
m=$(mode_of --no-sandbox)
if [ "$m" = 0 ]; then echo "ok: --no-sandbox"; else echo "FAIL: Seccomp mode '$m' with --no-sandbox, want 0"; fail=1; fi
exit $fail

#!/bin/sh
# `ringvm --append bench` runs the guest's nanobenchmarks (the table of
# Adams & Agesen, ASPLOS 2006) and powers off: every row is printed with
# a number, and it finishes quickly.
BUILD=${BUILD:-build}
bin="$BUILD/ringvm"
# The engine under test, never the default: where the host's KVM could run
# the guest, the default would test the host's processor (kvm has its own
# tests, t_kvm_*).
engine=${RINGVM_ENGINE:-interp}
if [ ! -x "$bin" ]; then
	echo "t_guest_bench: no $BUILD/ringvm"
	exit 1
fi
out=$(timeout 60 "$bin" --accel "$engine" --no-reboot --append bench 2>&1 </dev/null)
rc=$?
out=$(printf '%s\n' "$out" | tr -d '\r')
printf '%s\n' "$out"
bad=0
for name in syscall in cr3wr cli/sti call/ret pgfault divzero ptemod; do
	if ! printf '%s\n' "$out" | grep -qE "^$name +[0-9]+ "; then
		echo "t_guest_bench: no row for $name"
		bad=1
	fi
done
if ! printf '%s\n' "$out" | grep -qE '^sysenter +([0-9]+|-) '; then
	echo "t_guest_bench: no row for sysenter"
	bad=1
fi
if [ "$rc" -ne 0 ]; then
	echo "t_guest_bench: exit status $rc, want 0 (APM power off)"
	bad=1
fi
exit $bad

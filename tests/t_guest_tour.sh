#!/bin/sh
# `ringvm` with no arguments boots the embedded guest's narrated tour:
# ring 1 driver, ring 2 service behind a call gate, ring 3 faults caught,
# three kinds of system call, two ring 3 tasks preempted by the PIT; it
# ends by powering off through port 0x8900 (exit status 0).
BUILD=${BUILD:-build}
bin="$BUILD/ringvm"
# The engine under test, never the default: where the host's KVM could run
# the guest, the default would test the host's processor (kvm has its own
# tests, t_kvm_*).
engine=${RINGVM_ENGINE:-interp}
if [ ! -x "$bin" ]; then
	echo "t_guest_tour: no $BUILD/ringvm"
	exit 1
fi
out=$(timeout 30 "$bin" --accel "$engine" 2>&1 </dev/null) # no kernel: the embedded guest
rc=$?
out=$(printf '%s\n' "$out" | tr -d '\r')
printf '%s\n' "$out"
bad=0
for line in \
	'[ring 1] the driver writes this line itself: allowed by IOPL=1' \
	'allowed by the I/O bitmap' \
	'ring 2 runs the same driver, IOPL=0, bitmap now denying: its IN -> #GP(0) caught by the kernel' \
	'ring 3 calls the ring 2 service through call gate 0x73' \
	'ring 3 calls the ring 1 driver'"'"'s gate (DPL 2) directly -> #GP(0x78)' \
	'ring 3 executes CLI -> #GP(0) caught by the kernel' \
	'ring 3 executes HLT -> #GP(0) caught by the kernel' \
	'ring 3 reads a supervisor page -> #PF error code 0x5' \
	'ring 3 writes it -> #PF error code 0x7' \
	'ring 3 loads DS with the kernel data selector -> #GP(0x10)' \
	'ring 3 INT 0x82 (gate DPL 0) -> #GP(0x412)' \
	'ring 3 POPF clearing IF -> no fault, IF still 1' \
	'ring 3 INT 0x80 (interrupt gate, DPL 3) -> kernel ran' \
	'returned 0x3333 with RET 8' \
	'task A (ring 3, pid 1): round 3, its page at 0x40000000 holds '"'"'A'"'" \
	'task B (ring 3, pid 2): round 3, its page at 0x40000000 holds '"'"'B'"'" \
	'ringos: tour done, powering off'; do
	if ! printf '%s\n' "$out" | grep -qF -- "$line"; then
		echo "t_guest_tour: missing: $line"
		bad=1
	fi
done
if printf '%s\n' "$out" | grep -q 'SYSENTER/SYSEXIT present' &&
	! printf '%s\n' "$out" | grep -qF 'ring 3 SYSENTER -> ring 0 at CS=0x8 SS=0x10; SYSEXIT back to CS=0x1b SS=0x23'; then
	echo "t_guest_tour: SYSENTER is advertised but the round trip line is missing"
	bad=1
fi
if [ "$rc" -ne 0 ]; then
	echo "t_guest_tour: exit status $rc, want 0 (APM power off)"
	bad=1
fi
exit $bad

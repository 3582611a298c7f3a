#!/bin/sh
# Debian's Linux with -smp 2 on bt (the engine under test if it is one
# that runs several CPUs): the kernel finds two CPUs in the ACPI MADT,
# starts the second by INIT-SIPI-SIPI, runs a local APIC timer on each,
# sends IPIs between them (function calls, rescheduling), and the
# workloads of the guest's /init give the host's results with `nproc`
# saying 2; `poweroff -f` ends ringvm through ACPI S5 with status 0.
# On the host clock, as users run it. The watchdog of tests/linux_guest.sh
# judges progress, not speed.
BUILD=${BUILD:-build}
engine=${RINGVM_ENGINE:-bt}
[ "$engine" = kvm ] && engine=bt # kvm runs one CPU (docs/smp.md)
log=$BUILD/t_linux_smp.log
. tests/linux_guest.sh
lg_prepare

lg_opts="-smp 2"
lg_boot "$log" "$engine" "$(cat "$dir/cmdline.txt")"
fail=0
lg_results "$log.txt" || fail=1
lg_need '^\[.*\] smpboot: Allowing 2 CPUs, 0 hotplug CPUs' "two CPUs in the firmware tables"
lg_need '^\[.*\] IOAPIC\[0\]: apic_id 2, ' "the IOAPIC's ID after the two local APICs'"
lg_need '^\[.*\] smp: Brought up 1 node, 2 CPUs' "the second CPU started (INIT-SIPI-SIPI)"
lg_need '^RINGVM-NPROC 2$' "nproc says 2"
lg_need '^RINGVM-CLOCKEVENT lapic$' "the tick device is the local APIC timer"
lg_need '^RINGVM-IRQ LOC: *[1-9][0-9]* *[1-9][0-9]* *Local timer interrupts' "local APIC timer interrupts on both CPUs"
lg_need '^RINGVM-IRQ CAL: *[0-9]* *[0-9]* *Function call interrupts' "the function-call IPI line"
grep -a '^RINGVM-IRQ \(CAL\|RES\):' "$log.txt" | awk '{ n += $3 + $4 } END { exit n > 0 ? 0 : 1 }' &&
	echo "  ok   IPIs taken (function calls and rescheduling)" || { echo "  FAIL no IPI was taken"; fail=1; }
lg_need '^\[.*\] ACPI: PM: Preparing to enter system sleep state S5' "poweroff -f enters ACPI S5"
if grep -aq 'Kernel panic\|BUG:\|soft lockup\|rcu_sched self-detected stall' "$log.txt"; then
	echo "  FAIL the kernel reported: $(grep -a 'Kernel panic\|BUG:\|soft lockup\|self-detected stall' "$log.txt" | head -2)"
	fail=1
fi
if [ -n "$lg_why" ]; then
	echo "FAIL: killed ringvm: $lg_why"
	fail=1
elif [ "$lg_status" -ne 0 ]; then
	echo "FAIL: ringvm exited with status $lg_status, expected 0 after poweroff -f"
	fail=1
fi
echo "ringvm -smp 2 ran ${lg_secs}s, exit status $lg_status; console log in $log"
if [ $fail -ne 0 ]; then
	tail -25 "$log.txt"
	exit 1
fi
exit 0

#!/bin/sh
# The Linux guest boots and powers off while the host is busy: one CPU hog per
# host core runs during each boot (started here, bounded in time, killed
# on every exit), and RINGVM_LOAD_BOOTS (default 5) boots in a row must
# each reach /init and end with "reboot: Power down" and exit
# status 0. /init takes the quick path (ringvm.quick: no workloads, just
# sync and poweroff -f) and the kernel skips its crypto self-tests
# (cryptomgr.notests: their RSA arithmetic is ~80% of an interp boot), so
# a boot is mostly the kernel's own start. The watchdog
# (tests/linux_guest.sh) judges progress, not speed: a loaded host only
# makes boots slower.
#
# The kernel is told the TSC's rate (tsc_early_khz=1000000: the board's
# TSC counts virtual ns), as its calibration against the PIT fails under
# load; so it runs on the TSC with the local APIC's one-shot timer as its
# clockevent (the PIT's mode 4 on a board without an APIC), each event
# programmed from the previous one's interrupt: the configuration in which
# a single lost timer edge stalls the guest for good (docs/board.md,
# "Time"). A boot the watchdog kills ends its log with the board's
# wake-up state (SIGUSR2, docs/debugging.md).
BUILD=${BUILD:-build}
engine=${RINGVM_ENGINE:-interp}
boots=${RINGVM_LOAD_BOOTS:-5}
log=$BUILD/t_linux_load.log
. tests/linux_guest.sh
lg_prepare
command -v timeout >/dev/null || { echo "skip: no timeout(1) to bound the CPU hogs"; exit 77; }

. tests/hogs.sh
trap hogs_stop EXIT
trap 'exit 130' INT TERM

fail=0
i=1
while [ $i -le "$boots" ]; do
	hogs_start 1800
	lg_boot "$log.$i" "$engine" "$(cat "$dir/cmdline.txt") ringvm.quick cryptomgr.notests tsc_early_khz=1000000"
	hogs_stop
	cs=$(grep -ao 'Switched to clocksource [a-z0-9-]*' "$log.$i.txt" | tail -1 | cut -d' ' -f4)
	load=$(cut -d' ' -f1 /proc/loadavg)
	echo "boot $i: ${lg_secs}s, exit status $lg_status, load average $load, clocksource ${cs:-?}"
	bad=
	if [ -n "$lg_why" ]; then
		bad="killed ringvm: $lg_why"
	elif ! grep -aq '^RINGVM-QUICK' "$log.$i.txt"; then
		bad="/init never took the quick path (status $lg_status)"
	elif ! grep -aq 'reboot: Power down' "$log.$i.txt"; then
		bad="no 'reboot: Power down' (status $lg_status)"
	elif [ "$lg_status" -ne 0 ]; then
		bad="exit status $lg_status, want 0 after poweroff -f"
	fi
	if [ -n "$bad" ]; then
		echo "FAIL: boot $i: $bad; console log in $log.$i"
		echo "--- last lines of the console:"
		tail -15 "$log.$i.txt"
		fail=1
		break
	fi
	i=$((i + 1))
done
[ $fail -eq 0 ] && echo "$boots boots in a row under load, each powered off cleanly"
exit $fail

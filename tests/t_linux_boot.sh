#!/bin/sh
# Boots Debian's stock i686 Linux 6.1 with the busybox initramfs of
# scripts/linux-guest.sh on the interp engine, and requires every workload
# result (RINGVM-END lines) to equal the host's (expected.txt) and ringvm
# to exit 0 after the guest's `reboot -f`. Builds the guest when missing;
# skips when its packages cannot be downloaded.
#
# Limits: see tests/linux_guest.sh (progress, not speed).
BUILD=${BUILD:-build}
log=$BUILD/t_linux_boot.log
. tests/linux_guest.sh
lg_prepare
lg_boot "$log" interp "$(cat "$dir/cmdline.txt")"
why=$lg_why status=$lg_status secs=$lg_secs

fail=0
grep -a '^RINGVM-\(INIT\|BEGIN\|DONE\)' "$log.txt" | sed 's/^/  guest: /'
if ! grep -aq '^RINGVM-INIT' "$log.txt"; then
	echo "FAIL: the guest's /init never ran"
	fail=1
fi
grep -a '^RINGVM-END ' "$log.txt" >"$log.results"
while IFS= read -r want; do
	name=$(echo "$want" | cut -d' ' -f2)
	got=$(grep -a "^RINGVM-END $name " "$log.results" | head -1)
	if [ "$got" = "$want" ]; then
		echo "  ok   $name"
	else
		echo "  FAIL $name: expected '$want', got '${got:-nothing}'"
		fail=1
	fi
done <"$dir/expected.txt"
if [ -n "$why" ]; then
	echo "FAIL: killed ringvm: $why"
	fail=1
elif [ $status -ne 0 ]; then
	echo "FAIL: ringvm exited with status $status, expected 0 after reboot -f"
	fail=1
fi
echo "ringvm ran ${secs}s, exit status $status; console log in $log"
if [ $fail -ne 0 ]; then
	echo "--- last lines of the console:"
	tail -25 "$log.txt"
	exit 1
fi
exit 0

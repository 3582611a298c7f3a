#!/bin/sh
# Live migration of the Debian Linux guest over loopback in the middle of
# its workloads (docs/domains.md): the source domain (bt: the fast
# software engine; migration needs a software engine's dirty log) is
# created by ringctl, migrated with `ringctl migrate` to a domain that
# `ringctl receive` started in a second runtime directory (a second
# "host"), and the guest must finish there with every workload result
# equal to the host's (expected.txt) and power off. The source must be
# gone afterwards, and ringctl must report the total time, the bytes and
# the downtime.
BUILD=${BUILD:-build}
. tests/linux_guest.sh
lg_prepare
ctl=$BUILD/ringctl
[ -x "$ctl" ] || { echo "FAIL: $ctl not built"; exit 1; }
tmp=$(mktemp -d)
src=$tmp/src dst=$tmp/dst
mkdir -m 700 "$src" "$dst"
cleanup() {
	RINGVM_RUNDIR=$src "$ctl" destroy lin >/dev/null 2>&1
	RINGVM_RUNDIR=$dst "$ctl" destroy lin >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT
port=$((20000 + $$ % 20000))
cat >"$tmp/lin.cfg" <<CFG
name = "lin"
kernel = "$PWD/$dir/vmlinuz"
ramdisk = "$PWD/$dir/initrd.gz"
extra = "$(cat "$dir/cmdline.txt")"
memory = 256
engine = "bt"
on_reboot = "destroy"
on_crash = "destroy"
CFG
fail=0
RINGVM_RUNDIR=$src "$ctl" create "$tmp/lin.cfg" || { echo "FAIL: create"; exit 1; }
# Migrate once the workloads run (the second one: mid-workload).
n=0
until grep -aq '^RINGVM-BEGIN gzip' "$src/lin.console" 2>/dev/null; do
	sleep 1
	n=$((n + 1))
	if [ $n -ge 600 ] || ! RINGVM_RUNDIR=$src "$ctl" list | grep -q '^lin '; then
		echo "FAIL: the guest never reached its workloads"
		tail -5 "$src/lin.console" "$src/lin.log"
		exit 1
	fi
done
RINGVM_RUNDIR=$dst "$ctl" receive lin "$port" || { echo "FAIL: receive"; exit 1; }
if RINGVM_RUNDIR=$src "$ctl" migrate lin "127.0.0.1:$port" >"$tmp/mig.out" 2>&1; then
	sed 's/^/  /' "$tmp/mig.out"
	grep -q 'total .* ms, downtime .* ms, .* MiB sent' "$tmp/mig.out" || { echo "FAIL: no figures reported"; fail=1; }
else
	cat "$tmp/mig.out"
	echo "FAIL: migrate"
	exit 1
fi
if RINGVM_RUNDIR=$src "$ctl" list | grep -q '^lin '; then
	echo "FAIL: the source domain still runs after the migration"
	fail=1
fi
# Wait on the destination's console until the guest powers off.
RINGVM_RUNDIR=$dst timeout 1200 "$ctl" console lin </dev/null >"$tmp/dst.console"
# Each workload's result, wherever it was printed (source or destination).
cat "$src/lin.console" "$tmp/dst.console" | tr -d '\r' | grep -a '^RINGVM-END ' | sort -u >"$tmp/results"
lg_results "$tmp/results" || fail=1
grep -aq '^RINGVM-DONE' "$tmp/dst.console" || { echo "FAIL: the destination never printed RINGVM-DONE"; fail=1; }
[ $fail -eq 0 ] && echo "PASS: the Linux guest migrated mid-workload finished on the destination"
exit $fail

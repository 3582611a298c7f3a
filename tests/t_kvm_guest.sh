#!/bin/sh
# The embedded guest's conformance and bench modes under --accel kvm: where
# the host's KVM can run paging and protected-mode interrupts they must
# pass as on interp (families the model lacks, such as NX on the default
# pentium2, skip); where it cannot (an emulated /dev/kvm), ringvm must
# refuse at once with one line naming the missing mode, not hang or start
# a guest that cannot get far. Skips (77) without /dev/kvm.
BUILD=${BUILD:-build}
bin="$BUILD/ringvm"
[ -x "$bin" ] || { echo "t_kvm_guest: no $bin"; exit 1; }
[ -c /dev/kvm ] || { echo "skip: no /dev/kvm on this host"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
for mode in conformance bench; do
	start=$(date +%s)
	timeout 900 "$bin" --accel kvm --no-reboot --append "$mode" </dev/null >"$tmp/out" 2>"$tmp/err"
	rc=$?
	secs=$(( $(date +%s) - start ))
	if grep -q "^ringvm: --accel kvm: this host's KVM cannot run" "$tmp/err"; then
		lines=$(wc -l < "$tmp/err")
		if [ "$rc" -ne 1 ] || [ "$lines" -ne 1 ] || [ -s "$tmp/out" ] || [ "$secs" -gt 30 ]; then
			echo "FAIL $mode: refusal must be one line, exit 1, no guest output, quick (rc=$rc lines=$lines ${secs}s)"
			cat "$tmp/err"
			fail=1
		else
			echo "$mode: refused as it should on this host: $(cat "$tmp/err")"
		fi
		continue
	fi
	# The host's KVM can run it: it must pass as on interp.
	cat "$tmp/out"
	if [ "$mode" = conformance ]; then
		if [ "$rc" -ne 1 ] || ! grep -q "^[0-9]* passed, 0 failed, [0-9]* skipped$" "$tmp/out"; then
			echo "FAIL conformance under kvm (rc=$rc)"; cat "$tmp/err"; fail=1
		fi
	elif [ "$rc" -ne 0 ] || ! grep -q "bench done" "$tmp/out"; then
		echo "FAIL bench under kvm (rc=$rc)"; cat "$tmp/err"; fail=1
	fi
done
exit $fail

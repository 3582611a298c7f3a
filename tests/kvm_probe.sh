# Sourced by the kvm shell tests (callers set BUILD). kvm_need MODE...:
# run ringvm's kvm probe ($BUILD/test/kvm-probe, tests/tools/kvm_probe.c)
# and exit 77 naming the probe's result when it says this host cannot run
# one of the modes (real, protected, paging, pmint). Once this returns,
# any kvm failure is a failure.
kvm_need() {
	probe="$BUILD/test/kvm-probe"
	[ -x "$probe" ] || { echo "FAIL: no $probe (make $probe)"; exit 1; }
	got=$("$probe") || { echo "FAIL: $probe failed"; exit 1; }
	modes=$(printf '%s\n' "$got" | head -n 1)
	why=$(printf '%s\n' "$got" | sed -n 's/^why: //p')
	for m in "$@"; do
		case " $modes " in
		*" $m=1 "*) ;;
		*" $m=0 "*) echo "skip: kvm probe: $m=0 ($modes; $why)"; exit 77 ;;
		*) echo "FAIL: kvm probe printed no $m: $modes"; exit 1 ;;
		esac
	done
}

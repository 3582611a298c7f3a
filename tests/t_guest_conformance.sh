#!/bin/sh
# The embedded guest's conformance suite (ringos, guest/conf*.c) passes on
# the engine under test ($RINGVM_ENGINE, default interp; kvm has its own
# test, t_kvm_guest): every protection check at CPL 0-3 gives the vector,
# error code and state the Intel SDM prescribes.
#
# Passes only when every check of the CPU model in use ran and passed: the
# guest names the model (CPUID.1 EAX and EDX), this script knows how many
# checks that model runs and which skips it may have (with the reason), and
# requires exactly that many "ok" lines, no FAIL, no other SKIP, the final
# "N passed, 0 failed, K skipped" line to agree, and the debug-exit with 0
# (host exit status 1). A truncated run or a skipped family fails.
# Every CPU model (-cpu NAME) is run: $RINGVM_CPU_MODELS narrows the list.
BUILD=${BUILD:-build}
engine=${RINGVM_ENGINE:-interp}
bin="$BUILD/ringvm-asan"
[ -x "$bin" ] || bin="$BUILD/ringvm"
if [ ! -x "$bin" ]; then
	echo "t_guest_conformance: no $BUILD/ringvm-asan or $BUILD/ringvm"
	exit 1
fi

# CPU models: "EAX EDX checks allowed-skips". Allowed skips are the names
# of conf_skip() families, separated by '|', and each needs a reason here.
#  - 0x633 0x181bb7f: pentium2, the default (src/cpu/cpumodel.c), on
#    ringvm's board (local APIC present: CPUID.1:EDX bit 9), SEP, PSE,
#    VME and PAE present, no XD: the NX family (6 checks) is skipped.
#  - 0x543 0x80033f: pentium (P5), no SEP, no PAE: the SYSENTER/SYSEXIT
#    family (5 checks) and the PAE family (10, PAT's 2 and NX's 6 with
#    it) are skipped, everything else runs.
#  - 0x673 0x381bb7f: pentium3: as pentium2.
#  - 0xf27 0x789bb7f, 0x6d6 0x789bb7f: pentium4, pentium-m (XD): every
#    check runs.
#  - the same without bit 9: a board without a local APIC, where the NMI
#    blocking family (3 checks) cannot run either.
models='0x633 0x181bb7f 302 NX checks
0x543 0x80033f 287 SYSENTER/SYSEXIT checks|PAE checks
0x673 0x381bb7f 302 NX checks
0xf27 0x789bb7f 309 -
0x6d6 0x789bb7f 309 -
0x633 0x181b97f 299 NX checks|NMI blocking checks
0x543 0x80013f 284 SYSENTER/SYSEXIT checks|PAE checks|NMI blocking checks
0x673 0x381b97f 299 NX checks|NMI blocking checks
0xf27 0x789b97f 306 NMI blocking checks
0x6d6 0x789b97f 306 NMI blocking checks'

for cpu in ${RINGVM_CPU_MODELS:-pentium2 pentium pentium3 pentium4 pentium-m}; do
echo "=== -cpu $cpu"
# On the instruction-count clock: the PIT checks count the device's
# periods against its interrupts, which a host that deschedules ringvm
# between two reads of the counter skews on the host clock (CI hosts are
# loaded); on the instruction clock they hold the PIT to the datasheet.
out=$(timeout 110 "$bin" -cpu "$cpu" --accel "$engine" --deterministic --no-reboot --append conformance 2>&1 </dev/null)
rc=$?
out=$(printf '%s\n' "$out" | tr -d '\r')
printf '%s\n' "$out"
fail() { echo "t_guest_conformance: $*"; exit 1; }

model=$(printf '%s\n' "$out" | sed -n 's/^cpu: CPUID.1 EAX=\(0x[0-9a-f]*\) EDX=\(0x[0-9a-f]*\)$/\1 \2/p' | head -n 1)
[ -n "$model" ] || fail "no 'cpu: CPUID.1 EAX=... EDX=...' line (exit status $rc)"
want=$(printf '%s\n' "$models" | while read -r a d n s; do
	[ "$a $d" = "$model" ] && echo "$n $s"
done)
[ -n "$want" ] || fail "no expected count for CPU model $model: add it to \$models"
want_n=${want%% *}
allowed=${want#* }

oks=$(printf '%s\n' "$out" | grep -c '^ok [0-9]')
fails=$(printf '%s\n' "$out" | grep -c '^FAIL ')
skips=$(printf '%s\n' "$out" | grep '^SKIP ')
nskip=0
if [ -n "$skips" ]; then
	nskip=$(printf '%s\n' "$skips" | wc -l)
	bad=$(printf '%s\n' "$skips" | sed 's/^SKIP [0-9]* \([^:]*\):.*/\1/' | while IFS= read -r name; do
		case "|$allowed|" in *"|$name|"*) ;; *) echo "$name" ;; esac
	done)
	[ -z "$bad" ] || fail "skipped, not expected for model $model: $(echo $bad)"
fi
last=$(printf '%s\n' "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' | tail -n 1)
[ -n "$last" ] || fail "no 'N passed, M failed, K skipped' line: the run was cut short (exit status $rc)"
[ "$last" = "$oks passed, $fails failed, $nskip skipped" ] ||
	fail "the summary '$last' disagrees with the lines ($oks ok, $fails FAIL, $nskip SKIP)"
[ "$fails" -eq 0 ] || fail "$fails checks failed"
[ "$oks" -eq "$want_n" ] || fail "$oks checks passed, model $model runs $want_n"
[ "$rc" -eq 1 ] || fail "exit status $rc, want 1 (debug-exit with 0)"
echo "t_guest_conformance: all $oks checks of model $model (-cpu $cpu) passed on $engine"
done

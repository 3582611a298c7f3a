#!/bin/sh
# Runs every test: the C test binaries, then the shell tests (tests/*.sh).
# Prints one line per test and a closing "N passed, M failed".
#
# Engines: a test that runs guest code on the engine named by
# $RINGVM_ENGINE (the C tests built on tests/harness.h, the guest shell
# tests) runs once per software engine in RINGVM_ENGINES (default
# "interp bt"), named "test[engine]". Other shell tests run on the first
# of ENGINE_FAST (bt), the fastest correct engine.
BUILD=${BUILD:-build}
export BUILD
ENGINES=${RINGVM_ENGINES:-interp bt}
ENGINE_FAST=${RINGVM_ENGINE_FAST:-bt}
# Shell tests that pin the CPU's behaviour from inside a guest: every engine.
PER_ENGINE_SH="t_guest_conformance t_guest_tour t_guest_bench t_guest_alu t_linux_boot t_gdb_stub t_ring_trace"
pass=0; fail=0; skip=0; failed=""
run_one() {
  name=$1; shift
  start=$(date +%s)
  out=$("$@" 2>&1); rc=$?
  secs=$(( $(date +%s) - start ))
  if [ $rc -eq 0 ]; then pass=$((pass+1)); echo "PASS $name (${secs}s)"
  elif [ $rc -eq 77 ]; then skip=$((skip+1)); echo "SKIP $name: $(echo "$out" | tail -1)"
  else fail=$((fail+1)); failed="$failed $name"; echo "FAIL $name (rc=$rc)"; echo "$out" | tail -40 | sed 's/^/    /'
  fi
}
# The Debian Linux guest (downloaded once, then cached in guest-linux/) is
# used by test_boot_vmlinuz and t_linux_boot; those say what happens when
# it cannot be built.
if [ ! -f guest-linux/vmlinuz ] || [ ! -f guest-linux/initrd.gz ]; then
  echo "building the Debian Linux guest (scripts/linux-guest.sh)..."
  sh scripts/linux-guest.sh --out guest-linux >"$BUILD/linux-guest-build.log" 2>&1 ||
    echo "  could not build it (see $BUILD/linux-guest-build.log)"
fi
for t in "$BUILD"/test/bin/test_*; do
  [ -x "$t" ] || continue
  n=$(basename "$t")
  # test_kvm compares kvm with interp itself
  if [ "$n" != test_kvm ] && grep -q RINGVM_ENGINE "$t"; then
    for e in $ENGINES; do
      run_one "$n[$e]" env RINGVM_ENGINE="$e" "$t"
    done
  else
    run_one "$n" "$t"
  fi
done
for t in tests/t_*.sh; do
  [ -f "$t" ] || continue
  n=$(basename "$t" .sh)
  case " $PER_ENGINE_SH " in
  *" $n "*)
    for e in $ENGINES; do
      run_one "$n[$e]" env RINGVM_ENGINE="$e" sh "$t"
    done ;;
  *) run_one "$n" env RINGVM_ENGINE="$ENGINE_FAST" sh "$t" ;;
  esac
done
[ -n "$failed" ] && echo "failed:$failed"
echo "$pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]

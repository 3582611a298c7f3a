#!/bin/sh
# Runs every test: the C test binaries, then the shell tests (tests/*.sh).
# Prints one line per test and a closing "N passed, M failed".
BUILD=${BUILD:-build}
export BUILD
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
  run_one "$(basename "$t")" "$t"
done
for t in tests/t_*.sh; do
  [ -f "$t" ] || continue
  run_one "$(basename "$t" .sh)" sh "$t"
done
[ -n "$failed" ] && echo "failed:$failed"
echo "$pass passed, $fail failed, $skip skipped"
[ $fail -eq 0 ]

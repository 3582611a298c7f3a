#!/bin/sh
# The fuzz targets (fuzz/, docs/fuzzing.md): every input that ever crashed
# (fuzz/regress/<target>/) and the seed corpus run once, then each target
# fuzzes for FUZZ_TEST_SECS seconds (default 20) on the corpus that
# `make fuzz` keeps in $BUILD/fuzz/corpus. Any crash, sanitizer report or
# timeout fails the test.
BUILD=${BUILD:-build}
SECS=${FUZZ_TEST_SECS:-20}
ASAN_OPTIONS=${ASAN_OPTIONS:-quarantine_size_mb=32}
export ASAN_OPTIONS
targets=$(ls fuzz/fuzz_*.c 2>/dev/null | sed 's|fuzz/fuzz_\(.*\)\.c|\1|')
[ -n "$targets" ] || { echo "no fuzz targets"; exit 1; }
for t in $targets; do
  [ -x "$BUILD/fuzz/bin/fuzz_$t" ] || { echo "$BUILD/fuzz/bin/fuzz_$t not built (make fuzz-build)"; exit 77; }
done
fail=0
for t in $targets; do
  bin=$BUILD/fuzz/bin/fuzz_$t
  inputs=$(ls fuzz/regress/"$t"/* fuzz/corpus/"$t"/* 2>/dev/null)
  if [ -n "$inputs" ]; then
    # shellcheck disable=SC2086
    if ! out=$("$bin" -timeout=10 $inputs 2>&1); then
      echo "fuzz_$t: a regression or seed input fails:"; echo "$out" | grep -E 'Running|ERROR|SUMMARY|runtime error' | tail -8
      fail=1
      continue
    fi
  fi
  BUILD=$BUILD FUZZ_SECS=$SECS sh scripts/fuzz.sh "$t" || fail=1
done
exit $fail

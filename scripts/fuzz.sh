#!/bin/sh
# Runs libFuzzer targets one after another (never two at once: the
# machines are shared), each for FUZZ_SECS seconds at low priority, on
# the corpus kept in $BUILD/fuzz/corpus/<target> (seeded from
# fuzz/corpus/<target>). A crash leaves its input in
# $BUILD/fuzz/crash/<target>/ and fails the run; fix it and keep the
# input in fuzz/regress/<target>/ (docs/fuzzing.md).
# Usage: scripts/fuzz.sh TARGET...   (env: BUILD, FUZZ_SECS, FUZZ_ARGS)
BUILD=${BUILD:-build}
SECS=${FUZZ_SECS:-600}
ASAN_OPTIONS=${ASAN_OPTIONS:-quarantine_size_mb=32:malloc_context_size=10}
export ASAN_OPTIONS
rc=0
for t in "$@"; do
  bin=$BUILD/fuzz/bin/fuzz_$t
  corpus=$BUILD/fuzz/corpus/$t
  crash=$BUILD/fuzz/crash/$t
  log=$BUILD/fuzz/$t.log
  mkdir -p "$corpus" "$crash"
  [ -d "fuzz/corpus/$t" ] && cp -n fuzz/corpus/"$t"/* "$corpus"/ 2>/dev/null
  start=$(date +%s)
  # shellcheck disable=SC2086
  nice -n 19 "$bin" "$corpus" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=1024 \
    -print_final_stats=1 -artifact_prefix="$crash/" $FUZZ_ARGS >"$log" 2>&1
  r=$?
  secs=$(( $(date +%s) - start ))
  execs=$(grep '^stat::number_of_executed_units' "$log" | awk '{print $2}')
  cov=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1 | sed 's/.*\(cov: [0-9]* ft: [0-9]*\).*/\1/')
  echo "fuzz_$t: ${execs:-?} executions in ${secs}s ($(( ${execs:-0} / (secs > 0 ? secs : 1) ))/s), ${cov:-no final stats}"
  if [ $r -ne 0 ]; then
    echo "fuzz_$t: FAILED (exit $r), log $log:" >&2
    grep -E 'ERROR|SUMMARY|Test unit written' "$log" | head -5 >&2
    rc=1
  fi
done
exit $rc

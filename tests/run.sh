#!/usr/bin/env bash
# tests/run.sh [unit|integration] [NAME-FILTER] — run every test as its own
# process. Exit 77 means skipped; under FAULTLINE_NO_SKIP=1 (CI) a skip is a
# failure (FAULTLINE_REQUIRE_BPF=1, its old name, still works). A test whose
# build is missing fails, it is not skipped. Ends with the plain closing line
# "N passed, N failed, N skipped".
set -u
cd "$(dirname "$0")/.."
O=${O:-build}
what=${1:-all}
filter=${2:-}
logdir=$O/tests/logs
mkdir -p "$logdir"
export O FL_ROOT=$PWD
pass=0 failc=0 skip=0 failed=()
no_skip=${FAULTLINE_NO_SKIP:-${FAULTLINE_REQUIRE_BPF:-0}}

missing() { # name what
  [ -n "$filter" ] && [[ $1 != *$filter* ]] && return
  failc=$((failc+1)); failed+=("$1")
  printf 'FAIL  %-40s %s missing: run make (O=%s)\n' "$1" "$2" "$O"
}

run_one() { # name cmd...
  local name=$1; shift
  [ -n "$filter" ] && [[ $name != *$filter* ]] && return
  local log=$logdir/${name////_}.log t0 t1 rc
  t0=$EPOCHREALTIME
  timeout -k 10 "${FL_TEST_TIMEOUT:-300}" "$@" >"$log" 2>&1 </dev/null
  rc=$?
  t1=$EPOCHREALTIME
  local dt; dt=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}')
  if [ $rc -eq 0 ]; then
    pass=$((pass+1)); printf 'PASS  %-40s %6ss\n' "$name" "$dt"
  elif [ $rc -eq 77 ] && [ "$no_skip" != 1 ]; then
    skip=$((skip+1)); printf 'SKIP  %-40s %s\n' "$name" "$(tail -n 1 "$log")"
  else
    failc=$((failc+1)); failed+=("$name")
    printf 'FAIL  %-40s rc=%s (log: %s)\n' "$name" "$rc" "$log"
    tail -n 25 "$log" | sed 's/^/    | /'
  fi
}

if [ "$what" = all ] || [ "$what" = unit ]; then
  for src in tests/unit/test_*.c; do
    t=$O/tests/$(basename "$src" .c)
    if [ -x "$t" ]; then run_one "unit/$(basename "$t")" "$t"
    else missing "unit/$(basename "$t")" "$t"; fi
  done
fi
if [ "$what" = all ] || [ "$what" = integration ]; then
  for b in "$O/faultline" "$O/libfaultline.so"; do
    [ -e "$b" ] || missing "integration" "$b"
  done
  for t in tests/integration/test_*.sh; do
    [ -f "$t" ] || continue
    [ -e "$O/faultline" ] && [ -e "$O/libfaultline.so" ] || continue
    run_one "integration/$(basename "$t" .sh)" bash "$t"
  done
fi

echo
[ ${#failed[@]} -gt 0 ] && echo "failed: ${failed[*]}"
echo "$pass passed, $failc failed, $skip skipped"
[ $failc -eq 0 ]

#!/usr/bin/env bash
# scripts/fuzz.sh FZ — run every libFuzzer harness built in FZ (make fuzz)
# for FUZZ_SECONDS each (default 60). Each starts from its regression inputs
# (tests/fuzz/corpus/NAME: replayed first, so what was found once stays
# fixed) and its seeds (profiles/, scenarios/, recorded timelines); new
# inputs go to FZ/corpus-NAME, crashes to FZ/artifacts/ — copy a crash
# into tests/fuzz/corpus/NAME once it is fixed.
set -euo pipefail
cd "$(dirname "$0")/.."
FZ=${1:-build-fuzz}
secs=${FUZZ_SECONDS:-60}
mkdir -p "$FZ/artifacts"
rc=0
for h in "$FZ"/fuzz_*; do
  [ -x "$h" ] || continue
  name=$(basename "$h"); name=${name#fuzz_}
  work=$FZ/corpus-$name
  mkdir -p "$work" "tests/fuzz/corpus/$name"
  seeds=("tests/fuzz/corpus/$name")
  case $name in
    profile) seeds+=(profiles scenarios scenarios/history) ;;
  esac
  dict=()
  [ -f "tests/fuzz/$name.dict" ] && dict=(-dict="tests/fuzz/$name.dict")
  echo "fuzz: $name for ${secs}s" >&2
  "$h" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$FZ/artifacts/$name-" "${dict[@]}" "$work" "${seeds[@]}" \
    >"$FZ/$name.log" 2>&1 || { rc=1; echo "fuzz: $name FAILED (log: $FZ/$name.log)" >&2; tail -n 30 "$FZ/$name.log" >&2; }
  grep -E "^stat::number_of_executed_units|^stat::new_units_added" "$FZ/$name.log" | tr '\n' ' ' >&2; echo >&2
done
exit $rc

#!/usr/bin/env bash
# bench/bench_clock.sh — clock_gettime(REALTIME / MONOTONIC) ns per call,
# side by side as a markdown table: no preload, the shim idle, the shim with
# an offset (FAKETIME and a profile under `faultline run`), the shim with a
# drift window, libfaketime, libfaketimeMT (bench/bench_clock.c has the
# method). bench/run.sh runs the same binary in its section 6 and pastes
# the table into RESULTS.md.
#   bench/bench_clock.sh [-r ROUNDS] [-n CALLS]
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
O=${O:-build}
case $O in /*) ;; *) O=$ROOT/$O ;; esac
for f in "$O/bench/bench_clock" "$O/libfaultline.so" "$O/faultline"; do
  [ -e "$f" ] || { echo "bench_clock: $f missing (run make bench)" >&2; exit 1; }
done
echo "machine: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores," \
  "clocksource $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource)," \
  "load $(cut -d' ' -f1-3 /proc/loadavg)"
echo
exec "$O/bench/bench_clock" "$@"

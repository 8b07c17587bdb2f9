#!/usr/bin/env bash
# Absolute-deadline waits under a shifted clock return on time. clockwait
# (tests/helpers/clockwait.c) waits for "now + 200 ms" through
# pthread_cond_timedwait (realtime and monotonic condvars),
# pthread_cond_clockwait, clock_nanosleep(TIMER_ABSTIME), sem_timedwait,
# sem_clockwait and timerfd (TFD_TIMER_ABSTIME). Under ±1 day and -1 hour
# offsets (profile rules and FAKETIME) every wait times out after 0.2-0.5 s
# of real time: not at once (deadline taken as past), not hanging (deadline a
# day away). A speed-up shortens the real wait; a frozen clock still sleeps.
source "$(dirname "$0")/lib.sh"
CW=$O/tests/helpers/clockwait
need "$FL" "$SHIM" "$CW"

# check LOG LABEL LO HI — 10 waits, each timed out (rc=0) with real_ms in
# [LO, HI] and, on the program's own clock, fake_ms >= 195 (or 0 if frozen).
check() {
  local out
  out=$($PY - "$1" "$3" "$4" <<'PY'
import re, sys
lo, hi = float(sys.argv[2]), float(sys.argv[3])
lines = [l for l in open(sys.argv[1]) if "real_ms=" in l]
bad = []
for l in lines:
    m = re.match(r"(\S+) real_ms=([\d.]+) fake_ms=(-?[\d.]+) rc=(-?\d+)", l)
    name, real, fake, rc = m.group(1), float(m.group(2)), float(m.group(3)), int(m.group(4))
    if rc != 0 or not lo <= real <= hi or not (fake >= 195 or fake == 0):
        bad.append(l.strip())
print("%d %s" % (len(lines), " | ".join(bad)))
PY
)
  say "$2: $(tr '\n' ' ' <"$1" | sed 's/  */ /g' | cut -c1-400)"
  eq "${out%% *}" 10 "$2: waits run"
  eq "${out#* }" "" "$2: waits outside [$3, $4] ms real or not timed out"
}

# control: no shim
timeout 20 "$CW" >"$T/native.out" || fail "clockwait without the shim: rc=$?"
check "$T/native.out" native 195 500

# profile rules: +1 day on every clock; -1 day and -1 hour on realtime
# (monotonic and boottime cannot go backwards: the loader refuses)
profile "$T/plus1d.json" <<'JSON'
{"faultline": 1, "seed": 1, "targets": {},
 "rules": [{"clock": "realtime", "fault": "offset", "ms": 86400000},
           {"clock": "monotonic", "fault": "offset", "ms": 86400000},
           {"clock": "boottime", "fault": "offset", "ms": 86400000}]}
JSON
for off in -86400000 -3600000; do
  profile "$T/rt$off.json" <<JSON
{"faultline": 1, "seed": 1, "targets": {},
 "rules": [{"clock": "realtime", "fault": "offset", "ms": $off}]}
JSON
done
for p in plus1d rt-86400000 rt-3600000; do
  rc=0; timeout 30 "$FL" run -p "$T/$p.json" -o "$T/$p.jsonl" -- "$CW" >"$T/$p.out" || rc=$?
  eq "$rc" 0 "clockwait under profile $p"
  check "$T/$p.out" "profile $p" 195 500
done

# the profile really shifts the clocks the waits are judged by
real=$(date +%s)
fake=$("$FL" run -p "$T/rt-86400000.json" -o "$T/date.jsonl" -- date +%s)
d=$((fake - real + 86400)); d=${d#-}
le "$d" 2 "date under a -1 day realtime offset vs real date - 1 day (s)"

# FAKETIME (no control block): the same offsets, and speed and freeze
for ft in "+1d" "-1d" "-1h"; do
  rc=0; FAKETIME="$ft" LD_PRELOAD="$SHIM" timeout 30 "$CW" >"$T/ft.out" || rc=$?
  eq "$rc" 0 "clockwait under FAKETIME=$ft"
  check "$T/ft.out" "FAKETIME=$ft" 195 500
  rc=0; FAKETIME="$ft" FAKETIME_DONT_FAKE_MONOTONIC=1 LD_PRELOAD="$SHIM" timeout 30 "$CW" >"$T/ft.out" || rc=$?
  eq "$rc" 0 "clockwait under FAKETIME=$ft, monotonic not faked"
  check "$T/ft.out" "FAKETIME=$ft DONT_FAKE_MONOTONIC" 195 500
done
# x2: 200 ms of fake time pass in 100 ms
FAKETIME="+1h x2" LD_PRELOAD="$SHIM" timeout 30 "$CW" >"$T/x2.out" || fail "clockwait under x2"
check "$T/x2.out" "FAKETIME=+1h x2" 95 300
# frozen (absolute FAKETIME): reads stand still, sleeps still pass (as libfaketime)
FAKETIME="2026-01-01 00:00:00" LD_PRELOAD="$SHIM" timeout 30 "$CW" >"$T/frozen.out" || fail "clockwait frozen"
check "$T/frozen.out" "FAKETIME frozen" 195 500
grep -q 'fake_ms=0.0 ' "$T/frozen.out" || fail "frozen clock moved"
say "ok"

#!/usr/bin/env bash
# Ending a drill ends its clock faults without breaking the clocks: after
# `faultline abort` or a kill -9 of the controller (stale heartbeat) the
# realtime clock is real again at once, and the monotonic clocks keep what
# they had gained but stop drifting — they never go backwards, in any
# thread (clockwait -m: 4 threads reading MONOTONIC, _COARSE, _RAW and
# BOOTTIME across the switch).
source "$(dirname "$0")/lib.sh"
CW=$O/tests/helpers/clockwait
need "$FL" "$SHIM" "$CW"

profile "$T/p.json" <<'JSON'
{"faultline": 1, "seed": 1, "targets": {},
 "rules": [{"clock": "realtime", "fault": "offset", "ms": 3600000},
           {"clock": "monotonic", "fault": "offset", "ms": 3600000},
           {"clock": "monotonic", "fault": "drift", "ppm": 1000000, "window_ms": [0, 100000]},
           {"clock": "boottime", "fault": "drift", "ppm": -500000, "window_ms": [0, 100000]}]}
JSON

cat >"$T/loop.py" <<'PY'
import ctypes, select, time
libc = ctypes.CDLL(None)
class TS(ctypes.Structure):
    _fields_ = [("s", ctypes.c_long), ("ns", ctypes.c_long)]
def kernel(c):
    ts = TS(); libc.syscall(228, c, ctypes.byref(ts)); return ts.s + ts.ns / 1e9
for i in range(30):
    print("%.3f %.4f %.4f" % (time.monotonic(), time.monotonic() - kernel(1),
                              time.time() - kernel(0)), flush=True)
    select.select([], [], [], 0.1)
PY

# check OUT LABEL — "mono mono-real rt-real" lines: faked (+1 h realtime),
# then real realtime; monotonic never back, its gain frozen after the end
check() {
  $PY - "$1" <<'PY' || fail "$2"
import sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1])]
# the differences are two reads apart: allow for a preempted reader
assert len(rows) == 30, len(rows)
assert all(abs(r[2] - 3600) < 0.5 for r in rows[:5]), ("realtime faked before the end", rows)
end = next(i for i, r in enumerate(rows) if abs(r[2]) < 0.5)
assert all(abs(r[2]) < 0.5 for r in rows[end:]), ("realtime real after the end", rows)
assert all(abs(r[2] - 3600) < 0.5 for r in rows[:end]), ("one switch", rows)
assert all(a[0] <= b[0] for a, b in zip(rows, rows[1:])), ("monotonic went back", rows)
assert all(abs(r[1] - rows[end][1]) < 0.05 for r in rows[end:]), ("monotonic still drifting after the end", rows)
assert rows[end][1] > 3600.5, ("the drift's gain is kept", rows[end][1])
print("end at sample %d, monotonic gain kept %.3f s" % (end, rows[end][1]), file=sys.stderr)
PY
}

# 1. faultline abort
"$FL" run -p "$T/p.json" --ctl "$T/ctl1" -o "$T/a.jsonl" -- $PY "$T/loop.py" >"$T/a.out" &
run1=$!; _pids+=($run1)
"$FL" run -p "$T/p.json" --ctl "$T/ctl2" -o "$T/m.jsonl" -- "$CW" -m 2.5 >"$T/m.out" 2>&1 &
run2=$!; _pids+=($run2)
# five faked samples printed, clockwait attached: the faults are on
wait_until 20 has_lines "$T/a.out" 6 || fail "the loop under abort never printed"
wait_until 20 has_attach "$T/m.jsonl" || fail "clockwait never attached"
"$FL" abort --ctl "$T/ctl1" || fail "abort 1"
"$FL" abort --ctl "$T/ctl2" || fail "abort 2"
wait "$run1" || fail "python loop under abort: rc=$?"
rc=0; wait "$run2" || rc=$?
say "threads across abort: $(cat "$T/m.out")"
eq "$rc" 0 "clockwait -m across an abort (monotonic clocks never back)"
check "$T/a.out" "after faultline abort"

# 2. kill -9 of the controller: the heartbeat goes stale (75 ms)
"$FL" run -p "$T/p.json" --ctl "$T/ctl3" -o "$T/k.jsonl" -- $PY "$T/loop.py" >"$T/k.out" &
run3=$!
"$FL" run -p "$T/p.json" --ctl "$T/ctl4" -o "$T/k2.jsonl" -- "$CW" -m 2.5 >"$T/k2.out" 2>&1 &
run4=$!
_flpids+=($run3 $run4)
wait_until 20 has_lines "$T/k.out" 6 || fail "the loop under kill -9 never printed"
wait_until 20 has_attach "$T/k2.jsonl" || fail "clockwait never attached (kill -9)"
sut3=$(child_of "$run3"); sut4=$(child_of "$run4")
kill -9 "$run3" "$run4"
wait "$run3" 2>/dev/null || true
wait "$run4" 2>/dev/null || true
gone() { [ ! -e "/proc/$sut3" ] && [ ! -e "/proc/$sut4" ]; }
wait_until 10 gone || fail "the programs did not finish after kill -9 of their controllers"
say "threads across kill -9: $(cat "$T/k2.out")"
grep -q 'backwards=0$' "$T/k2.out" || fail "clockwait -m across kill -9 of the controller"
check "$T/k.out" "after kill -9 of the controller"
say "ok"

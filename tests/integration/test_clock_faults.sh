#!/usr/bin/env bash
# Clock rules of a profile, as real programs see them: python3 (time.time,
# time.monotonic, clock_gettime of the _COARSE clocks and BOOTTIME, libc
# time() and gettimeofday() through ctypes, time.sleep) and date, under
# offset (negative realtime too), drift, freeze and jump. Each sample is the
# fake value minus the kernel's own (a raw clock_gettime system call, which
# nothing preloaded can touch).
source "$(dirname "$0")/lib.sh"
need "$FL" "$SHIM" date

# probe.py T1 T2 … — at each real time Tn (s after start) print one JSON
# sample; "sleepN" instead of a time: time.sleep(N) there, record its real
# duration.
cat >"$T/probe.py" <<'PY'
import ctypes, json, sys, time
libc = ctypes.CDLL(None)
class TS(ctypes.Structure):
    _fields_ = [("s", ctypes.c_long), ("ns", ctypes.c_long)]
class TV(ctypes.Structure):
    _fields_ = [("s", ctypes.c_long), ("us", ctypes.c_long)]
def kernel(clk):
    ts = TS(); libc.syscall(228, clk, ctypes.byref(ts))  # SYS_clock_gettime
    return ts.s + ts.ns / 1e9
def fake(clk):
    ts = TS(); libc.clock_gettime(clk, ctypes.byref(ts))
    return ts.s + ts.ns / 1e9
def real_sleep(until):  # select's timeout is relative: never translated
    import select
    while True:
        left = until - kernel(1)
        if left <= 0:
            return
        select.select([], [], [], left)
t0 = kernel(1)
for a in sys.argv[1:]:
    if a.startswith("sleep"):
        k0 = kernel(1); time.sleep(float(a[5:])); k1 = kernel(1)
        print(json.dumps({"sleep": float(a[5:]), "real": k1 - k0}))
        continue
    real_sleep(t0 + float(a))
    tv = TV(); libc.gettimeofday(ctypes.byref(tv), None)
    s = {"t": float(a),
         "rt": time.time() - kernel(0), "rtc": fake(5) - kernel(5),
         "mono": time.monotonic() - kernel(1), "monoc": fake(6) - kernel(6),
         "raw": fake(4) - kernel(4), "boot": fake(7) - kernel(7),
         "gtod": tv.s + tv.us / 1e6 - kernel(0),
         "time": libc.time(None) - kernel(0),
         "mono_abs": time.monotonic()}
    print(json.dumps(s)); sys.stdout.flush()
PY

# run NAME PROFILE-JSON PROBE-ARGS… — the probe under the profile
run() {
  local name=$1 prof=$2; shift 2
  printf '%s\n' "$prof" | profile "$T/$name.json"
  timeout 60 "$FL" run -p "$T/$name.json" -o "$T/$name.jsonl" -- $PY "$T/probe.py" "$@" \
    >"$T/$name.out" || fail "$name: faultline run rc=$?"
  say "$name: $(cut -c1-300 "$T/$name.out" | tr '\n' ' ')"
}

# expect NAME PYEXPR LABEL — PYEXPR over s (samples, in order) and z
# (sleeps) holds; near(a, b, tol) helps.
expect() {
  $PY - "$T/$1.out" "$2" <<'PY' || fail "$1: $3 (expected: $2)"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
s = [r for r in rows if "t" in r]
z = [r for r in rows if "sleep" in r]
near = lambda a, b, tol=0.01: abs(a - b) <= tol
sys.exit(0 if eval(sys.argv[2]) else 1)
PY
}

D=86400

# 0. rules that would run a monotonic clock backwards never load
for r in '{"clock": "monotonic", "fault": "offset", "ms": -1000}' \
         '{"clock": "boottime", "fault": "jump", "ms": -5, "window_ms": [0, 10]}' \
         '{"clock": "monotonic", "fault": "offset", "ms": 1000, "window_ms": [0, 10]}' \
         '{"clock": "monotonic", "fault": "drift", "ppm": -1000000}'; do
  printf '{"faultline": 1, "targets": {}, "rules": [%s]}\n' "$r" >"$T/bad.json"
  rc=0; "$FL" validate "$T/bad.json" >"$T/bad.out" 2>&1 || rc=$?
  eq "$rc" 1 "validate refuses $r"
  rc=0; "$FL" run -p "$T/bad.json" -- true >/dev/null 2>&1 || rc=$?
  [ "$rc" != 0 ] || fail "run accepted $r"
done

# 1. offsets: realtime -1 day (negative), monotonic +10 s, boottime +5 s
run offset '{"faultline": 1, "seed": 1, "targets": {}, "rules": [
  {"clock": "realtime", "fault": "offset", "ms": -86400000},
  {"clock": "monotonic", "fault": "offset", "ms": 10000},
  {"clock": "boottime", "fault": "offset", "ms": 5000}]}' 0.1 0.6
expect offset "len(s) == 2" "samples"
expect offset "all(near(x['rt'], -$D) and near(x['gtod'], -$D) and near(x['rtc'], -$D, 0.02) for x in s)" "realtime, gettimeofday, REALTIME_COARSE at -1 day"
expect offset "all(abs(x['time'] + $D) <= 1 for x in s)" "time() at -1 day"
expect offset "all(near(x['mono'], 10) and near(x['monoc'], 10, 0.02) and near(x['raw'], 10) for x in s)" "MONOTONIC, _COARSE, _RAW at +10 s"
expect offset "all(near(x['boot'], 5) for x in s)" "BOOTTIME at +5 s"
real=$(date +%s)
fake=$("$FL" run -p "$T/offset.json" -o "$T/date.jsonl" -- date +%s)
d=$((fake - real + D)); d=${d#-}
le "$d" 2 "date +%s under realtime -1 day, vs real - 1 day"

# 2. drift from the window's start, kept after it: realtime x2 and
#    monotonic x1.5 for 1 s; boottime untouched
run drift '{"faultline": 1, "seed": 1, "targets": {}, "rules": [
  {"clock": "realtime", "fault": "drift", "ppm": 1000000, "window_ms": [1000, 2000]},
  {"clock": "monotonic", "fault": "drift", "ppm": 500000, "window_ms": [1000, 2000]}]}' \
  0.5 1.5 2.5 3.0
expect drift "near(s[0]['rt'], 0) and near(s[0]['mono'], 0)" "no drift before the window"
expect drift "0.25 <= s[1]['rt'] <= 0.75 and 0.1 <= s[1]['mono'] <= 0.4" "drifting inside the window"
expect drift "all(near(x['rt'], 1.0) and near(x['gtod'], 1.0) and near(x['mono'], 0.5) and near(x['monoc'], 0.5, 0.02) for x in s[2:])" "the drift stays after the window (+1 s, +0.5 s)"
expect drift "all(near(x['boot'], 0) for x in s)" "boottime untouched"
expect drift "all(s[i]['mono_abs'] <= s[i+1]['mono_abs'] for i in range(len(s)-1))" "monotonic never goes back"

# 3. freeze: monotonic stands still for the window, then resumes from there;
#    a sleep begun inside the freeze lasts until its end (then 0.2 s more)
run freeze '{"faultline": 1, "seed": 1, "targets": {}, "rules": [
  {"clock": "monotonic", "fault": "freeze", "window_ms": [1000, 2000]}]}' \
  0.5 1.2 1.4 sleep0.2 2.5
expect freeze "near(s[0]['mono'], 0)" "not frozen before the window"
expect freeze "s[1]['mono_abs'] == s[2]['mono_abs']" "time stands still inside the window"
expect freeze "near(s[3]['mono'], -1.0) and near(s[3]['monoc'], -1.0, 0.02)" "after the window the frozen second is lost"
# run time = probe time + lag; frozen at 1.0 s: s[1]['mono'] = -(1.2 + lag - 1.0)
expect freeze "near(z[0]['real'], 2.2 - (1.4 + (-s[1]['mono'] - 0.2)), 0.1)" "sleep(0.2) inside the freeze waits for its end"
expect freeze "near(s[1]['raw'], s[1]['mono']) and near(s[2]['raw'], s[2]['mono'])" "MONOTONIC_RAW freezes with monotonic"
expect freeze "all(near(x['rt'], 0) for x in s)" "realtime untouched"

# 4. jump: realtime steps back an hour (negative), monotonic forward 5 s,
#    once, at the window's start
run jump '{"faultline": 1, "seed": 1, "targets": {}, "rules": [
  {"clock": "realtime", "fault": "jump", "ms": -3600000, "window_ms": [1000, 1500]},
  {"clock": "monotonic", "fault": "jump", "ms": 5000, "window_ms": [1000, 1500]}]}' \
  0.5 1.8 2.2
expect jump "near(s[0]['rt'], 0) and near(s[0]['mono'], 0)" "before the jump"
expect jump "all(near(x['rt'], -3600) and near(x['mono'], 5) for x in s[1:])" "after the jump (and it stays)"

# 5. date across a jump, a freeze and a drift (each date its own process:
#    the run time is the drill's, so they agree). Real time from
#    /proc/uptime, mapped to realtime by one reading outside. The freeze
#    window ends more than a second after its two dates, so a
#    slow process start on a loaded machine still lands inside it.
printf '%s\n' '{"faultline": 1, "seed": 1, "targets": {}, "rules": [
  {"clock": "realtime", "fault": "jump", "ms": -3600000, "window_ms": [1000, 1100]},
  {"clock": "realtime", "fault": "freeze", "window_ms": [2000, 4000]},
  {"clock": "realtime", "fault": "drift", "ppm": 1000000, "window_ms": [4500, 5000]}]}' \
  | profile "$T/date.json"
read -r u0 _ </proc/uptime; r0=$EPOCHREALTIME
"$FL" run -p "$T/date.json" -o "$T/date2.jsonl" -- bash -c '
  d() { date +%s.%N; cat /proc/uptime; }
  d; sleep 1.5; d; sleep 0.7; d; sleep 0.5; d; sleep 2.6; d' >"$T/date.out" || fail "date run"
say "date: $(tr '\n' ' ' <"$T/date.out")"
$PY - "$T/date.out" "$u0" "$r0" <<'PY' || fail "date under jump/freeze/drift"
import sys
v = [float(x.split()[0]) for x in open(sys.argv[1])]
u0, r0 = float(sys.argv[2]), float(sys.argv[3])
dates, real = v[0::2], [r0 + u - u0 for u in v[1::2]]
err = [d - r for d, r in zip(dates, real)]
print("fake - real:", ["%.3f" % e for e in err], file=sys.stderr)
assert abs(err[0]) < 0.06, "before the jump"
assert abs(err[1] + 3600) < 0.06, "after a -1 h jump"
assert dates[2] == dates[3], "frozen: two dates 0.5 s apart read the same"
assert abs(err[4] + 3600 + 2.0 - 0.5) < 0.06, "after freeze (-2 s) and drift (+0.5 s)"
PY
say "ok"

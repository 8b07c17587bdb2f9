#!/usr/bin/env bash
# A scenario drill against a real program, where the injected delay follows
# the market signal it is bound to. The market (seed 11): 200 s calm, then a
# -10 % drop spread over 300 s, then flat; 600 s of scenario time at
# --speed 30 (20 s of real time). One rule: custodian recv delay 400 ms,
# scaled by drawdown from 0.02 (no delay) to 0.10 (the full 400 ms). A
# python3 client does steady request/response against an echo server (the
# "custodian") and logs every request's latency.
#
# From the timeline: no fault while the drawdown is below 0.02; each fault's
# value_ms is 400 x the drawdown normalised at the tick that decided it
# (correlation > 0.95, median error < 20 ms); the delays grow through the
# drop. From the client: requests are fast while calm, ~400 ms at the
# bottom, and their latency follows the signal (correlation > 0.8).
source "$(dirname "$0")/lib.sh"
need "$PY" "$FL" "$SHIM"

SPEED=30
P=$(free_port)
serve custodian echo "$P"

cat >"$T/ramp.json" <<JSON
{
  "faultline": 1,
  "seed": 11,
  "description": "test: 200 s calm, a -10 % drop spread over 300 s, flat to 600 s",
  "targets": {"custodian": {"tcp": "127.0.0.1:$P"}},
  "rules": [
    {"target": "custodian", "op": "recv", "fault": "delay", "ms": 400,
     "scale": {"signal": "drawdown", "lo": 0.02, "hi": 0.10}}
  ],
  "market": {
    "dt_ms": 100,
    "duration_s": 600,
    "price": {"spot": 60000, "sigma": 0.2},
    "shocks": [{"kind": "jump", "at_s": 200, "ramp_s": 300, "return": -0.10}]
  }
}
JSON
"$FL" validate "$T/ramp.json" >/dev/null || fail "scenario invalid"

# The client: one connection, a request every 20 ms, for SECONDS; logs the
# wall-clock time each request was sent (ms) and its latency (ms).
cat >"$T/client.py" <<'PY'
import socket, sys, time
port, seconds, log = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
s = socket.create_connection(("127.0.0.1", port))
f = s.makefile("rb")
end = time.monotonic() + seconds
n = 0
with open(log, "w") as out:
    while time.monotonic() < end:
        n += 1
        t_real, t0 = time.time(), time.monotonic()
        s.sendall(b"settle %d\n" % n)
        if f.readline() != b"settle %d\n" % n:
            sys.exit(3)
        print("%.3f %.3f" % (t_real * 1000, (time.monotonic() - t0) * 1000), file=out, flush=True)
        time.sleep(0.02)
PY

t0=$(now_ms)
"$FL" run -s "$T/ramp.json" --speed "$SPEED" --ticks-every 100 -o "$T/tl.jsonl" -- \
  "$PY" "$T/client.py" "$P" 20 "$T/lat.log" || fail "the client failed under the drill"
say "run took $(( $(now_ms) - t0 )) ms"

$PY - "$T/tl.jsonl" "$T/lat.log" <<'PY' || fail "the delay does not follow the signal"
import json, statistics, sys
LO, HI, MS = 0.02, 0.10, 400.0
norm = lambda dd: min(1.0, max(0.0, (dd - LO) / (HI - LO)))

def corr(xs, ys):
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys))
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    return sxy / (sxx * syy) ** 0.5 if sxx > 0 and syy > 0 else 0.0

ticks, faults, start = {}, [], None
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["type"] == "start":
        start = r
    elif r["type"] == "tick":
        ticks[r["tick"]] = r
    elif r["type"] == "fault" and r["kind"] == "fault":
        faults.append(r)
speed, epoch_ms = start["speed"], start["epoch_real_ns"] / 1e6
order = sorted(ticks)

def tick_at(scen_ms):  # the last tick at or before scenario time scen_ms
    lo, hi = 0, len(order) - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if ticks[order[mid]]["t_ms"] <= scen_ms:
            lo = mid
        else:
            hi = mid - 1
    return ticks[order[lo]]

def tick_of(f):  # the tick that decided a fault (or, without it, by time)
    if "tick" in f and f["tick"] in ticks:
        return ticks[f["tick"]]
    return tick_at(f["t_ms"] * speed)

# 1. the timeline: ticks carry the signal and the rule's intensity, which
#    is the normalised drawdown
dd = [ticks[k]["signals"]["drawdown"] for k in order]
inten = [ticks[k]["intensity"]["0"] for k in order]
assert len(order) >= 5000, "only %d tick records" % len(order)
bad = [k for k, d, i in zip(order, dd, inten) if abs(norm(d) - i) > 1e-6]
assert not bad, "tick %d: intensity %s for drawdown %s" % (bad[0], ticks[bad[0]]["intensity"], ticks[bad[0]]["signals"]["drawdown"])
assert max(dd[: len(dd) // 3]) < LO and max(dd) > HI, "the market did not ramp: drawdown %.4f -> %.4f" % (max(dd[: len(dd) // 3]), max(dd))

# 2. the faults: none while the signal is low, value_ms = 400 x the signal
xs = [norm(tick_of(f)["signals"]["drawdown"]) for f in faults]
vs = [f["value_ms"] for f in faults]
print("%d faults; value_ms from %.1f to %.1f" % (len(vs), min(vs or [0]), max(vs or [0])), file=sys.stderr)
assert len(faults) >= 20, "only %d faults" % len(faults)
assert all(f["target"] == "custodian" and f["op"] == "recv" and f["fault"] == "delay" for f in faults)
calm = [f for f, x in zip(faults, xs) if tick_of(f)["signals"]["drawdown"] < LO]
assert not calm, "%d faults while drawdown < %.2f, e.g. %s" % (len(calm), LO, calm[0])
c = corr(xs, vs)
err = statistics.median(abs(v - MS * x) for x, v in zip(xs, vs))
print("corr(normalised drawdown, value_ms) = %.3f; median |value_ms - 400 x| = %.1f ms" % (c, err), file=sys.stderr)
assert c > 0.95, "value_ms does not follow the signal (corr %.3f)" % c
assert err < 20, "value_ms is not 400 x the signal (median error %.1f ms)" % err
ramp = [v for x, v in zip(xs, vs) if 0 < x < 1]
thirds = [statistics.fmean(ramp[i * len(ramp) // 3:(i + 1) * len(ramp) // 3]) for i in range(3)]
print("mean delay over the drop, by thirds: %s ms" % ", ".join("%.0f" % t for t in thirds), file=sys.stderr)
assert len(ramp) >= 15 and thirds[0] < thirds[1] < thirds[2], "delays did not grow through the drop"

# 3. the program's own view: latency per request against the signal when sent
reqs = []
for line in open(sys.argv[2]):
    t_real, lat = map(float, line.split())
    reqs.append((norm(tick_at((t_real - epoch_ms) * speed)["signals"]["drawdown"]), lat))
low = [l for x, l in reqs if x == 0]
top = [l for x, l in reqs if x == 1]
lc = corr([x for x, _ in reqs], [l for _, l in reqs])
print("client: %d requests; calm median %.1f ms (n=%d), bottom median %.1f ms (n=%d), corr %.3f"
      % (len(reqs), statistics.median(low), len(low), statistics.median(top), len(top), lc), file=sys.stderr)
assert len(low) >= 30 and statistics.median(low) < 50, "requests were slow while the market was calm"
assert len(top) >= 3 and 340 <= statistics.median(top) <= 700, "requests at the bottom were not ~400 ms late"
assert lc > 0.8, "measured latency does not follow the signal (corr %.3f)" % lc
PY
say "ok"

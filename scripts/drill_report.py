#!/usr/bin/python3
"""Say what happened in a drill.

    drill_report.py TIMELINE PROBE_JSONL EXIT_STATUS [FAULTLINE]

From the timeline: the faults injected per rule. For a scenario, also the
market in market terms — spot path (start, low, end), peak liquidation rate,
peak spread — and the faults of each market phase (before, during and after
the scenario's main shock: the gap, the outage, the wick). The market series
comes from `faultline model` with the drill's seed, at full resolution (the
timeline keeps only some ticks); the drill stepped the same states, and the
timeline's tick records are checked against it. Then how the wallet fared,
from the probe's records (the timeline's, or the probe's own JSON Lines).
"""
import collections
import csv
import io
import json
import math
import subprocess
import sys

timeline, wallet_out, rc = sys.argv[1], sys.argv[2], int(sys.argv[3])
FL = sys.argv[4] if len(sys.argv) > 4 else "build/faultline"

# ---- the timeline -----------------------------------------------------------
start, summary, faults, ticks, events = {}, {}, [], [], []
for line in open(timeline):
    r = json.loads(line)
    t = r["type"]
    if t == "start":
        start = r
    elif t == "fault" and r.get("kind") == "fault":
        faults.append(r)
    elif t == "tick":
        ticks.append(r)
    elif t in ("abort", "end", "error"):
        events.append(r)
    elif t == "summary":
        summary = r

spec = {}
try:
    spec = json.load(open(start.get("profile") or ""))
except (OSError, ValueError):
    pass
rules = spec.get("rules", [])
market = spec.get("market")
speed = start.get("speed") or 1.0


def binding(i):
    r = rules[i] if i < len(rules) else {}
    if "scale" in r:
        s = r["scale"]
        return "%s %s..%s" % (s["signal"], num(s["lo"]), num(s["hi"]))
    if "when_signal" in r:
        w = r["when_signal"]
        return "%s %s %s" % (w["signal"], "<" if "below" in w else ">", num(w.get("below", w.get("above"))))
    return ""


def num(x):
    x = float(x)
    if x != 0 and (abs(x) >= 1e5 or abs(x) < 1e-3):
        return "%.3g" % x
    return "%g" % x


def usd(x):
    for div, unit in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= div:
            return "$%.3g %s" % (x / div, unit)
    return "$%.0f" % x


def hms(s):
    s = int(round(s))
    return "%d:%02d:%02d" % (s // 3600, s % 3600 // 60, s % 60)


def hm(s):
    s = int(round(s))
    return "%d:%02d" % (s // 3600, s % 3600 // 60)


# ---- faults per rule ----------------------------------------------------------
per_rule = collections.Counter()
first = {}
for r in faults:
    key = (r["rule"], r["target"], r["op"], r["fault"])
    per_rule[key] += 1
    first.setdefault(key, r["t_ms"])
print("\n-- faults injected (timeline: %s)" % timeline)
if market:
    print("   %-5s %-10s %-8s %-9s %6s  %-9s %-6s %s" % ("rule", "target", "op", "fault", "count", "first at",
                                                   "armed", "bound to"))
else:
    print("   %-5s %-10s %-8s %-9s %6s  %s" % ("rule", "target", "op", "fault", "count", "first at"))
rows_out = {key[0]: (key, n) for key, n in per_rule.items()}
if market:  # a bound rule that never fired says something too
    for i, r in enumerate(rules):
        if i not in rows_out:
            rows_out[i] = ((i, r.get("target", r.get("clock", "")), r.get("op", ""), r["fault"]), 0)


def armed(i):
    """Share of the drill's tick records where rule i's intensity was > 0."""
    vals = [t["intensity"][str(i)] for t in ticks if str(i) in t.get("intensity", {})]
    if not vals:
        return "always" if i < len(rules) else ""
    share = 100.0 * sum(1 for v in vals if v > 0) / len(vals)
    return "%.0f %%" % share if share >= 1 or share == 0 else "<1 %"


for i in sorted(rows_out):
    key, n = rows_out[i]
    at = "%.1f s" % (first[key] / 1000) if key in first else "-"
    if market:
        print(("   %-5s %-10s %-8s %-9s %6d  %-9s %-6s %s" % (key + (n, at, armed(i), binding(i)))).rstrip())
    else:
        print("   %-5s %-10s %-8s %-9s %6d  %s" % (key + (n, at)))
if market:
    print("   (armed: share of the drill's market ticks at which the rule's binding let it fire)")
    for i in sorted(rows_out):
        key, n = rows_out[i]
        a = armed(i)
        if n == 0 and a not in ("0 %", "", "always"):
            p = rules[i].get("probability")
            print("   rule %d: armed %s of the time, never fired: the program made no %s %s call while it was armed%s"
                  % (i, a, key[1], key[2], " (or p %g said no each time)" % p if p is not None else ""))
if not faults:
    print("   (none)")
for e in events:
    print("   faults stopped at %.1f s: %s" % (e["t_ms"] / 1000, e.get("reason", e["type"])))
print("   dropped journal records: %s" % summary.get("dropped", "?"))


# ---- the market -----------------------------------------------------------------
def model_series(reached_ms):
    """The drill's market from `faultline model` (same scenario and seed)."""
    dt = float(market.get("dt_ms", 100))
    every = dt * max(1, math.ceil(reached_ms / dt / 150000))
    cmd = [FL, "model", "-s", start["profile"], "--seed", str(start["seed"]),
           "--format", "csv", "--ticks-every", "%g" % every]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as e:
        print("   (cannot run %s: %s)" % (" ".join(cmd), e))
        return []
    keep = ("t_ms", "spot", "liquidations_usd_per_s", "liq_queue_usd", "spread_bps", "depth_usd", "stress")
    rows = []
    for row in csv.DictReader(io.StringIO(out)):
        t = float(row["t_ms"])
        if t > reached_ms:
            break
        rows.append({k: float(row[k]) for k in keep})
    return rows


def main_shock(duration_s):
    """(start, end, name) of the scenario's main shock, from its shocks: the
    price shocks (jumps, flows, bridges) and venue outages that start after
    0 (one from 0 is the whole path), or else its vol/iv envelopes.
    Recoveries and liquidity envelopes are the consequences or the set-up."""
    shocks = [s for s in market.get("shocks", []) if s.get("at_s", 0) > 0]
    main = [s for s in shocks if s["kind"] in ("jump", "flow", "bridge") or
            (s["kind"] == "venue" and s.get("status", "down") == "down")]
    if not main:
        main = [s for s in shocks if s["kind"] in ("vol", "iv")]
    if not main:
        return None
    t0 = min(s["at_s"] for s in main)
    t1 = max(s["at_s"] + s.get("ramp_s", 0) + s.get("dur_s", 0) for s in main)
    t1 = min(max(t1, t0 + 60), duration_s)
    first = [s for s in main if s["at_s"] == t0]
    if any(s["kind"] == "venue" for s in first):
        name = "the outage"
    elif any(s["kind"] == "jump" and not s.get("ramp_s") for s in first):
        name = "the gap"
    elif any(s["kind"] in ("vol", "iv") for s in first):
        name = "the vol spike"
    else:
        name = "the sell-off"
    return t0, t1, name


def phases(duration_s):
    m = main_shock(duration_s)
    if not m:
        third = duration_s / 3
        return [("first third", 0, third), ("second third", third, 2 * third), ("last third", 2 * third, duration_s)]
    t0, t1, name = m
    out = [("before " + name, 0, t0), (name, t0, t1), ("after " + name, t1, duration_s)]
    return [p for p in out if p[2] > p[1]]


def market_time_s(f):
    if "tick" in f:
        return f["tick"] * float(market.get("dt_ms", 100)) / 1000
    return f["t_ms"] * speed / 1000


if market and ticks:
    reached_ms = ticks[-1]["t_ms"]
    rows = model_series(reached_ms)
    if rows:
        duration_s = float(spec["market"].get("duration_s", 0)) or float(spec["market"].get("duration_h", 0)) * 3600
        duration_s = duration_s or reached_ms / 1000
        name = start["profile"].rsplit("/", 1)[-1].rsplit(".", 1)[0]
        print("\n-- the market (%s, seed %s: %s of market time in %.0f s of drill)" % (
            name, start["seed"], hm(reached_ms / 1000), reached_ms / speed / 1000))
        s0, s1 = rows[0]["spot"], rows[-1]["spot"]
        lo = min(rows, key=lambda x: x["spot"])
        hi_liq = max(rows, key=lambda x: x["liquidations_usd_per_s"])
        hi_q = max(rows, key=lambda x: x["liq_queue_usd"])
        hi_spr = max(rows, key=lambda x: x["spread_bps"])
        lo_dep = min(rows, key=lambda x: x["depth_usd"])
        hi_st = max(rows, key=lambda x: x["stress"])
        print("   spot           %s -> low %s (%+.1f %%) at %s -> %s at the end (%+.1f %%)" % (
            "{:,.0f}".format(s0), "{:,.0f}".format(lo["spot"]), (lo["spot"] / s0 - 1) * 100, hms(lo["t_ms"] / 1000),
            "{:,.0f}".format(s1), (s1 / s0 - 1) * 100))
        print("   liquidations   peak %s/s at %s; forced orders queued peak %s" % (
            usd(hi_liq["liquidations_usd_per_s"]), hms(hi_liq["t_ms"] / 1000), usd(hi_q["liq_queue_usd"])))
        print("   spread         %.1f bp -> peak %.1f bp at %s" % (rows[0]["spread_bps"], hi_spr["spread_bps"],
                                                                hms(hi_spr["t_ms"] / 1000)))
        print("   depth          %s -> low %s at %s;  stress peak %.2f at %s" % (
            usd(rows[0]["depth_usd"]), usd(lo_dep["depth_usd"]), hms(lo_dep["t_ms"] / 1000), hi_st["stress"],
            hms(hi_st["t_ms"] / 1000)))
        by_t = {r["t_ms"]: r for r in rows}
        checked = [t for t in ticks if t["t_ms"] in by_t]
        bad = [t for t in checked if abs(t["signals"]["spot"] / by_t[t["t_ms"]]["spot"] - 1) > 1e-6]
        print("   (from faultline model, seed %s: the drill's %d tick records %s)" % (
            start["seed"], len(checked), "match it" if not bad else "DIFFER from it at %d" % len(bad)))

        print("\n-- faults by market phase (drill time = market time / %g)" % speed)
        plist = phases(duration_s)
        lw = max(len(p[0]) for p in plist)
        for label, a, b in plist:
            seg = [r for r in rows if a * 1000 <= r["t_ms"] <= b * 1000]
            head = "   %-*s  market %s-%s, drill %.1f-%.1f s" % (lw, label, hm(a), hm(b), a / speed, b / speed)
            if not seg:
                print(head + ": not reached")
                continue
            print(head)
            print("   %-*s  spot %s -> %s, liquidations peak %s/s, spread peak %.1f bp" % (
                lw, "", "{:,.0f}".format(seg[0]["spot"]), "{:,.0f}".format(seg[-1]["spot"]),
                usd(max(r["liquidations_usd_per_s"] for r in seg)), max(r["spread_bps"] for r in seg)))
            groups = collections.defaultdict(list)
            for f in faults:
                if a <= market_time_s(f) < b or (b == duration_s and market_time_s(f) >= b):
                    groups[(f["target"], f["op"], f["fault"])].append(f["value_ms"])
            for (tg, op, fa), vals in sorted(groups.items(), key=lambda kv: -len(kv[1])):
                v0, v1 = min(vals), max(vals)
                rng = "%.0f ms" % v0 if round(v0) == round(v1) else "%.0f-%.0f ms" % (v0, v1)
                print("   %-*s  %4d  %-26s %s" % (lw, "", len(vals), "%s %s %s" % (tg, op, fa), rng))
            if not groups:
                print("   %-*s  no faults" % (lw, ""))
        if reached_ms / 1000 < duration_s - 1:
            print("   the program exited at market time %s (drill %.1f s), before the scenario's end (%s)" % (
                hms(reached_ms / 1000), reached_ms / speed / 1000, hms(duration_s)))

# ---- the wallet, as its users saw it ------------------------------------------
# The probe's records: in the timeline when the controller took them from
# FAULTLINE_EVENTS (stamped with t_ms), else the JSON Lines the probe printed.
recs = []
for line in open(timeline):
    r = json.loads(line)
    if r["type"] in ("probe", "invariant", "metric"):
        recs.append(r)
if not recs:
    try:
        recs = [json.loads(l) for l in open(wallet_out) if l.startswith("{")]
    except (OSError, ValueError):
        recs = []
print("\n-- the wallet, as the probe's users saw it (exit status %d)" % rc)
probes = [r for r in recs if r["type"] == "probe"]
if not probes:
    print("   (no probe records: the stack did not run)")
    sys.exit(0)
by = collections.defaultdict(list)
for r in probes:
    by[r["name"]].append(r)
print("   request   count  failed  p50 ms  p99 ms  max ms")
for name, rs in sorted(by.items()):
    lat = sorted(r["latency_ms"] for r in rs)
    print("   %-8s  %5d  %6d  %6.1f  %6.1f  %6.0f" % (
        name, len(rs), sum(not r["ok"] for r in rs), lat[len(lat) // 2],
        lat[int(len(lat) * 0.99)], lat[-1]))
worst = collections.defaultdict(float)
for r in recs:
    if r["type"] == "metric":
        worst[r["name"]] = max(worst[r["name"]], r["value"])
if worst:
    print("   peaks      " + ", ".join("%s %g" % kv for kv in sorted(worst.items())
                                      if not kv[0].endswith("_total")))
bad = [r for r in recs if r["type"] == "invariant" and not r["ok"]]
first = {}
for r in bad:
    first.setdefault(r["name"], r)
print("   invariants")
for r in recs:
    if r["type"] == "invariant" and r["ok"]:
        print("     held    %-26s %s" % (r["name"], r.get("detail", "")))
for name, r in first.items():
    n = sum(b["name"] == name for b in bad)
    at = " first at %.1f s" % (r["t_ms"] / 1000) if "t_ms" in r else ""
    print("     BROKEN  %-26s %d time%s%s: %s" % (name, n, "" if n == 1 else "s", at, r.get("detail", "")))
budgets = [b for b in summary.get("budgets") or [] if b.get("state") != "cap"]
if budgets:
    print("\n-- failure budgets (the release gate: faultline exits 3 when one broke)")
    for b in budgets:
        at = "  broke at %.1f s" % (b["broke_ms"] / 1000) if b.get("broke_ms") is not None else ""
        print("   %-32s limit %-8g measured %-10.4g %s%s" % (
            b["budget"], b["limit"], b["measured"] if b["measured"] is not None else float("nan"),
            b["state"], at))
    if summary.get("time_to_stable_ms") is not None:
        print("   time to stability %.1f s after the shock" % (summary["time_to_stable_ms"] / 1000))
    elif summary.get("never_stable"):
        print("   time to stability: never (the probes did not return to their pre-shock band)")
if bad:
    print("\n   verdict: DID NOT HOLD: %s broke first%s" % (
        bad[0]["name"], " at %.1f s" % (bad[0]["t_ms"] / 1000) if "t_ms" in bad[0] else ""))
elif any(b["state"] == "broken" for b in budgets):
    print("\n   verdict: DID NOT HOLD: budget %s broke first" % summary.get("first_broken"))
else:
    print("\n   verdict: held: every invariant and budget, every settlement final, ledger reconciled")

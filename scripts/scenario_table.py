#!/usr/bin/python3
"""The README's scenario tables, generated so they stay true.

    scripts/scenario_table.py                   print the generated blocks
    scripts/scenario_table.py --update README.md   rewrite them in place
    scripts/scenario_table.py --check README.md    exit 1 if they are stale

Three blocks, each between <!-- BEGIN scenario_table.py: NAME --> and
<!-- END scenario_table.py: NAME --> in the README:

  signals    the signals a rule can bind to, from MKT_SIGNALS in
             controller/market/market.h (name and unit);
  scenarios  for every bundled scenario (scenarios/*.json, then
             scenarios/history/*.json), from `faultline model` with the file's
             seed, sampled every second: the price path (start, low and when,
             end), the largest drawdown, the peak liquidation rate, the total
             liquidated, the peak spread; and for every rule, when its binding
             lets it fire (intensity > 0) and when it peaks;
  history    the calibration of the history scenarios: the figures
             tests/unit/test_market_history asserts against the published
             ones (it is run, and its output parsed).

Options: --faultline PATH (default $O/faultline, O=build), --history-test
PATH (default $O/tests/test_market_history; without it the history block
is left alone and not checked).
"""
import argparse
import glob
import json
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
O = os.environ.get("O", "build")
SAMPLE_MS = 1000  # the model's dt is 100 ms; one sample a second keeps 24 h scenarios quick


# ---- formatting ---------------------------------------------------------------
def usd(x):
    for div, unit in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= div:
            return "$%.3g %s" % (x / div, unit)
    return "$%.0f" % x


def sci(x):
    s = "%.3g" % float(x)
    if "e" in s:
        m, e = s.split("e")
        return "%se%d" % (m, int(e))
    return s


def hms(s):
    s = int(round(s))
    return "%d:%02d:%02d" % (s // 3600, s % 3600 // 60, s % 60)


def dur(s):
    h = s / 3600
    return "%g h" % h if h >= 1 else "%g min" % (s / 60)


def price(x):
    return "{:,.0f}".format(x)


# ---- signals ------------------------------------------------------------------
def signals():
    text = open(os.path.join(ROOT, "controller/market/market.h")).read()
    block = text[text.index("#define MKT_SIGNALS(X)"):]
    block = block[:block.index("\n\n")]
    return re.findall(r'X\(\w+, "(\w+)", "([^"]*)"\)', block)


def signals_block():
    out = ["| signal | unit / meaning |", "|---|---|"]
    for name, doc in signals():
        out.append("| `%s` | %s |" % (name, doc))
    return "\n".join(out)


# ---- scenarios ----------------------------------------------------------------
def scenario_files():
    top = sorted(glob.glob(os.path.join(ROOT, "scenarios", "*.json")))
    hist = sorted(glob.glob(os.path.join(ROOT, "scenarios", "history", "*.json")))
    return top + hist


def intensity(rule, x):
    """controller/drill.c fl_binding_intensity."""
    v = 1.0
    s = rule.get("scale")
    if s:
        v = min(1.0, max(0.0, (x - s["lo"]) / (s["hi"] - s["lo"])))
    w = rule.get("when_signal")
    if w:
        on = ("below" in w and x < w["below"]) or ("above" in w and x > w["above"])
        v = v if on else 0.0
    return v


def bound_signal(rule):
    b = rule.get("scale") or rule.get("when_signal")
    return b["signal"] if b else None


def model(fl, path, cols):
    cmd = [fl, "model", "-s", path, "--format", "csv", "--ticks-every", str(SAMPLE_MS)]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=ROOT)
    head = p.stdout.readline().strip().split(",")
    idx = [head.index(c) for c in cols]
    rows = []
    for line in p.stdout:
        f = line.split(",")
        rows.append([float(f[i]) for i in idx])
    if p.wait() != 0:
        sys.exit("scenario_table.py: %s failed" % " ".join(cmd))
    return rows


def fault_text(r):
    t = "%s %s %s" % (r["target"], r["op"], r["fault"])
    if "ms" in r:
        t += " %g ms" % r["ms"]
    if "jitter_ms" in r:
        t += " ±%g" % r["jitter_ms"]
    if "errno" in r:
        t += " " + r["errno"]
    if "probability" in r:
        t += ", p %g" % r["probability"]
    return t


def binding_text(r):
    timed = r["fault"] in ("delay", "late_ack", "timeout")
    parts = []
    if "scale" in r:
        s = r["scale"]
        what = "p" if ("probability" in r or not timed) else "ms"
        parts.append("`%s` %s → %s scales %s" % (s["signal"], sci(s["lo"]), sci(s["hi"]), what))
    if "when_signal" in r:
        w = r["when_signal"]
        parts.append("while `%s` %s %s" % (w["signal"], "<" if "below" in w else ">",
                                          sci(w.get("below", w.get("above")))))
    return "; ".join(parts)


def describe(d):
    """(what it models, what it stresses) from the description."""
    desc = d.get("description", "")
    body = desc.split(": ", 1)[1] if re.match(r"^[\w-]+: ", desc) else desc
    what = re.split(r"[;.] ", body, 1)[0].rstrip(".")
    m = re.search(r"(Stresses [^.]*(?:\.[^ ][^.]*)*)\.", desc)
    return what, (m.group(1) + ".") if m else ""


def scenario_summary(fl, path):
    d = json.load(open(path))
    rules = d.get("rules", [])
    sigs = sorted({bound_signal(r) for r in rules if bound_signal(r)})
    cols = ["t_ms", "spot", "drawdown", "liquidations_usd_per_s", "spread_bps"] + sigs
    rows = model(fl, os.path.relpath(path, ROOT), cols)
    ci = {c: i for i, c in enumerate(cols)}
    T, S = ci["t_ms"], ci["spot"]
    low = min(rows, key=lambda r: r[S])
    dd = max(rows, key=lambda r: r[ci["drawdown"]])
    liq = max(rows, key=lambda r: r[ci["liquidations_usd_per_s"]])
    spr = max(rows, key=lambda r: r[ci["spread_bps"]])
    # samples are 1 s apart and the rate is over the last 1 s: they tile the run
    total = sum(r[ci["liquidations_usd_per_s"]] for r in rows[1:]) * SAMPLE_MS / 1000
    name = os.path.relpath(path, os.path.join(ROOT, "scenarios"))[:-5]
    out = {
        "name": name, "seed": d["seed"], "duration_s": rows[-1][T] / 1000,
        "spot0": rows[0][S], "low": low[S], "low_t": low[T] / 1000, "end": rows[-1][S],
        "dd": dd[ci["drawdown"]], "dd_t": dd[T] / 1000,
        "liq": liq[ci["liquidations_usd_per_s"]], "liq_t": liq[T] / 1000, "liq_total": total,
        "spr0": rows[0][ci["spread_bps"]], "spr": spr[ci["spread_bps"]], "spr_t": spr[T] / 1000,
        "rules": [],
    }
    out["what"], out["stresses"] = describe(d)
    n = len(rows)
    for i, r in enumerate(rules):
        sig = bound_signal(r)
        if not sig:
            out["rules"].append((i, fault_text(r), "not bound: every matching call", "", ""))
            continue
        k = ci[sig]
        inten = [intensity(r, row[k]) for row in rows]
        on = [j for j, v in enumerate(inten) if v > 0]
        if not on:
            out["rules"].append((i, fault_text(r), binding_text(r), "never", ""))
            continue
        share = 100.0 * len(on) / n
        fires = "%s–%s (%s of the time)" % (hms(rows[on[0]][T] / 1000), hms(rows[on[-1]][T] / 1000),
                                           "%.0f %%" % share if share >= 1 else "%.2g %%" % share)
        pk = max(range(n), key=lambda j: inten[j])
        pct = 100 * inten[pk]
        peak = ("%s %% at %s" % ("%.0f" % pct if pct >= 1 else "%.2g" % pct, hms(rows[pk][T] / 1000))
                if "scale" in r else "")
        out["rules"].append((i, fault_text(r), binding_text(r), fires, peak))
    return out


def scenarios_block(fl):
    sums = [scenario_summary(fl, p) for p in scenario_files()]
    out = ["Market paths (seed of the file; `faultline model` sampled every second):", "",
           "| scenario | market time | spot: start → low (at) → end | largest drawdown | "
           "peak liquidations | liquidated in total | spread: start → peak (at) |",
           "|---|---|---|---|---|---|---|"]
    for s in sums:
        out.append("| `%s` | %s | %s → %s (%s) → %s | %.1f %% | %s/s at %s | %s | %.1f → %.1f bp (%s) |" % (
            s["name"], dur(s["duration_s"]), price(s["spot0"]), price(s["low"]), hms(s["low_t"]), price(s["end"]),
            100 * s["dd"], usd(s["liq"]), hms(s["liq_t"]), usd(s["liq_total"]), s["spr0"], s["spr"], hms(s["spr_t"])))
    for s in sums:
        out += ["", "**`%s`** (seed %s) — %s.%s" % (s["name"], s["seed"], s["what"],
                                                    " " + s["stresses"] if s["stresses"] else ""), "",
                "| rule | fault | bound to | may fire (intensity > 0) | peak intensity |", "|---|---|---|---|---|"]
        for i, f, b, fires, peak in s["rules"]:
            out.append("| %d | %s | %s | %s | %s |" % (i, f, b, fires, peak))
    return "\n".join(out)


# ---- history --------------------------------------------------------------------
def history_block(binary):
    env = dict(os.environ, FL_ROOT=ROOT)
    p = subprocess.run([binary], capture_output=True, text=True, cwd=ROOT, env=env)
    text = p.stdout + p.stderr
    if p.returncode != 0:
        sys.exit("scenario_table.py: %s failed:\n%s" % (binary, text))
    out = ["| scenario | figure | published | model (median of 5 seeds) | difference | seeds: min – max (spread) | status |",
           "|---|---|---|---|---|---|---|"]
    cur = None

    def fmt(what, x):
        if "USD" in what:
            return usd(x)
        if what in ("drawdown", "depth decline", "retrace"):
            return "%.1f %%" % (100 * x)
        if "(x)" in what:
            return "×%.2f" % x
        return "{:,.0f}".format(x)
    for line in text.splitlines():
        m = re.match(r"\[ RUN\s+\] history_(\d+)_(\d+)_(\d+)", line)
        if m:
            cur = "history/%s-%s-%s" % m.groups()
            continue
        m = re.match(r"\s*(.+?)\s+model\s+(\S+)\s+published\s+(\S+)\s+(\S+) %\s+seeds (\S+?)\.\.(\S+) \(spread (\S+) %\)\s+(.*)$", line)
        if m and cur:
            what, got, want, diff, lo, hi, spread, status = m.groups()
            g, w = float(got), float(want)
            name = what.replace(", USD", "").replace(" (x)", "").replace(", s", " (s)")
            out.append("| `%s` | %s | %s | %s | %s | %s – %s (%s %%) | %s |" % (
                cur, name, fmt(what, w) if w else "—", fmt(what, g), diff + " %" if w else "—",
                fmt(what, float(lo)), fmt(what, float(hi)), spread, status if w else "reported"))
    return "\n".join(out)


# ---- README blocks ----------------------------------------------------------------
def markers(name):
    return ("<!-- BEGIN scenario_table.py: %s -->" % name, "<!-- END scenario_table.py: %s -->" % name)


def splice(text, name, body):
    b, e = markers(name)
    i, j = text.find(b), text.find(e)
    if i < 0 or j < i:
        sys.exit("scenario_table.py: no %s ... %s in the file" % (b, e))
    return text[:i + len(b)] + "\n" + body + "\n" + text[j:]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    g = ap.add_mutually_exclusive_group()
    g.add_argument("--update", metavar="README")
    g.add_argument("--check", metavar="README")
    ap.add_argument("--faultline", default=os.path.join(ROOT, O, "faultline"))
    ap.add_argument("--history-test", default=os.path.join(ROOT, O, "tests", "test_market_history"))
    a = ap.parse_args()
    blocks = [("signals", signals_block()), ("scenarios", scenarios_block(a.faultline))]
    if os.access(a.history_test, os.X_OK):
        blocks.append(("history", history_block(a.history_test)))
    else:
        print("scenario_table.py: no %s (make test builds it): the history block is left as it is"
              % a.history_test, file=sys.stderr)
    if not a.update and not a.check:
        for name, body in blocks:
            b, e = markers(name)
            print("%s\n%s\n%s\n" % (b, body, e))
        return 0
    path = a.update or a.check
    old = open(path).read()
    new = old
    for name, body in blocks:
        new = splice(new, name, body)
    if a.update:
        if new != old:
            open(path, "w").write(new)
        return 0
    if new != old:
        stale = [n for n, body in blocks if splice(old, n, body) != old]
        print("%s: the generated tables (%s) are stale: run scripts/scenario_table.py --update %s"
              % (path, ", ".join(stale), path), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

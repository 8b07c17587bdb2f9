#!/usr/bin/python3
"""Say what happened in a drill: faults injected (per rule, target and op,
from the timeline) and how the wallet fared (its own JSON report)."""
import collections
import json
import sys

timeline, wallet_out, rc = sys.argv[1], sys.argv[2], int(sys.argv[3])
faults = collections.Counter()
first = {}
ticks = 0
summary = {}
for line in open(timeline):
    r = json.loads(line)
    if r["type"] == "fault" and r.get("kind") != "attach":
        key = (r["rule"], r["target"], r["op"], r["fault"])
        faults[key] += 1
        first.setdefault(key, r["t_ms"])
    elif r["type"] == "tick":
        ticks += 1
    elif r["type"] == "summary":
        summary = r
print("\n-- faults injected (timeline: %s)" % timeline)
print("   %-5s %-10s %-8s %-9s %6s  %s" % ("rule", "target", "op", "fault", "count", "first at"))
for key, n in sorted(faults.items()):
    print("   %-5s %-10s %-8s %-9s %6d  %.1f s" % (key + (n, first[key] / 1000)))
if not faults:
    print("   (none)")
if ticks:
    print("   market ticks recorded: %d" % ticks)
print("   dropped journal records: %s" % summary.get("dropped", "?"))
try:
    w = json.loads(open(wallet_out).read().strip().splitlines()[-1])
except (OSError, ValueError, IndexError):
    w = None
print("\n-- the wallet (exit status %d)" % rc)
if w:
    for k in ("orders", "fills", "settled", "settle_retries", "settle_failed",
              "venue_timeouts", "feed_stale", "ledger_entries", "ledger_errors"):
        print("   %-16s %s" % (k, w[k]))
    print("   worst latency    " + ", ".join("%s %s" % kv for kv in w["worst"].items()))
    print("\n   verdict: %s" % ("survived: every fill settled or failed explicitly, ledger consistent"
                               if w["ok"] else "DID NOT SURVIVE: fills without an outcome"))
else:
    print("   (no report: the wallet crashed)")

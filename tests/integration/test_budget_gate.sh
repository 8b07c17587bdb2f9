#!/usr/bin/env bash
# Failure budgets gate the exit status, both ways. The test's own probe
# (progs/evprobe.py, a python3 client of a real echo server) reports 40
# requests to FAULTLINE_EVENTS; the profile delays the 11th-20th recv from
# the echo server by 150 ms, so 10 of 40 probes are slow (p99 >= 150 ms).
#  - probe_p99_ms 1000: held, exit 0;
#  - probe_p99_ms 100: broken, exit 3; stderr and the summary record name
#    the budget, its limit, the measured value and when it broke (the time
#    of the first slow probe: 10 slow of 40 is past the 0 allowed);
#  - the command's own failure wins: exit 7 stays 7 even with the budget
#    broken;
#  - invariant_violations 0 with one violation, metric_max exceeded: 3,
#    and each is named;
#  - probe_error_rate with every 5th probe failed (0.2): a limit of 0.25
#    holds (exit 0), 0.1 breaks (exit 3).
source "$(dirname "$0")/lib.sh"
need "$PY" "$FL" "$SHIM"
P=$(free_port)
serve echo echo "$P"
PROBE=$FL_ROOT/tests/integration/progs/evprobe.py

mk() { # FILE BUDGETS-JSON
  profile "$1" <<JSON
{"faultline": 1,
 "targets": {"echo": {"tcp": "127.0.0.1:$P"}},
 "rules": [{"target": "echo", "op": "recv", "nth": "11-20", "fault": "delay", "ms": 150}],
 "budgets": $2}
JSON
}

mk "$T/hold.json" '{"probe_p99_ms": 1000, "probe_error_rate": 0.01}'
rc=0
"$FL" run -p "$T/hold.json" -o "$T/hold.jsonl" -- $PY "$PROBE" "$P" 40 2>"$T/hold.err" || rc=$?
eq "$rc" 0 "exit status with every budget held"
eq "$(jcount "$T/hold.jsonl" 'r["type"] == "probe" and r["name"] == "echo" and r.get("src") == "evprobe"')" 40 "probe records in the timeline"
eq "$(jcount "$T/hold.jsonl" 'r["type"] == "probe" and r["latency_ms"] >= 150')" 10 "slow probes (the delayed recvs)"
has "$T/hold.err" "budget probe_p99_ms: limit 1000, measured 1[5-9][0-9]"
has "$T/hold.err" "held"
eq "$(jcount "$T/hold.jsonl" 'r["type"] == "summary" and r["broken"] == 0 and len(r["budgets"]) == 2')" 1 "summary: 2 budgets, 0 broken"

mk "$T/break.json" '{"probe_p99_ms": 100}'
rc=0
"$FL" run -p "$T/break.json" -o "$T/break.jsonl" -- $PY "$PROBE" "$P" 40 2>"$T/break.err" || rc=$?
eq "$rc" 3 "exit status with a broken budget"
has "$T/break.err" "budget probe_p99_ms: limit 100, measured 1[5-9][0-9].*BROKEN at [0-9.]* s"
has "$T/break.err" "1 budget broken (first: probe_p99_ms at"
# it broke at the first slow probe: the 11th
$PY - "$T/break.jsonl" <<'PY' || fail "summary record of the broken budget"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
probes = [r for r in recs if r["type"] == "probe"]
s = [r for r in recs if r["type"] == "summary"][0]
b = s["budgets"][0]
assert b["budget"] == "probe_p99_ms" and b["limit"] == 100 and b["state"] == "broken", b
assert b["measured"] >= 150, b
first_slow = min(p["t_ms"] for p in probes if p["latency_ms"] > 100)
assert abs(b["broke_ms"] - first_slow) < 0.01, (b, first_slow)
assert s["broken"] == 1 and s["first_broken"] == "probe_p99_ms", s
PY

rc=0
"$FL" run -p "$T/break.json" -o "$T/own.jsonl" -- $PY "$PROBE" "$P" 40 --exit 7 2>"$T/own.err" || rc=$?
eq "$rc" 7 "the command's own failure status"
has "$T/own.err" "probe_p99_ms: limit 100.*BROKEN"

mk "$T/inv.json" '{"invariant_violations": 0, "metric_max": {"settlement_lag_ms": 5000}}'
rc=0
"$FL" run -p "$T/inv.json" -o "$T/inv.jsonl" -- $PY "$PROBE" "$P" 5 --violate ledger_reconciles \
  --metric settlement_lag_ms=7200 2>"$T/inv.err" || rc=$?
eq "$rc" 3 "exit status with a violation and a metric over its max"
has "$T/inv.err" "budget invariant_violations: limit 0, measured 1: BROKEN at"
has "$T/inv.err" "budget metric_max.settlement_lag_ms: limit 5000, measured 7200: BROKEN at"
eq "$(jcount "$T/inv.jsonl" 'r["type"] == "invariant" and not r["ok"] and r["detail"] == "test says so"')" 1 "invariant record"
# probe_error_rate, both ways: every 5th of 40 probes fails (0.2)
mk "$T/err-hold.json" '{"probe_error_rate": 0.25}'
rc=0
"$FL" run -p "$T/err-hold.json" -o "$T/err-hold.jsonl" -- $PY "$PROBE" "$P" 40 --fail-every 5 2>"$T/err-hold.err" || rc=$?
eq "$rc" 0 "exit status with an error rate inside its budget"
eq "$(jcount "$T/err-hold.jsonl" 'r["type"] == "probe" and r.get("src") == "evprobe" and not r["ok"]')" 8 "failed probe records"
has "$T/err-hold.err" "budget probe_error_rate: limit 0.25, measured 0.2[,:]"
mk "$T/err-break.json" '{"probe_error_rate": 0.1}'
rc=0
"$FL" run -p "$T/err-break.json" -o "$T/err-break.jsonl" -- $PY "$PROBE" "$P" 40 --fail-every 5 2>"$T/err-break.err" || rc=$?
eq "$rc" 3 "exit status with an error rate over its budget"
has "$T/err-break.err" "budget probe_error_rate: limit 0.1, measured 0.2.*BROKEN at"
say "ok"

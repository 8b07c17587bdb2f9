#!/usr/bin/env bash
# --metrics ADDR:PORT: Prometheus text during a run, scraped with curl and
# parsed with the real Prometheus parser (Debian python3-prometheus-client,
# prometheus_client.parser.text_string_to_metric_families).
# A scenario (36000 s of market at --speed 600) delays every recv from a
# real echo server by 2 ms (rule 0) and every 2nd send by 1 ms (rule 1);
# the test's own program plays users against it in two phases and reports
# each request to FAULTLINE_EVENTS. The test scrapes after each phase:
#  - every family the issue names is there with its type: market signals
#    (spot > 0, market time and tick rising), faults per rule and per
#    target (rising by at least the phase's requests), journal drops (0),
#    events and malformed counts, the program's own metric, budget limit /
#    measured / broken / burning (p99 budget of 1 ms broken, error-rate
#    and metric_max budgets held), probe latency quantiles (>= the 2 ms
#    delay, ordered, _count = the probes sent, _sum rising);
#  - the page is UTF-8 even when the program's names are not (U+FFFD), and
#    quotes, backslashes and newlines in names are escaped;
#  - Content-Type is the Prometheus text format 0.0.4; other paths are 404;
#  - the run exits 3 (the broken budget);
#  - `faultline drill --metrics` serves it as well;
#  - bad --metrics addresses and a port in use stop the run with 125 and a
#    message naming the address, before the command starts.
source "$(dirname "$0")/lib.sh"
need "$PY" "$FL" "$SHIM" curl
$PY -c 'import prometheus_client.parser' 2>/dev/null ||
  skip "python3-prometheus-client not installed (scripts/deps.sh test)"
P=$(free_port)
serve echo echo "$P"
cat >"$T/s.json" <<JSON
{"faultline": 1, "seed": 3,
 "targets": {"echo": {"tcp": "127.0.0.1:$P"}},
 "rules": [{"target": "echo", "op": "recv", "fault": "delay", "ms": 2},
           {"target": "echo", "op": "send", "fault": "delay", "ms": 1, "nth": "2+", "probability": 0.5}],
 "market": {"dt_ms": 1000, "duration_s": 36000},
 "budgets": {"probe_p99_ms": 1, "probe_error_rate": 0.5, "metric_max": {"queue_depth": 100}}}
JSON
"$FL" validate "$T/s.json" >/dev/null || fail "scenario invalid"

cat >"$T/users.py" <<'PY'
import json, os, socket, sys, time
port, dir = int(sys.argv[1]), sys.argv[2]
ev = socket.socket(socket.AF_UNIX); ev.connect(os.environ["FAULTLINE_EVENTS"])
s = socket.create_connection(("127.0.0.1", port)); f = s.makefile("rb")
def send(r): ev.sendall((json.dumps(r) + "\n").encode())
def phase(n):
    for k in range(n):
        t0 = time.monotonic()
        s.sendall(b"req %d\n" % k)
        ok = f.readline() == b"req %d\n" % k
        send({"type": "probe", "name": "echo", "ok": ok,
              "latency_ms": (time.monotonic() - t0) * 1000, "src": "users"})
def wait(name):
    while not os.path.exists(os.path.join(dir, name)):
        time.sleep(0.01)
send({"type": "metric", "name": "queue_depth", "value": 5})
# names are the program's: not UTF-8, quotes, backslashes, newlines
ev.sendall(b'{"type":"metric","name":"bad\xff\xfename","value":7}\n')
send({"type": "metric", "name": 'q"uo\\te\nnl', "value": 8})
phase(20); open(os.path.join(dir, "p1"), "w").close(); wait("go1")
phase(30); open(os.path.join(dir, "p2"), "w").close(); wait("go2")
PY

# scrape OUT PYCOND — curl the endpoint, parse it with the Prometheus
# parser into OUT (JSON: family -> {type, samples}); true when PYCOND holds
# for m (family -> {labels-tuple: value}).
cat >"$T/parse.py" <<'PY'
import json, sys
from prometheus_client.parser import text_string_to_metric_families
raw, out, cond = sys.argv[1], sys.argv[2], sys.argv[3]
fams = {}
# strict: one byte that is not UTF-8 and a scraper drops the whole page
for fam in text_string_to_metric_families(open(raw, "rb").read().decode("utf-8")):
    samples = [[s.name, s.labels, s.value] for s in fam.samples]
    fams[fam.name] = {"type": fam.type, "help": fam.documentation, "samples": samples}
json.dump(fams, open(out, "w"))
def m(name, **labels):
    for f in fams.values():
        for n, l, v in f["samples"]:
            if n == name and all(l.get(k) == str(x) for k, x in labels.items()):
                return v
    return None
sys.exit(0 if eval(cond, {"m": m, "fams": fams}) else 1)
PY
MP=$(free_port)
URL=http://127.0.0.1:$MP/metrics
scrape() {
  curl -sf -D "$T/hdr" -o "$T/raw" "$URL" || return 1
  $PY "$T/parse.py" "$T/raw" "$1" "$2" 2>"$T/parse.err"
}
rc=0
bg "$FL" run -s "$T/s.json" --speed 600 --metrics "127.0.0.1:$MP" -o "$T/t.jsonl" \
  -- $PY "$T/users.py" "$P" "$T" 2>"$T/run.err"
RUN=$!
wait_until 60 test -e "$T/p1" || { cat "$T/run.err" >&2; fail "phase 1 never ended"; }
# the probes arrive on the events socket asynchronously: wait for all 20
wait_until 20 scrape "$T/s1.json" 'm("faultline_probe_latency_ms_count", probe="echo") == 20 and (m("faultline_target_faults_total", target="echo") or 0) >= 20' ||
  { cat "$T/parse.err" "$T/raw" >&2; fail "first scrape: 20 probes and 20 faults never showed"; }
has "$T/run.err" "metrics on http://127.0.0.1:$MP/metrics"
grep -qi '^content-type: text/plain; version=0.0.4' "$T/hdr" || { cat "$T/hdr" >&2; fail "Content-Type"; }
eq "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$MP/nothing")" 404 "another path"
touch "$T/go1"
wait_until 60 test -e "$T/p2" || fail "phase 2 never ended"
wait_until 20 scrape "$T/s2.json" 'm("faultline_probe_latency_ms_count", probe="echo") == 50 and (m("faultline_target_faults_total", target="echo") or 0) >= 50' ||
  { cat "$T/parse.err" >&2; fail "second scrape: 50 probes and 50 faults never showed"; }
touch "$T/go2"
wait "$RUN" || rc=$?
eq "$rc" 3 "exit status (the p99 budget is broken)"

$PY - "$T/s1.json" "$T/s2.json" <<'PY' || fail "metrics"
import json, math, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
def fam(d, name, typ):
    # the parser names a counter's family without "_total"
    f = d.get(name) or d.get(name[:-6] if name.endswith("_total") else name)
    assert f, f"family {name} missing; have {sorted(d)}"
    assert f["type"] == typ, (name, f["type"], typ)
    assert f["help"], f"{name}: no HELP"
    return f
def val(d, fname, typ, sample=None, **labels):
    for n, l, v in fam(d, fname, typ)["samples"]:
        if n == (sample or fname) and all(l.get(k) == str(x) for k, x in labels.items()):
            return v
    raise AssertionError(f"{sample or fname}{labels} missing")
for d in (a, b):
    assert val(d, "faultline_market_signal", "gauge", signal="spot") > 0
    for s in ("depth_usd", "spread_bps", "liquidations_usd_per_s", "stress", "implied_vol"):
        assert math.isfinite(val(d, "faultline_market_signal", "gauge", signal=s)), s
    assert val(d, "faultline_journal_dropped_total", "counter") == 0
    assert val(d, "faultline_events_malformed_total", "counter") == 0
    assert val(d, "faultline_program_metric", "gauge", name="queue_depth") == 5
    assert val(d, "faultline_program_metric", "gauge", name="bad\ufffd\ufffdname") == 7
    assert val(d, "faultline_program_metric", "gauge", name='q"uo\\te\nnl') == 8
    assert val(d, "faultline_budget_limit", "gauge", budget="probe_p99_ms") == 1
    assert val(d, "faultline_budget_broken", "gauge", budget="probe_p99_ms") == 1
    assert val(d, "faultline_budget_measured", "gauge", budget="probe_p99_ms") >= 2
    assert val(d, "faultline_budget_broken", "gauge", budget="probe_error_rate") == 0
    assert val(d, "faultline_budget_measured", "gauge", budget="probe_error_rate") == 0
    assert val(d, "faultline_budget_broken", "gauge", budget="metric_max.queue_depth") == 0
    assert val(d, "faultline_budget_measured", "gauge", budget="metric_max.queue_depth") == 5
    assert val(d, "faultline_budget_burning", "gauge", budget="probe_p99_ms") in (0, 1)
    assert val(d, "faultline_invariant_violations_total", "counter") == 0
    q = [val(d, "faultline_probe_latency_ms", "summary", probe="echo", quantile=x)
         for x in ("0.5", "0.9", "0.99")]
    assert 2 <= q[0] <= q[1] <= q[2] < 5000, q
    assert val(d, "faultline_probe_errors_total", "counter", probe="echo") == 0
n1 = val(a, "faultline_probe_latency_ms", "summary", "faultline_probe_latency_ms_count", probe="echo")
n2 = val(b, "faultline_probe_latency_ms", "summary", "faultline_probe_latency_ms_count", probe="echo")
assert (n1, n2) == (20, 50), (n1, n2)
assert val(b, "faultline_probe_latency_ms", "summary", "faultline_probe_latency_ms_sum", probe="echo") >= \
       val(a, "faultline_probe_latency_ms", "summary", "faultline_probe_latency_ms_sum", probe="echo") + 60
def rise(fname, typ, by, **labels):
    x, y = val(a, fname, typ, **labels), val(b, fname, typ, **labels)
    assert y >= x + by, (fname, labels, x, y, by)
    return x, y
r0 = rise("faultline_faults_total", "counter", 30, rule=0, target="echo", op="recv", fault="delay")
assert r0[0] >= 20, r0
rise("faultline_faults_total", "counter", 1, rule=1, target="echo", op="send", fault="delay")
rise("faultline_target_faults_total", "counter", 30, target="echo")
rise("faultline_events_total", "counter", 30)
rise("faultline_market_tick", "gauge", 1)
rise("faultline_market_time_seconds", "gauge", 1)
rise("faultline_drill_time_seconds", "gauge", 0.001)
print("first scrape: %d recv faults, second: %d" % r0)
PY
has "$T/run.err" "budget probe_p99_ms: limit 1"

# drill serves it too (no command of its own: market, faults, budgets)
MP=$(free_port)
URL=http://127.0.0.1:$MP/metrics
bg "$FL" drill -s "$T/s.json" --ctl "$T/d.ctl" --speed 600 --duration 3 -q \
  --metrics "127.0.0.1:$MP" -o "$T/d.jsonl" 2>"$T/drill.err"
DRILL=$!
wait_until 20 scrape "$T/d1.json" '(m("faultline_market_tick") or 0) > 0 and m("faultline_budget_limit", budget="probe_p99_ms") == 1 and m("faultline_faults_total", rule="0") == 0' ||
  { cat "$T/drill.err" "$T/parse.err" >&2; fail "drill: metrics"; }
rc=0; wait "$DRILL" || rc=$?
eq "$rc" 0 "drill exit status (no probes: every budget holds with no data)"

# bad addresses and a busy port: 125, a message, the command never runs
for a in nonsense 127.0.0.1 127.0.0.1:99999 1.2.3:80 '[::1:80' localhost:9464 127.0.0.1:x; do
  rc=0
  "$FL" run -s "$T/s.json" --speed 600 --metrics "$a" -- touch "$T/ran" 2>"$T/bad.err" || rc=$?
  eq "$rc" 125 "exit status with --metrics $a"
  grep -qF -- "--metrics $a: expected ADDR:PORT" "$T/bad.err" ||
    { cat "$T/bad.err" >&2; fail "no clear error for --metrics $a"; }
  [ ! -e "$T/ran" ] || fail "the command ran with --metrics $a"
done
BP=$(free_port)
serve busy echo "$BP"
rc=0
"$FL" run -s "$T/s.json" --speed 600 --metrics "127.0.0.1:$BP" -- touch "$T/ran" 2>"$T/busy.err" || rc=$?
eq "$rc" 125 "exit status with --metrics on a port in use"
has "$T/busy.err" "--metrics 127.0.0.1:$BP: Address already in use"
[ ! -e "$T/ran" ] || fail "the command ran with its metrics port in use"
say "PASS: metrics parse with the Prometheus parser and move with the run; bad addresses refused"

#!/usr/bin/env bash
# faultline report, from real runs. A scenario (600 s of market at --speed
# 100: a -10 % drop from 200 s) drives an echo recv delay scaled by the
# drawdown; the test's own probe (progs/evprobe.py) plays 100 users'
# requests through it and sends an invariant violation and a mark whose text
# is hostile (<script>, quotes, an escape byte); `faultline mark --ctl` adds
# an operator's mark while the run is live. Budgets: probe_p99_ms 50 (the
# delayed requests break it), invariant_violations 0 (broken).
#  - text: every budget with limit and verdict, time to stability, peak
#    degradation, what broke first, both marks, time to detect; exit 3;
#    no escape byte reaches the terminal;
#  - HTML (-o): every series id with non-empty path data, the marks, the
#    first breach and violation; the hostile text only escaped;
#  - headless Chromium renders it: the DOM comes back with the svg, no
#    console error, no script element; a screenshot is non-trivial;
#  - a run whose budgets held: exit 0 and "held"; a malformed timeline:
#    exit 1 naming FILE:LINE; bad usage: exit 2.
source "$(dirname "$0")/lib.sh"
need "$PY" "$FL" "$SHIM" /usr/bin/chromium
P=$(free_port)
serve echo echo "$P"
PROBE=$FL_ROOT/tests/integration/progs/evprobe.py

cat >"$T/scn.json" <<JSON
{
  "faultline": 1,
  "seed": 11,
  "description": "test: calm, a -10 % drop from 200 s over 100 s, flat",
  "targets": {"echo": {"tcp": "127.0.0.1:$P"}},
  "rules": [
    {"target": "echo", "op": "recv", "fault": "delay", "ms": 120,
     "scale": {"signal": "drawdown", "lo": 0.02, "hi": 0.08}}
  ],
  "budgets": {"probe_p99_ms": 50, "invariant_violations": 0, "probe_error_rate": 0.5},
  "market": {
    "dt_ms": 100,
    "duration_s": 600,
    "price": {"spot": 60000, "sigma": 0.2},
    "shocks": [{"kind": "jump", "at_s": 200, "ramp_s": 100, "return": -0.10}]
  }
}
JSON
"$FL" validate "$T/scn.json" >/dev/null || fail "scenario invalid"

HOSTILE=$'<script>alert("x")</script> & \'q\' \e[31mred'
CTL=$T/run.ctl
bg_fl "$FL" run -s "$T/scn.json" --speed 100 --ctl "$CTL" -o "$T/tl.jsonl" -- \
  $PY "$PROBE" "$P" 100 --interval-ms 40 --fail-every 10 --ready "$T/go" --violate ledger_reconciles \
  --mark "$HOSTILE" >"$T/out.txt" 2>"$T/run.err"
RUN=$!
wait_until 30 has_lines "$T/out.txt" 1 || fail "the probe did not connect"
has "$T/out.txt" "^connected"
"$FL" mark --ctl "$CTL" "froze withdrawals" || fail "faultline mark failed"
touch "$T/go"
rc=0; wait "$RUN" || rc=$?
eq "$rc" 3 "faultline run exit status (budgets broken)"
eq "$(jcount "$T/tl.jsonl" 'r["type"] == "mark"')" 2 "marks in the timeline"
ge "$(jcount "$T/tl.jsonl" 'r["type"] == "fault" and r["kind"] == "fault"')" 1 "faults injected"

# -- text
rc=0
"$FL" report "$T/tl.jsonl" -o "$T/report.html" >"$T/report.txt" 2>"$T/report.err" || rc=$?
eq "$rc" 3 "report exit status with a broken budget"
[ -s "$T/report.err" ] && { cat "$T/report.err" >&2; fail "report wrote to stderr"; }
has "$T/report.txt" "probe_p99_ms  *50  *[0-9.]*  BROKEN"
has "$T/report.txt" "invariant_violations  *0  *1  BROKEN"
has "$T/report.txt" "probe_error_rate  *0.5 .* held"
has "$T/report.txt" "time to stability"
has "$T/report.txt" "peak degradation"
has "$T/report.txt" "first budget breach  *[a-z_0-9]* at [0-9.]* s"
has "$T/report.txt" "first invariant violation  ledger_reconciles at [0-9.]* s: test says so"
has "$T/report.txt" "froze withdrawals"
has "$T/report.txt" "time to detect   [0-9.]* s"
has "$T/report.txt" "verdict: DID NOT HOLD: 2 budgets broken"
has "$T/report.txt" "^   echo "
has "$T/report.txt" "the market (.* tick records)"
has "$T/report.txt" "routing, settlement, platform"
grep -q $'\e' "$T/report.txt" && fail "an escape byte from the timeline reached the text report"
has "$T/report.txt" '<script>alert("x")</script> & .q. ?\[31mred'
# the same verdicts as the run's own (the summary record)
$PY - "$T/tl.jsonl" "$T/report.txt" <<'PY' || fail "report and run disagree"
import json, re, sys
s = [json.loads(l) for l in open(sys.argv[1]) if '"summary"' in l][-1]
text = open(sys.argv[2]).read()
for b in s["budgets"]:
    st = {"broken": "BROKEN", "held": "held", "cap": "cap"}[b["state"]]
    assert re.search(r"^   %s +\S+ +\S+ +%s" % (re.escape(b["budget"]), st), text, re.M), b
assert "note: the run's own summary" not in text
PY

# -- HTML
H=$T/report.html
$PY - "$H" <<'PY' || fail "HTML series"
import re, sys
from html.parser import HTMLParser
doc = open(sys.argv[1], encoding="utf-8").read()
want = ["series-price", "series-liquidations", "series-depth", "series-spread",
        "series-intensity", "series-faults", "series-latency", "series-errors",
        "series-marks", "series-budgets", "series-violations", "first-breach",
        "first-violation", "shock"]
class P(HTMLParser):
    def __init__(self):
        super().__init__(); self.stack = []; self.d = {}; self.cls = {}; self.scripts = 0
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "script": self.scripts += 1
        if a.get("id"): self.cls[a["id"]] = a.get("class", "")
        owner = next((i for i in reversed(self.stack) if i), None)
        if tag == "path" and owner and a.get("d", "").strip():
            self.d[owner] = self.d.get(owner, 0) + 1
        if tag == "rect" and a.get("id") == "shock": self.d["shock"] = 1
        if tag not in ("path", "rect", "meta", "br") or a.get("id"):
            self.stack.append(a.get("id"))
    def handle_endtag(self, tag):
        if tag not in ("path", "meta", "br") and self.stack: self.stack.pop()
p = P(); p.feed(doc)
missing = [w for w in want if not p.d.get(w)]
assert not missing, "series without path data: %s (classes %s)" % (missing, {m: p.cls.get(m) for m in missing})
assert p.scripts == 0, "a script element in the report"
assert "froze withdrawals" in doc
assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;q&#39;" in doc, "hostile mark not escaped"
assert "<script" not in doc.lower(), "unescaped <script"
assert "\x1b" not in doc
for ext in ("http://", "https://", "src=", "@import", "url("):
    if ext == "http://":
        assert doc.count("http://") == doc.count("http://www.w3.org/2000/svg"), "a network reference"
    else:
        assert ext not in doc, "external reference " + ext
PY

# -- headless Chromium: renders, no console error, no script ran
chromium --headless --no-sandbox --disable-gpu --enable-logging=stderr --v=0 \
  --user-data-dir="$T/chr" --dump-dom "file://$H" >"$T/dom.html" 2>"$T/chr.err" || {
  tail -n 20 "$T/chr.err" >&2; fail "chromium --dump-dom failed"; }
has "$T/dom.html" '<svg id="timeline"'
has "$T/dom.html" 'id="series-price"'
grep -qi '<script' "$T/dom.html" && fail "a script element in the rendered DOM"
if grep -E 'CONSOLE|Uncaught' "$T/chr.err" >&2; then fail "console messages while rendering"; fi
chromium --headless --no-sandbox --disable-gpu --user-data-dir="$T/chr" \
  --screenshot="$T/shot.png" --window-size=1400,1000 "file://$H" >/dev/null 2>&1 ||
  fail "chromium --screenshot failed"
ge "$(stat -c %s "$T/shot.png")" 20000 "screenshot bytes"

# -- budgets held: exit 0
cat >"$T/hold.json" <<JSON
{"faultline": 1,
 "targets": {"echo": {"tcp": "127.0.0.1:$P"}},
 "rules": [{"target": "echo", "op": "recv", "nth": "3-4", "fault": "delay", "ms": 30}],
 "budgets": {"probe_p99_ms": 5000, "probe_error_rate": 0.1, "invariant_violations": 0}}
JSON
rc=0
"$FL" run -p "$T/hold.json" -o "$T/hold.jsonl" -- $PY "$PROBE" "$P" 20 2>"$T/hold.err" || rc=$?
eq "$rc" 0 "faultline run with budgets held"
rc=0
"$FL" report "$T/hold.jsonl" -o "$T/hold.html" >"$T/hold.txt" || rc=$?
eq "$rc" 0 "report exit status with every budget held"
has "$T/hold.txt" "verdict: held: every budget"
has "$T/hold.txt" "probe_p99_ms  *5000 .* held"
has "$T/hold.txt" "n/a"
grep -q 'id="series-price" class="na"' "$T/hold.html" || fail "no market: series-price should say n/a"

# -- a malformed timeline: exit 1 naming the file and the line
head -n 3 "$T/hold.jsonl" >"$T/bad.jsonl"
echo '{"type":"probe","t_ms":1,"name":' >>"$T/bad.jsonl"
rc=0
"$FL" report "$T/bad.jsonl" >/dev/null 2>"$T/bad.err" || rc=$?
eq "$rc" 1 "report exit status on a malformed timeline"
has "$T/bad.err" "bad.jsonl:4: not JSON"
rc=0; "$FL" report "$T/nosuch.jsonl" 2>"$T/nosuch.err" >/dev/null || rc=$?
eq "$rc" 1 "report on a missing file"
has "$T/nosuch.err" "nosuch.jsonl: No such file"
rc=0; "$FL" report 2>/dev/null || rc=$?
eq "$rc" 2 "report without a timeline"
rc=0; "$FL" report a b 2>/dev/null || rc=$?
eq "$rc" 2 "report with two timelines"
rc=0; "$FL" report --bogus x 2>/dev/null || rc=$?
eq "$rc" 2 "report with a bad option"
say "ok"

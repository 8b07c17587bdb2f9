#!/usr/bin/env bash
# FAULTLINE_EVENTS, end to end, with real clients:
#  - `faultline run`: the variable is set (and FAULTLINE_MARKET is not,
#    without a scenario); the test's probe's records land in the timeline
#    stamped with t_ms, in order; malformed lines (not JSON, not an object,
#    a probe without "ok", a 5000-byte line, an unknown type) are counted in
#    the summary and said on stderr, and the good records still arrive;
#  - `faultline drill --ctl PATH`: the socket is PATH.events for programs
#    started elsewhere; `faultline mark --ctl PATH TEXT` lands in the
#    timeline while a stuck writer (half a line, never finished) and a
#    flooding writer (megabytes without a newline) are connected: neither
#    blocks the controller, which still ends at once on SIGINT;
#  - --events PATH names the socket.
source "$(dirname "$0")/lib.sh"
need "$PY" "$FL" "$SHIM"
P=$(free_port)
serve echo echo "$P"
PROBE=$FL_ROOT/tests/integration/progs/evprobe.py
profile "$T/p.json" <<JSON
{"faultline": 1, "targets": {"echo": {"tcp": "127.0.0.1:$P"}}, "rules": []}
JSON

# -- run: the environment, records, malformed lines
"$FL" run -p "$T/p.json" -o "$T/run.jsonl" -- sh -c 'echo "E=$FAULTLINE_EVENTS M=${FAULTLINE_MARKET-unset}"' >"$T/env.out"
has "$T/env.out" "E=/.*\.events M=unset"
FAULTLINE_MARKET=/inherited "$FL" run -p "$T/p.json" -- sh -c 'echo "M=${FAULTLINE_MARKET-unset}"' >"$T/env2.out" 2>/dev/null
has "$T/env2.out" "M=unset"

"$FL" run -p "$T/p.json" -o "$T/run.jsonl" -- $PY "$PROBE" "$P" 20 --junk --mark "probe done" 2>"$T/run.err"
eq "$(jcount "$T/run.jsonl" 'r["type"] == "probe" and isinstance(r["t_ms"], float) and r["ok"] and "tick" not in r')" 20 "probe records"
eq "$(jcount "$T/run.jsonl" 'r["type"] == "mark" and r["text"] == "probe done"')" 1 "mark record"
eq "$(jcount "$T/run.jsonl" 'r["type"] == "summary" and r["events"] == 21 and r["events_malformed"] == 5')" 1 "summary counts (21 records, 5 malformed)"
has "$T/run.err" "5 malformed event lines on .*\.events (dropped)"
$PY - "$T/run.jsonl" <<'PY' || fail "probe t_ms not in order"
import json, sys
t = [json.loads(l)["t_ms"] for l in open(sys.argv[1]) if '"type":"probe"' in l]
assert t == sorted(t) and t[0] > 0, t
PY

# -- drill: PATH.events, mark, a stuck and a flooding writer
CTL=$T/drill.ctl
bg "$FL" drill -p "$T/p.json" --ctl "$CTL" -o "$T/drill.jsonl" --duration 60 2>"$T/drill.err"
DRILL=$!
for i in $(seq 1 400); do [ -S "$CTL.events" ] && break; msleep 10; done
[ -S "$CTL.events" ] || fail "no events socket at $CTL.events"
eq "$(stat -c %a "$CTL.events")" 600 "events socket mode"
cat >"$T/stuck.py" <<'PY'
import socket, sys, time
a = socket.socket(socket.AF_UNIX); a.connect(sys.argv[1])
a.sendall(b'{"type":"mark","te')          # half a line, never finished
b = socket.socket(socket.AF_UNIX); b.connect(sys.argv[1])
b.setblocking(False)
sent = 0
try:
    while sent < 8 << 20:
        sent += b.send(b"x" * 65536)      # no newline at all
except BlockingIOError:
    pass
print("stuck", sent, flush=True)
time.sleep(120)
PY
mkfifo "$T/stuck.fifo"
$PY "$T/stuck.py" "$CTL.events" >"$T/stuck.fifo" &
_pids+=($!)
read -r -t 20 word sent <"$T/stuck.fifo" || fail "stuck writer did not start"
eq "$word" stuck "stuck writer"
"$FL" mark --ctl "$CTL" froze withdrawals || fail "faultline mark failed"
"$FL" mark --events "$CTL.events" "second mark" || fail "faultline mark --events failed"
kill -INT "$DRILL"
t0=$(now_ms)
rc=0; wait "$DRILL" || rc=$?
le $(( $(now_ms) - t0 )) 5000 "ms for the drill to end on SIGINT with stuck writers"
eq "$rc" 0 "drill exit status"
eq "$(jcount "$T/drill.jsonl" 'r["type"] == "mark" and r["text"] == "froze withdrawals" and r["src"] == "faultline mark"')" 1 "mark from faultline mark"
eq "$(jcount "$T/drill.jsonl" 'r["type"] == "mark" and r["text"] == "second mark"')" 1 "mark via --events"
eq "$(jcount "$T/drill.jsonl" 'r["type"] == "summary" and r["events_malformed"] >= 2')" 1 "the overlong and the unfinished line counted"
[ -e "$CTL.events" ] && fail "events socket left behind"
rc=0; "$FL" mark --ctl "$CTL" "too late" 2>"$T/late.err" || rc=$?
eq "$rc" 1 "mark without a drill"
has "$T/late.err" "no drill is running there"

# -- --events PATH
"$FL" run -p "$T/p.json" --events "$T/my.sock" -o "$T/ev.jsonl" -- sh -c 'test "$FAULTLINE_EVENTS" = "$0"' "$T/my.sock" \
  || fail "--events PATH not in the environment"
say "ok"

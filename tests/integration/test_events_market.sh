#!/usr/bin/env bash
# FAULTLINE_MARKET, with real clients. A scenario with two venues (one
# down from 60 s to 120 s), 300 s of market time at --speed 60 (5 s).
#  - `faultline drill --ctl PATH`: a client outside connects to PATH.market
#    and gets one JSON line per published tick (tick and market_s rising,
#    every exported signal, each venue's status, "down" while the outage
#    runs) and a final {"type":"end"} when the scenario ends, while another
#    client that never reads (and one that writes junk) is connected: the
#    drill still ends on time;
#  - `faultline run -s`: FAULTLINE_MARKET is in the command's environment
#    and the command reads ticks from it.
source "$(dirname "$0")/lib.sh"
need "$PY" "$FL" "$SHIM"
cat >"$T/s.json" <<'JSON'
{"faultline": 1, "seed": 5,
 "rules": [],
 "market": {"dt_ms": 100, "duration_s": 300,
   "venues": [{"name": "alpha", "weight": 0.5, "perp": true}, {"name": "beta", "weight": 0.5}],
   "shocks": [{"kind": "venue", "venue": "alpha", "status": "down", "at_s": 60, "dur_s": 60}]}}
JSON
"$FL" validate "$T/s.json" >/dev/null || fail "scenario invalid"
signals=$("$FL" model -s "$T/s.json" --format csv --ticks-every 300000 | head -n 1)

cat >"$T/reader.py" <<'PY'
import json, socket, sys, os
path, signals, out = sys.argv[1], sys.argv[2].split(",")[1:], sys.argv[3]
s = socket.socket(socket.AF_UNIX); s.connect(path)
f = s.makefile("r")
ticks, down, n_end = [], 0, 0
for line in f:
    r = json.loads(line)
    if r["type"] == "end":
        n_end += 1
        break
    assert r["type"] == "tick", r
    missing = [k for k in signals if k not in r["signals"]]
    assert not missing, missing
    assert set(r["venues"]) == {"alpha", "beta"}, r["venues"]
    if r["venues"]["alpha"] == "down":
        assert 60 <= r["market_s"] <= 120.2, r
        down += 1
    ticks.append((r["tick"], r["market_s"], r["t_ms"]))
assert n_end == 1
assert [t[0] for t in ticks] == sorted(t[0] for t in ticks) and len(set(t[0] for t in ticks)) == len(ticks)
assert ticks[-1][1] >= 299, ticks[-1]
open(out, "w").write("%d %d\n" % (len(ticks), down))
PY
cat >"$T/lazy.py" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(b"junk that is ignored\n")
t = socket.socket(socket.AF_UNIX); t.connect(sys.argv[1])  # never reads
print("ready", flush=True)
time.sleep(120)
PY

CTL=$T/d.ctl
bg "$FL" drill -s "$T/s.json" --speed 60 --ctl "$CTL" -o "$T/d.jsonl" 2>"$T/d.err"
DRILL=$!
for i in $(seq 1 400); do [ -S "$CTL.market" ] && break; msleep 10; done
[ -S "$CTL.market" ] || fail "no market socket at $CTL.market"
mkfifo "$T/lazy.fifo"
$PY "$T/lazy.py" "$CTL.market" >"$T/lazy.fifo" &
_pids+=($!)
read -r -t 20 w <"$T/lazy.fifo" || true
eq "$w" ready "lazy client"
$PY "$T/reader.py" "$CTL.market" "$signals" "$T/reader.out" || fail "reader"
rc=0; wait "$DRILL" || rc=$?
eq "$rc" 0 "drill exit status"
read -r nticks ndown <"$T/reader.out"
ge "$nticks" 20 "tick lines received"
ge "$ndown" 1 "tick lines with alpha down"
[ -e "$CTL.market" ] && fail "market socket left behind"

cat >"$T/cmd.py" <<'PY'
import json, os, socket
s = socket.socket(socket.AF_UNIX); s.connect(os.environ["FAULTLINE_MARKET"])
f = s.makefile("r")
n = 0
for line in f:
    r = json.loads(line)
    assert r["type"] == "tick" and r["signals"]["spot"] > 0
    n += 1
    if n == 10:
        break
print(n)
PY
out=$("$FL" run -s "$T/s.json" --speed 60 -- $PY "$T/cmd.py")
eq "$out" 10 "ticks read by the command"
say "ok"

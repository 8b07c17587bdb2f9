#!/usr/bin/env bash
# A scenario's failure budget (budgets.max_faults): once spent, the drill
# stops injecting and the program runs on untouched.
source "$(dirname "$0")/lib.sh"
need "$PY"
port=$(free_port)
serve feed feed "$port" 100000 1

# slow-bleed's market, one rule that always fires (its signal is always
# above lo), and a budget of 5 faults
$PY - "$FL_ROOT/scenarios/slow-bleed.json" "$T/s.json" "$port" <<'PYEOF'
import json, sys
d = json.load(open(sys.argv[1]))
d["targets"] = {"feed": {"tcp": "127.0.0.1:%s" % sys.argv[3]}}
d["rules"] = [{"target": "feed", "op": "recv", "fault": "delay", "ms": 2,
               "scale": {"signal": "spot", "lo": 0, "hi": 1}}]
d["budgets"] = {"max_faults": 5}
json.dump(d, open(sys.argv[2], "w"))
PYEOF
"$FL" validate "$T/s.json" >/dev/null

"$FL" run -s "$T/s.json" -o "$T/t.jsonl" -- $PY -c "
import socket
s = socket.create_connection(('127.0.0.1', $port))
for i in range(400):
    s.recv(16)
"
faults=$(jcount "$T/t.jsonl" 'r["type"] == "fault" and r.get("kind") == "fault"')
say "faults injected: $faults"
ge "$faults" 5 "faults before the budget was spent"
le "$faults" 12 "faults after the budget was spent (the heartbeat notices within ms)"
eq "$(jcount "$T/t.jsonl" 'r["type"] == "end" and "budget" in json.dumps(r)')" 1 "end record naming the budget"

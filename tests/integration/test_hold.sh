#!/usr/bin/env bash
# hold … until: two processes whose order is forced by a gate, 50 times the
# same order; without the gate the race shows up; a gate whose event never
# comes releases at max_ms and is recorded as a gate timeout.
source "$(dirname "$0")/lib.sh"
need "$PY"
RACE=$FL_ROOT/tests/integration/progs/race.py
pc=$(free_port); pv=$(free_port)
serve custodian feed "$pc" 100000 1000
serve venue echo "$pv"

profile "$T/hold.json" <<EOF
{"faultline": 1,
 "targets": {"custodian": {"tcp": "127.0.0.1:$pc"}, "venue": {"tcp": "127.0.0.1:$pv"}},
 "rules": [{"target": "custodian", "op": "recv", "nth": "1", "fault": "hold",
            "until": {"target": "venue", "op": "send", "nth": "1"}, "max_ms": 5000}]}
EOF

race() { # $1: faultline args (may be empty) -> prints the order
  rm -f "$T/log"
  # shellcheck disable=SC2086
  "$FL" run $1 -o "$T/t.jsonl" -- sh -c "$PY $RACE A $pc $T/log & $PY $RACE B $pv $T/log; wait" >/dev/null
  tr '\n' ' ' <"$T/log"
}

for i in $(seq 1 50); do
  order=$(race "-p $T/hold.json")
  [ "$order" = "B-send A-recv " ] || fail "run $i: the gate did not force the order: '$order'"
  eq "$(jcount "$T/t.jsonl" 'r.get("kind") == "gate_open"')" 1 "run $i: gate_open records"
done
say "the forced order held in 50/50 runs"

natural=0
for i in $(seq 1 50); do
  [ "$(race "")" = "A-recv B-send " ] && natural=$((natural+1))
done
say "without the gate, A won $natural/50 times"
ge "$natural" 1 "runs where the race shows up without the gate"

# a gate whose event never comes: released at max_ms
profile "$T/never.json" <<EOF
{"faultline": 1,
 "targets": {"custodian": {"tcp": "127.0.0.1:$pc"}, "venue": {"tcp": "127.0.0.1:$pv"}},
 "rules": [{"target": "custodian", "op": "recv", "nth": "1", "fault": "hold",
            "until": {"target": "venue", "op": "send", "nth": "99"}, "max_ms": 400}]}
EOF
"$FL" run -p "$T/never.json" -o "$T/n.jsonl" -- $PY -c "
import socket, time
s = socket.create_connection(('127.0.0.1', $pc)); t = time.monotonic(); s.recv(10)
print(round((time.monotonic() - t) * 1000))" >"$T/waited"
waited=$(cat "$T/waited")
ge "$waited" 390 "ms held by a gate whose event never came"
le "$waited" 1500 "ms held by a gate whose event never came"
eq "$(jcount "$T/n.jsonl" 'r.get("kind") == "gate_timeout"')" 1 "gate_timeout records"

#!/usr/bin/env bash
# A gate (`until`) opens when the named call has HAPPENED — made and
# returned by the kernel, after its own delay — not when it is entered:
# with the venue send delayed 300 ms, a recv held until that send completes
# at least 300 ms after the send began (it used to complete at once, 300 ms
# before the call it waits for). And a hold is journaled the same way on
# every op: on accept, resolve and close too a hold ends with a
# gate_open/gate_timeout record (they used to be plain faults).
source "$(dirname "$0")/lib.sh"
need "$PY" "$FL" "$SHIM"
pc=$(free_port); pv=$(free_port)
serve custodian feed "$pc" 100000 1000
serve venue echo "$pv"

profile "$T/p.json" <<EOF
{"faultline": 1,
 "targets": {"custodian": {"tcp": "127.0.0.1:$pc"}, "venue": {"tcp": "127.0.0.1:$pv"}},
 "rules": [{"target": "custodian", "op": "recv", "nth": "1", "fault": "hold",
            "until": {"target": "venue", "op": "send", "nth": "1"}, "max_ms": 5000},
           {"target": "venue", "op": "send", "nth": "1", "fault": "delay", "ms": 300}]}
EOF
cat >"$T/ab.py" <<'PY'
import socket, sys, time
role, port = sys.argv[1], int(sys.argv[2])
s = socket.create_connection(("127.0.0.1", port))
if role == "A":
    s.recv(100)
    print("A %.6f" % time.monotonic())
else:
    time.sleep(0.02)
    print("B %.6f" % time.monotonic())
    s.sendall(b"ORDER 2\n")
PY
for i in 1 2 3 4 5; do
  "$FL" run -p "$T/p.json" -o "$T/t.jsonl" -- sh -c \
    "$PY $T/ab.py A $pc > $T/a.out & $PY $T/ab.py B $pv > $T/b.out; wait" >/dev/null
  a=$(awk '{print $2}' "$T/a.out"); b=$(awk '{print $2}' "$T/b.out")
  gap=$(awk -v a="$a" -v b="$b" 'BEGIN{printf "%d", (a - b) * 1000}')
  say "run $i: held recv returned $gap ms after the delayed send began"
  ge "$gap" 295 "run $i: ms from the named send's start to the held recv's return"
  eq "$(jcount "$T/t.jsonl" 'r.get("kind") == "gate_open" and r["op"] == "recv"')" 1 "run $i: gate_open"
done

# hold on accept, resolve, close: gate records like any other op
mkdir -p "$T/d"
pl=$(free_port)
profile "$T/ops.json" <<EOF
{"faultline": 1,
 "targets": {"lst": {"tcp": "127.0.0.1:$pl"}, "host": {"host": "faultline-test.invalid"},
             "file": {"path": "$T/d/*"}},
 "rules": [{"target": "lst", "op": "accept", "fault": "hold",
            "until": {"target": "file", "op": "write", "nth": "99"}, "max_ms": 150},
           {"target": "host", "op": "resolve", "fault": "hold",
            "until": {"target": "file", "op": "write", "nth": "99"}, "max_ms": 150},
           {"target": "file", "op": "close", "fault": "hold",
            "until": {"target": "file", "op": "write", "nth": "1"}, "max_ms": 3000}]}
EOF
"$FL" run -p "$T/ops.json" -o "$T/ops.jsonl" -- $PY -c "
import os, socket
l = socket.socket(); l.bind(('127.0.0.1', $pl)); l.listen(1)
c = socket.create_connection(('127.0.0.1', $pl)); l.accept()
try: socket.getaddrinfo('faultline-test.invalid', 80)
except OSError: pass
fd = os.open('$T/d/f', os.O_WRONLY | os.O_CREAT, 0o600); os.write(fd, b'x'); os.close(fd)
" || fail "the hold program"
for op in accept resolve; do
  eq "$(jcount "$T/ops.jsonl" "r.get('kind') == 'gate_timeout' and r['op'] == '$op'")" 1 "gate_timeout records of a hold on $op"
done
eq "$(jcount "$T/ops.jsonl" "r.get('kind') == 'gate_open' and r['op'] == 'close'")" 1 "gate_open records of a hold on close"
say "ok"

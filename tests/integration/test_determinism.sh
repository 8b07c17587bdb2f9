#!/usr/bin/env bash
# Reproducibility: a profile with probabilistic rules (recv p=0.3, send p=0.2)
# and a deterministic client (python3, 200 sequential request/response on one
# connection). Two runs give identical sequences of (rule, op, nth, fault);
# --seed equal to the profile's seed changes nothing; another --seed gives
# another sequence.
source "$(dirname "$0")/lib.sh"
need "$PY" "$FL" "$SHIM"

P=$(free_port)
serve echo echo "$P"
profile "$T/p.json" <<JSON
{"faultline": 1, "seed": 424242, "targets": {"echo": {"tcp": "127.0.0.1:$P"}},
 "rules": [{"target": "echo", "op": "recv", "probability": 0.3, "fault": "delay", "ms": 1},
           {"target": "echo", "op": "send", "probability": 0.2, "fault": "delay", "ms": 1}]}
JSON
cat >"$T/client.py" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
for i in range(200):
    msg = b"req %03d\n" % i
    s.sendall(msg)
    buf = b""
    while not buf.endswith(b"\n"):
        c = s.recv(4096)
        if not c:
            sys.exit("EOF")
        buf += c
    if buf != msg:
        sys.exit("bad reply %r" % buf)
s.close()
PY

seq_of() { # TIMELINE → one "rule op nth fault" a line
  $PY - "$1" <<'PY'
import json, sys
for r in map(json.loads, open(sys.argv[1])):
    if r["type"] == "fault" and r.get("kind") == "fault":
        print(r["rule"], r["op"], r["nth"], r["fault"])
PY
}
run() { # NAME [--seed N]
  local name=$1; shift
  "$FL" run -p "$T/p.json" -o "$T/$name.jsonl" "$@" -- $PY "$T/client.py" "$P" || fail "client failed ($name)"
  seq_of "$T/$name.jsonl" >"$T/$name.seq"
  eq "$(jcount "$T/$name.jsonl" 'r["type"]=="summary" and r["dropped"]==0')" 1 "no dropped records ($name)"
}

run a
run b
run c --seed 424242
run d --seed 7

na=$(grep -c ' recv ' "$T/a.seq" || true); ns=$(grep -c ' send ' "$T/a.seq" || true)
say "run a: $na recv faults, $ns send faults; run d: $(wc -l <"$T/d.seq") faults"
# p=0.3 of 200 recvs and p=0.2 of 200 sends, far from 0 and from all
ge "$na" 30 "recv faults (p=0.3 of 200)"; le "$na" 90 "recv faults (p=0.3 of 200)"
ge "$ns" 15 "send faults (p=0.2 of 200)"; le "$ns" 70 "send faults (p=0.2 of 200)"
# every call was counted: nth runs up to 200 on each op
eq "$(jcount "$T/a.jsonl" 'r["type"]=="fault" and r.get("kind")=="fault" and r["nth"]>200')" 0 "nth beyond 200"

cmp -s "$T/a.seq" "$T/b.seq" || { diff "$T/a.seq" "$T/b.seq" | head >&2; fail "two runs with the same profile differ"; }
cmp -s "$T/a.seq" "$T/c.seq" || fail "--seed equal to the profile's seed changed the sequence"
! cmp -s "$T/a.seq" "$T/d.seq" || fail "--seed 7 gave the same sequence as seed 424242"
eq "$(jcount "$T/d.jsonl" 'r["type"]=="start" and r["seed"]==7 and r["seed_source"]!="profile"')" 1 "start record of run d names seed 7"
say "ok"

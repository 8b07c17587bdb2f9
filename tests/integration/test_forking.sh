#!/usr/bin/env bash
# A forking server as the SUT (servers.py forking-echo: a fork()ed child per
# connection) with rules on its listening target. "nth" counts recv across
# every process of the SUT: the 3rd recv — made by the 2nd connection's child,
# although no child makes more than 2 — fails with ECONNRESET. 5 sequential
# clients: exactly one (the 2nd) fails. The timeline's records come from the
# children (pids other than the server's), each child with its own two recvs.
source "$(dirname "$0")/lib.sh"
need "$PY" "$FL" "$SHIM"

P=$(free_port)
# rule 0: the fault; rule 1: a 1 ms delay that marks every other recv in the
# timeline (first matching rule wins)
profile "$T/p.json" <<JSON
{"faultline": 1, "seed": 8, "targets": {"srv": {"tcp": "127.0.0.1:$P"}},
 "rules": [{"target": "srv", "op": "recv", "nth": "3", "fault": "error", "errno": "ECONNRESET"},
           {"target": "srv", "op": "recv", "fault": "delay", "ms": 1}]}
JSON
serve_fl srv "$T/p.json" "$T/tl.jsonl" forking-echo "$P"
SRVPID=$(child_of "$FLPID")
[ -n "$SRVPID" ] || fail "no server process under faultline"

# each client: one line, its echo, then half-close and wait for the server's
# close — so the child's EOF recv is counted before the next client starts
cat >"$T/client.py" <<'PY'
import socket, sys
port = int(sys.argv[1])
for i in range(1, 6):
    msg = b"ledger entry %d\n" % i
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(msg)
        buf = b""
        while not buf.endswith(b"\n"):
            c = s.recv(4096)
            if not c:
                break
            buf += c
        s.shutdown(socket.SHUT_WR)
        while s.recv(4096):
            pass
        s.close()
        print(i, "ok" if buf == msg else "fail:reply=%r" % buf, flush=True)
    except OSError as e:
        print(i, "fail:%s" % type(e).__name__, flush=True)
PY
$PY "$T/client.py" "$P" >"$T/clients.out"
say "clients: $(tr '\n' ';' <"$T/clients.out")"
eq "$(grep -c ' ok$' "$T/clients.out")" 4 "clients served"
eq "$(grep -c ' fail' "$T/clients.out")" 1 "clients failed"
eq "$(awk '$2 != "ok" {print $1}' "$T/clients.out")" 2 "the failed client"

rc=0; stop_fl "$FLPID" || rc=$?
eq "$rc" 143 "faultline exit status (SIGTERM forwarded to the server)"
eq "$(jcount "$T/tl.jsonl" "r['type']=='start' and r['pid']==$SRVPID")" 1 "start record names the server's pid"

# the fault: nth 3, from a child
eq "$(jcount "$T/tl.jsonl" 'r["type"]=="fault" and r["kind"]=="fault" and r["fault"]=="error"')" 1 "error faults"
eq "$(jcount "$T/tl.jsonl" "r['type']=='fault' and r['kind']=='fault' and r['rule']==0 and r['op']=='recv' and r['nth']==3 and r['errno']=='ECONNRESET' and r['pid']!=$SRVPID")" 1 "ECONNRESET record from a child"
# every recv came from a child; 5 children; one counter ran 1..9 across them
$PY - "$T/tl.jsonl" "$SRVPID" <<'PY' || fail "recv records are not shared-counted across the children"
import json, sys
srv = int(sys.argv[2])
recs = [r for r in map(json.loads, open(sys.argv[1]))
        if r["type"] == "fault" and r.get("kind") == "fault" and r["op"] == "recv"]
nths = sorted(r["nth"] for r in recs)
pids = {}
for r in recs:
    pids.setdefault(r["pid"], []).append(r["nth"])
print("recv nth by pid:", {p: sorted(v) for p, v in pids.items()}, file=sys.stderr)
# 5 children, none of them the server; child 1 made nth 1-2 (line, EOF),
# child 2 only nth 3 (the failed recv: it exits), children 3-5 nth 4-9
want = [[1, 2], [3], [4, 5], [6, 7], [8, 9]]
ok = (nths == list(range(1, 10)) and srv not in pids
      and sorted(sorted(v) for v in pids.values()) == want)
sys.exit(0 if ok else 1)
PY
say "ok"

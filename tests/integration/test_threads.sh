#!/usr/bin/env bash
# A multithreaded python3 client: 8 threads, released together by a barrier,
# each connect once to an echo server. Connect rule nth "2-4" ECONNREFUSED:
# the counter is one atomic per (target, op), so exactly 3 threads fail
# whatever the interleaving, and the timeline has nth 2, 3, 4 from 3 distinct
# threads of the one process.
source "$(dirname "$0")/lib.sh"
need "$PY" "$FL" "$SHIM"

P=$(free_port)
serve echo echo "$P"
profile "$T/p.json" <<JSON
{"faultline": 1, "seed": 6, "targets": {"echo": {"tcp": "127.0.0.1:$P"}},
 "rules": [{"target": "echo", "op": "connect", "nth": "2-4", "fault": "error", "errno": "ECONNREFUSED"}]}
JSON

cat >"$T/client.py" <<'PY'
import socket, sys, threading
port = int(sys.argv[1])
N = 8
barrier = threading.Barrier(N)
out = [None] * N
def run(i):
    barrier.wait()
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(b"thread %d\n" % i)
        buf = b""
        while not buf.endswith(b"\n"):
            c = s.recv(4096)
            if not c:
                break
            buf += c
        s.close()
        out[i] = "ok" if buf == b"thread %d\n" % i else "bad"
    except ConnectionRefusedError:
        out[i] = "refused"
    except OSError as e:
        out[i] = type(e).__name__
ts = [threading.Thread(target=run, args=(i,)) for i in range(N)]
for t in ts: t.start()
for t in ts: t.join()
for i, r in enumerate(out):
    print(i, r)
PY

for round in 1 2 3; do
  rc=0
  "$FL" run -p "$T/p.json" -o "$T/tl$round.jsonl" -- $PY "$T/client.py" "$P" >"$T/out$round" || rc=$?
  eq "$rc" 0 "client exit status (round $round)"
  say "round $round: $(awk '{print $2}' "$T/out$round" | sort | uniq -c | tr -s ' \n' ' ')"
  eq "$(grep -c ' ok$' "$T/out$round")" 5 "threads connected (round $round)"
  eq "$(grep -c ' refused$' "$T/out$round")" 3 "threads refused (round $round)"
  eq "$(jcount "$T/tl$round.jsonl" 'r["type"]=="fault" and r["kind"]=="fault"')" 3 "faults (round $round)"
  $PY - "$T/tl$round.jsonl" <<'PY' || fail "timeline: nth/tid of the faults (round $round)"
import json, sys
recs = list(map(json.loads, open(sys.argv[1])))
start = [r for r in recs if r["type"] == "start"][0]
f = [r for r in recs if r["type"] == "fault" and r.get("kind") == "fault"]
print("faults (nth, pid, tid):", [(r["nth"], r["pid"], r["tid"]) for r in f], file=sys.stderr)
ok = (sorted(r["nth"] for r in f) == [2, 3, 4]
      and all(r["op"] == "connect" and r["errno"] == "ECONNREFUSED" and r["rule"] == 0 for r in f)
      and len({r["tid"] for r in f}) == 3                  # three threads
      and {r["pid"] for r in f} == {start["pid"]}          # of the one process
      and start["pid"] not in {r["tid"] for r in f})       # none of them main
sys.exit(0 if ok else 1)
PY
done
say "ok"

#!/usr/bin/env bash
# A delay on EVERY accept of a non-blocking (epoll) server: each connection
# is accepted once its delay is due. Regression: the accept retried at the
# due time was decided again, delayed again, and never happened.
source "$(dirname "$0")/lib.sh"
need "$PY" "$FL" "$SHIM"
P=$(free_port)
profile "$T/p.json" <<JSON
{"faultline": 1, "targets": {"srv": {"tcp": "127.0.0.1:$P"}},
 "rules": [{"target": "srv", "op": "accept", "fault": "delay", "ms": 300}]}
JSON
serve_fl srv "$T/p.json" "$T/t.jsonl" epoll-echo "$P"
$PY - "$P" >"$T/out" <<'PY'
import socket, sys, time
port = int(sys.argv[1])
for i in range(3):
    t0 = time.monotonic()
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.settimeout(5)
    s.sendall(b"ping\n")
    assert s.recv(16) == b"ping\n"
    s.close()
    print("%.3f" % (time.monotonic() - t0))
PY
while read -r dt; do
  ge "$dt" 0.29 "seconds to an echo through a delayed accept"
  le "$dt" 2.0 "seconds to an echo through a delayed accept"
done <"$T/out"
eq "$(wc -l <"$T/out")" 3 "connections served"
stop_fl "$FLPID" || true
eq "$(jfaults "$T/t.jsonl" | wc -l)" 3 "accept faults: one per connection, not one per retry"

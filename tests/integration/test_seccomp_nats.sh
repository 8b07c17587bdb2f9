#!/usr/bin/env bash
# A Go program from Debian (nats-server) under `faultline run`: auto picks
# the seccomp supervisor for it (a Go binary makes its own system calls,
# even dynamically linked) and says why; the filter waits killably
# (Go's SIGURG preemption) with SYNC_WAKE_UP; clients speaking the NATS
# protocol (python3: INFO, "CONNECT {}\r\nPING\r\n" -> PONG) see
#  - a delay on every send, in parallel connections served by different Go
#    threads: the delays overlap (none stalls another), nth counts 1..8
#    across those threads;
#  - an error (ECONNRESET) on the 3rd counted recv: exactly the 3rd of five
#    connections is dropped by the server, the others get PONG (a Go read
#    that would find nothing is not counted, as in the shim).
source "$(dirname "$0")/lib.sh"
NATS=/usr/sbin/nats-server
need "$NATS"

# start_nats NAME PROFILE — nats-server under faultline run -v; waits for
# "Server is ready" in its log
start_nats() {
  local name=$1 prof=$2
  NP=$(free_port)
  bg_fl "$FL" run -v -p "$prof" -o "$T/$name.jsonl" -- "$NATS" -a 127.0.0.1 -p "$NP" \
    >"$T/$name.out" 2>"$T/$name.err"
  NFL=$!
  wait_until 20 grep -q "Server is ready" "$T/$name.err" || { cat "$T/$name.err" >&2; fail "nats-server did not start"; }
}

# clients PORT N MODE — N NATS clients; MODE par: all at once, each closes
# when done; seq: one after another, every connection kept open to the end.
# Prints per client: i=I PONG|EOF|ERR ms=ELAPSED, then total=MS
clients() {
  $PY - "$@" <<'PYEOF'
import socket, sys, threading, time
port, n, mode = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
t0 = time.monotonic(); out = {}; keep = []
def one(i):
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    try:
        buf = b""
        while b"\r\n" not in buf:
            c = s.recv(4096)
            if not c: raise EOFError
            buf += c
        s.sendall(b"CONNECT {}\r\nPING\r\n")
        buf = b""
        while b"PONG\r\n" not in buf:
            c = s.recv(4096)
            if not c: raise EOFError
            buf += c
        r = "PONG"
    except (EOFError, ConnectionResetError):
        r = "EOF"
    except OSError as e:
        r = "ERR:%s" % e
    out[i] = "%s ms=%d" % (r, (time.monotonic() - t0) * 1000)
    keep.append(s)
if mode == "par":
    ts = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    [t.start() for t in ts]; [t.join() for t in ts]
else:
    for i in range(n): one(i)
for i in range(n): print("i=%d %s" % (i + 1, out[i]))
print("total=%d" % ((time.monotonic() - t0) * 1000))
PYEOF
}

# ---- auto picks seccomp; delays on sends overlap across Go threads -----------
profile "$T/delay.json" <<JSON
{"faultline": 1, "seed": 1, "targets": {"nats": {"tcp": "127.0.0.1:*"}},
 "rules": [{"target": "nats", "op": "send", "fault": "delay", "ms": 400}]}
JSON
start_nats delay "$T/delay.json"
has "$T/delay.err" "faultline: layer seccomp: $NATS is a Go program"
has "$T/delay.err" "faultline: seccomp: wait_killable_recv on, sync_wake_up on"
clients "$NP" 4 par >"$T/delay.cl"
stop_fl "$NFL" || true
eq "$(grep -c ' PONG ' "$T/delay.cl")" 4 "every client gets PONG under the delays: $(tr '\n' ' ' <"$T/delay.cl")"
# each client waits for two delayed sends (INFO, then +OK/PONG): 800 ms;
# one after another the four would take 3200 ms
total=$(sed -n 's/^total=//p' "$T/delay.cl")
ge "$total" 800 "two 400 ms delays per client"
le "$total" 2400 "the four clients' delays overlap (not one notification at a time)"
eq "$(jcount "$T/delay.jsonl" 'r["type"]=="start" and r["layer"]=="seccomp" and "Go program" in r["layer_reason"]')" 1 "start record: seccomp, Go"
eq "$($PY -c 'import json,sys; print(sorted(r["nth"] for r in map(json.loads, open(sys.argv[1])) if r["type"]=="fault"))' "$T/delay.jsonl")" \
   "[1, 2, 3, 4, 5, 6, 7, 8]" "nth 1..8, each once, across the server's threads"
ge "$($PY -c 'import json,sys; print(len({r["tid"] for r in map(json.loads, open(sys.argv[1])) if r["type"]=="fault"}))' "$T/delay.jsonl")" 2 \
   "delayed sends in at least two Go threads"

# ---- an error reaches it: the 3rd counted recv fails with ECONNRESET ------------
profile "$T/err.json" <<JSON
{"faultline": 1, "seed": 1, "targets": {"nats": {"tcp": "127.0.0.1:*"}},
 "rules": [{"target": "nats", "op": "recv", "nth": "3", "fault": "error", "errno": "ECONNRESET"}]}
JSON
start_nats err "$T/err.json"
clients "$NP" 5 seq >"$T/err.cl"
stop_fl "$NFL" || true
eq "$(sed -n 's/^\(i=[0-9]* [A-Z]*\).*/\1/p' "$T/err.cl" | tr '\n' ' ')" "i=1 PONG i=2 PONG i=3 EOF i=4 PONG i=5 PONG " "only the 3rd connection dropped"
eq "$(jcount "$T/err.jsonl" 'r["type"]=="fault" and r["op"]=="recv" and r["nth"]==3 and r["errno"]=="ECONNRESET"')" 1 "recv error record"
say "ok"

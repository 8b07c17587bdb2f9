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
#    that would find nothing is not counted, as in the shim);
#  - a file fault: JetStream's store write fails with ENOSPC (nats-server
#    -js), the stream is not created and the server says why;
#  - systemd style: nats-server under `faultline exec`, untouched, then a
#    `faultline drill` whose error reaches it.
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

# ---- a file fault reaches it: JetStream's store write fails with ENOSPC ---------
mkdir -p "$T/js"
profile "$T/js.json" <<JSON
{"faultline": 1, "seed": 1, "targets": {"store": {"path": "$T/js/*"}},
 "rules": [{"target": "store", "op": "write", "fault": "error", "errno": "ENOSPC"}]}
JSON
NP=$(free_port)
bg_fl "$FL" run -p "$T/js.json" -o "$T/js.jsonl" -- "$NATS" -a 127.0.0.1 -p "$NP" -js -sd "$T/js" \
  >"$T/js.out" 2>"$T/js.err"
NFL=$!
wait_until 20 grep -q "Server is ready" "$T/js.err" || { cat "$T/js.err" >&2; fail "nats-server -js did not start"; }
$PY - "$NP" >"$T/js.cl" <<'PYEOF'
import json, socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
buf = b""
while b"\r\n" not in buf:
    buf += s.recv(4096)
cfg = json.dumps({"name": "S", "subjects": ["s.>"], "storage": "file"}).encode()
s.sendall(b'CONNECT {"verbose":false}\r\nSUB _R 1\r\nPUB $JS.API.STREAM.CREATE.S _R %d\r\n%s\r\n' % (len(cfg), cfg))
buf = b""
while b"stream_create_response" not in buf or not buf.endswith(b"\r\n"):
    buf += s.recv(4096)
print(buf.decode(errors="replace"))
PYEOF
stop_fl "$NFL" || true
has "$T/js.cl" '"description":"error creating store for stream"'
has "$T/js.err" "streams/S/meta.inf: no space left on device"
ge "$(jcount "$T/js.jsonl" 'r["type"]=="fault" and r["op"]=="write" and r["errno"]=="ENOSPC"')" 1 "write error record"

# ---- systemd style: faultline exec, then a drill ------------------------------------
NP=$(free_port)
bg "$FL" exec --ctl "$T/n.ctl" -- "$NATS" -a 127.0.0.1 -p "$NP" >"$T/ex.out" 2>"$T/ex.err"
EX=$!
wait_until 20 grep -q "Server is ready" "$T/ex.err" || { cat "$T/ex.err" >&2; fail "nats-server did not start under exec"; }
clients "$NP" 2 seq >"$T/ex0.cl"
eq "$(grep -c ' PONG ' "$T/ex0.cl")" 2 "untouched under exec without a drill"
profile "$T/exd.json" <<JSON
{"faultline": 1, "seed": 1, "targets": {"nats": {"tcp": "127.0.0.1:$NP"}},
 "rules": [{"target": "nats", "op": "recv", "nth": "2", "fault": "error", "errno": "ECONNRESET"}]}
JSON
bg "$FL" drill -v --ctl "$T/n.ctl" -p "$T/exd.json" -o "$T/exd.jsonl" --no-bpf 2>"$T/exd.err"
DR=$!
wait_until 20 grep -q "serving the service of" "$T/exd.err" || { cat "$T/exd.err" >&2; fail "the drill did not attach"; }
clients "$NP" 3 seq >"$T/ex1.cl"
stop_fl "$DR" || true
eq "$(sed -n 's/^\(i=[0-9]* [A-Z]*\).*/\1/p' "$T/ex1.cl" | tr '\n' ' ')" "i=1 PONG i=2 EOF i=3 PONG " "the drill's 2nd counted recv dropped"
eq "$(jcount "$T/exd.jsonl" 'r["type"]=="fault" and r["nth"]==2 and r["errno"]=="ECONNRESET"')" 1 "the drill's record"
kill -TERM "$EX"
wait "$EX" || true
say "ok"

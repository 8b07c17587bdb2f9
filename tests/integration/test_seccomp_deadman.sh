#!/usr/bin/env bash
# The dead-man rule in seccomp mode: kill -9 of the controller while the
# target keeps making notified calls. The keeper (a process the controller
# forked, holding a copy of the listener) answers the call that was waiting
# in a fault with CONTINUE and passes every later one: the target's calls
# go on untouched — no ENOSYS, no hang.
#  - static: tests/helpers/scstatic loop writes one byte a millisecond to a
#    file whose writes are delayed 3 s from the 2nd on; the controller is
#    killed while the 2nd waits; the file then grows at full speed and no
#    write ever failed.
#  - Go: nats-server with every send delayed; after kill -9 of the
#    controller new clients get INFO and PONG at once.
source "$(dirname "$0")/lib.sh"
SC=$O/tests/helpers/scstatic
NATS=/usr/sbin/nats-server
need "$SC" "$NATS"

mkdir -p "$T/data"
profile "$T/w.json" <<JSON
{"faultline": 1, "seed": 1, "targets": {"data": {"path": "$T/data/*"}},
 "rules": [{"target": "data", "op": "write", "nth": "2+", "fault": "delay", "ms": 3000}]}
JSON
bg_fl "$FL" run -p "$T/w.json" -o "$T/w.jsonl" -- "$SC" loop "$T/data/f" >"$T/w.out" 2>"$T/w.err"
fl=$!
wait_until 20 grep -qs '"type":"fault"' "$T/w.jsonl" || fail "the 2nd write's delay never began"
sut=$(child_of "$fl")
[ -n "$sut" ] || fail "no target process"
_pids+=("$sut")
kill -9 "$fl"
t0=$(now_ms)
size_ge() { [ "$(stat -c %s "$1")" -ge "$2" ]; }
wait_until 20 size_ge "$T/data/f" 100 || fail "writes stopped after the controller died (size $(stat -c %s "$T/data/f"))"
t1=$(now_ms)
le $((t1 - t0)) 2500 "the waiting write released and the next 98 passed (not 3 s each)"
kill -0 "$sut" 2>/dev/null || fail "the target died with the controller"
eq "$(cat "$T/w.out")" "started rc=1 errno=0 n=0" "every write succeeded (no ENOSYS, no error)"
kill -9 "$sut"

# ---- a Go program ---------------------------------------------------------------
NP=$(free_port)
profile "$T/n.json" <<JSON
{"faultline": 1, "seed": 1, "targets": {"nats": {"tcp": "127.0.0.1:$NP"}},
 "rules": [{"target": "nats", "op": "send", "fault": "delay", "ms": 3000}]}
JSON
bg_fl "$FL" run -p "$T/n.json" -o "$T/n.jsonl" -- "$NATS" -a 127.0.0.1 -p "$NP" >"$T/n.out" 2>"$T/n.err"
fl=$!
wait_until 20 grep -q "Server is ready" "$T/n.err" || { cat "$T/n.err" >&2; fail "nats-server did not start"; }
nats=$(child_of "$fl")
_pids+=("$nats")
kill -9 "$fl"
$PY - "$NP" >"$T/n.cl" <<'PYEOF'
import socket, sys, time
t0 = time.monotonic()
for i in range(5):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
    buf = b""
    while b"\r\n" not in buf:
        buf += s.recv(4096)
    s.sendall(b"CONNECT {}\r\nPING\r\n")
    while b"PONG\r\n" not in buf:
        c = s.recv(4096)
        if not c: break
        buf += c
    print("PONG" if b"PONG\r\n" in buf else "NO")
    s.close()
print("ms=%d" % ((time.monotonic() - t0) * 1000))
PYEOF
eq "$(grep -c PONG "$T/n.cl")" 5 "nats answers after the controller died"
le "$(sed -n 's/^ms=//p' "$T/n.cl")" 2500 "five exchanges without the 3 s delays"
kill -0 "$nats" 2>/dev/null || fail "nats-server died with the controller"
say "ok"

#!/usr/bin/env bash
# An epoll server as the SUT (servers.py epoll-echo: python3 selectors, every
# socket non-blocking) with a target on its listening address: a recv delay
# and an accept delay hold the reply back by the delay (readiness is hidden,
# not slept on, so the one-threaded server keeps serving others meanwhile);
# an accept error is seen by the server and the connection is still served
# (it stays in the backlog).
source "$(dirname "$0")/lib.sh"
need "$PY" "$FL" "$SHIM"

cat >"$T/client.py" <<'PY'
import socket, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
for i in range(n):
    t0 = time.monotonic()
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    msg = b"ping %d\n" % i
    s.sendall(msg)
    buf = b""
    while not buf.endswith(b"\n"):
        c = s.recv(4096)
        if not c:
            break
        buf += c
    s.close()
    print("%d %.4f %s" % (i, time.monotonic() - t0, "ok" if buf == msg else "bad:%r" % buf))
PY

run_case() { # NAME RULE-JSON → starts the server under faultline
  P=$(free_port)
  profile "$T/$1.json" <<JSON
{"faultline": 1, "seed": 9, "targets": {"srv": {"tcp": "127.0.0.1:$P"}}, "rules": [$2]}
JSON
  serve_fl "$1" "$T/$1.json" "$T/$1.jsonl" epoll-echo "$P"
}
col() { awk -v i="$2" -v c="$3" '$1==i {print $c}' "$1"; }

# 1. recv delay 700 ms on the 1st recv: the 1st reply is late, the 2nd is not
run_case recv '{"target": "srv", "op": "recv", "nth": "1", "fault": "delay", "ms": 700}'
$PY "$T/client.py" "$P" 2 >"$T/recv.out"
say "recv delay: $(tr '\n' ';' <"$T/recv.out")"
eq "$(col "$T/recv.out" 0 3)" ok "recv delay: reply 0"
eq "$(col "$T/recv.out" 1 3)" ok "recv delay: reply 1"
ge "$(col "$T/recv.out" 0 2)" 0.7 "recv delay: seconds to reply 0"
le "$(col "$T/recv.out" 0 2)" 1.6 "recv delay: seconds to reply 0"
le "$(col "$T/recv.out" 1 2)" 0.3 "recv delay: seconds to reply 1 (not delayed)"
rc=0; stop_fl "$FLPID" || rc=$?
eq "$rc" 143 "faultline exit after SIGTERM (forwarded to the server)"
eq "$(jcount "$T/recv.jsonl" 'r["type"]=="fault" and r["kind"]=="fault"')" 1 "recv delay: faults"
eq "$(jcount "$T/recv.jsonl" 'r["type"]=="fault" and r["kind"]=="fault" and r["op"]=="recv" and r["fault"]=="delay" and r["nth"]==1 and r["errno"]=="EAGAIN"')" 1 "recv delay: readiness-hide record (non-blocking socket)"

# 2. accept delay 700 ms on the 1st accept: the listener is hidden from epoll
#    until due (the non-blocking accept got EAGAIN); the reply is late by the
#    delay, and the 2nd accept is not delayed
run_case acc '{"target": "srv", "op": "accept", "nth": "1", "fault": "delay", "ms": 700}'
t0=$(now_ms)
$PY "$T/client.py" "$P" 2 >"$T/acc.out"
say "accept delay: $(tr '\n' ';' <"$T/acc.out")"
eq "$(col "$T/acc.out" 0 3)" ok "accept delay: reply 0"
eq "$(col "$T/acc.out" 1 3)" ok "accept delay: reply 1"
ge "$(col "$T/acc.out" 0 2)" 0.7 "accept delay: seconds to reply 0"
le "$(col "$T/acc.out" 0 2)" 1.6 "accept delay: seconds to reply 0"
le "$(col "$T/acc.out" 1 2)" 0.3 "accept delay: seconds to reply 1 (2nd accept not delayed)"
stop_fl "$FLPID" || true
eq "$(jcount "$T/acc.jsonl" 'r["type"]=="fault" and r["kind"]=="fault"')" 1 "accept delay: faults"
eq "$(jcount "$T/acc.jsonl" 'r["type"]=="fault" and r["kind"]=="fault" and r["op"]=="accept" and r["fault"]=="delay" and r["nth"]==1')" 1 "accept delay: record"

# 3. accept error ECONNABORTED on the 2nd accept: the server logs it; the
#    connection was never taken off the backlog, so it is still served
run_case err '{"target": "srv", "op": "accept", "nth": "2", "fault": "error", "errno": "ECONNABORTED"}'
$PY "$T/client.py" "$P" 3 >"$T/err.out"
say "accept error: $(tr '\n' ';' <"$T/err.out")"
for i in 0 1 2; do
  eq "$(col "$T/err.out" $i 3)" ok "accept error: reply $i"
  le "$(col "$T/err.out" $i 2)" 0.5 "accept error: seconds to reply $i"
done
stop_fl "$FLPID" || true
has "$T/err.err" "accept error: ECONNABORTED" "server stderr"
eq "$(grep -c 'accept error' "$T/err.err")" 1 "accept errors the server saw"
eq "$(jcount "$T/err.jsonl" 'r["type"]=="fault" and r["kind"]=="fault"')" 1 "accept error: faults"
eq "$(jcount "$T/err.jsonl" 'r["type"]=="fault" and r["kind"]=="fault" and r["op"]=="accept" and r["fault"]=="error" and r["errno"]=="ECONNABORTED" and r["nth"]==2 and r["ret"]==-1')" 1 "accept error: record"
say "ok"

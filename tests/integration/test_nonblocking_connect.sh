#!/usr/bin/env bash
# python3 non-blocking connect under a connect timeout of 500 ms (rule nth 1):
# setblocking(False); connect_ex → EINPROGRESS; wait for writability; then
# getsockopt(SO_ERROR). Writability appears only after >= 0.5 s (not at once,
# and not never) and SO_ERROR is ETIMEDOUT (110), once; with select(), poll()
# and epoll. The next connect (nth 2) is real and goes through.
source "$(dirname "$0")/lib.sh"
need "$PY" "$FL" "$SHIM"

P=$(free_port)
serve echo echo "$P"
profile "$T/p.json" <<JSON
{"faultline": 1, "seed": 13, "targets": {"echo": {"tcp": "127.0.0.1:$P"}},
 "rules": [{"target": "echo", "op": "connect", "nth": "1", "fault": "timeout", "ms": 500}]}
JSON

cat >"$T/client.py" <<'PY'
import errno, json, select, socket, sys, time
how, port = sys.argv[1], int(sys.argv[2])
res = {"how": how}
s = socket.socket()
s.setblocking(False)
t0 = time.monotonic()
res["connect_ex"] = errno.errorcode.get(s.connect_ex(("127.0.0.1", port)), "0")
wakes = 0
while True:          # wait for writability, at most 3 s
    left = 3 - (time.monotonic() - t0)
    if left <= 0:
        break
    if how == "select":
        _, w, _ = select.select([], [s], [], left)
        ready = bool(w)
    elif how == "poll":
        p = select.poll(); p.register(s, select.POLLOUT)
        ready = bool(p.poll(left * 1000))
    else:
        e = select.epoll(); e.register(s.fileno(), select.EPOLLOUT)
        ready = bool(e.poll(left)); e.close()
    wakes += 1
    if ready:
        break
res["writable_after"] = time.monotonic() - t0
res["wakes"] = wakes
res["so_error"] = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
res["so_error_again"] = s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
s.close()
# the next connect is not faulted
c = socket.create_connection(("127.0.0.1", port), timeout=2)
c.sendall(b"after\n")
res["next"] = c.recv(100).decode()
c.close()
print(json.dumps(res))
PY
jf() { $PY -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }

# control without the shim: connected at once, SO_ERROR 0
$PY "$T/client.py" select "$P" >"$T/ctl.out"
eq "$(jf "$T/ctl.out" so_error)" 0 "control SO_ERROR"
le "$(jf "$T/ctl.out" writable_after)" 0.4 "control seconds to writability"

for how in select poll epoll; do
  "$FL" run -p "$T/p.json" -o "$T/$how.jsonl" -- $PY "$T/client.py" "$how" "$P" >"$T/$how.out" || fail "$how client failed"
  say "$how: $(cat "$T/$how.out")"
  eq "$(jf "$T/$how.out" connect_ex)" EINPROGRESS "$how: connect_ex"
  ge "$(jf "$T/$how.out" writable_after)" 0.5 "$how: seconds to writability"
  le "$(jf "$T/$how.out" writable_after)" 1.2 "$how: seconds to writability"
  eq "$(jf "$T/$how.out" wakes)" 1 "$how: wake-ups (no early return of 0)"
  eq "$(jf "$T/$how.out" so_error)" 110 "$how: SO_ERROR (ETIMEDOUT)"
  eq "$(jf "$T/$how.out" so_error_again)" 0 "$how: SO_ERROR read twice (reported once)"
  eq "$(jf "$T/$how.out" next)" "after" "$how: the next connection"
  eq "$(jcount "$T/$how.jsonl" 'r["type"]=="fault" and r["kind"]=="fault"')" 1 "$how: faults"
  eq "$(jcount "$T/$how.jsonl" 'r["type"]=="fault" and r["kind"]=="fault" and r["op"]=="connect" and r["fault"]=="timeout" and r["nth"]==1 and r["errno"]=="EINPROGRESS" and abs(r["value_ms"]-500)<0.001')" 1 "$how: timeout record"
done
say "ok"

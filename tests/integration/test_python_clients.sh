#!/usr/bin/env bash
# /usr/bin/python3 socket clients under a recv delay: a blocking socket
# sleeps in recv; a socket with settimeout() learns the delay through poll(),
# which must neither return 0 early nor sleep past Python's own timeout; a
# selectors (epoll) client sees readability only when the delay is due.
source "$(dirname "$0")/lib.sh"
need "$PY" "$FL" "$SHIM"

P=$(free_port)
serve echo echo "$P"

cat >"$T/client.py" <<'PY'
import json, selectors, socket, sys, time
mode, port = sys.argv[1], int(sys.argv[2])
line = b"x" * 9000 + b"\n"          # longer than one segment
s = socket.create_connection(("127.0.0.1", port))
res = {"mode": mode}
def read_line(sock):
    buf = b""
    while not buf.endswith(b"\n"):
        c = sock.recv(65536)
        if not c:
            break
        buf += c
    return buf
if mode == "blocking":
    t0 = time.monotonic(); s.sendall(line)
    data = read_line(s)
    res.update(dt=time.monotonic() - t0, ok=data == line)
elif mode == "timeout":
    s.settimeout(float(sys.argv[3]))
    t0 = time.monotonic(); s.sendall(line)
    try:
        data = read_line(s)
        res.update(dt=time.monotonic() - t0, ok=data == line, timed_out=False)
    except socket.timeout:
        res.update(dt=time.monotonic() - t0, ok=False, timed_out=True)
elif mode == "selectors":
    s.setblocking(False)
    sel = selectors.DefaultSelector()
    res["selector"] = type(sel).__name__
    sel.register(s, selectors.EVENT_READ)
    t0 = time.monotonic(); s.sendall(line)
    buf, wakes, eagain, first_data = b"", [], 0, None
    while not buf.endswith(b"\n") and time.monotonic() - t0 < 5:
        ev = sel.select(timeout=5)
        wakes.append(round(time.monotonic() - t0, 4))
        if not ev:
            continue
        try:
            c = s.recv(65536)
        except BlockingIOError:
            eagain += 1
            continue
        if first_data is None:
            first_data = time.monotonic() - t0
        if not c:
            break
        buf += c
    res.update(dt=time.monotonic() - t0, first_data=first_data, wakes=wakes,
               eagain=eagain, ok=buf == line)
print(json.dumps(res))
PY

# jf FILE KEY — a field of the client's JSON result
jf() { $PY -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }

prof() { # NAME DELAY_MS
  profile "$T/$1.json" <<JSON
{"faultline": 1, "seed": 5, "targets": {"echo": {"tcp": "127.0.0.1:$P"}},
 "rules": [{"target": "echo", "op": "recv", "nth": "1", "fault": "delay", "ms": $2}]}
JSON
}

# control run without the shim: all modes are fast
for m in blocking selectors; do
  $PY "$T/client.py" $m "$P" >"$T/ctl-$m.out"
  eq "$(jf "$T/ctl-$m.out" ok)" True "control $m data"
  le "$(jf "$T/ctl-$m.out" dt)" 0.3 "control $m seconds"
done

# 1. blocking socket, recv delay 600 ms → the first recv sleeps 600 ms
prof blk 600
"$FL" run -p "$T/blk.json" -o "$T/blk.jsonl" -- $PY "$T/client.py" blocking "$P" >"$T/blk.out"
say "blocking: $(cat "$T/blk.out")"
eq "$(jf "$T/blk.out" ok)" True "blocking: data intact"
ge "$(jf "$T/blk.out" dt)" 0.6 "blocking: seconds to the reply"
le "$(jf "$T/blk.out" dt)" 1.5 "blocking: seconds to the reply"
eq "$(jcount "$T/blk.jsonl" 'r["type"]=="fault" and r["kind"]=="fault" and r["op"]=="recv" and r["fault"]=="delay" and r["nth"]==1')" 1 "blocking: fault record"

# 2. settimeout(0.2), delay 1000 → socket.timeout after >= 0.2 s and < 0.8 s
prof to 1000
"$FL" run -p "$T/to.json" -o "$T/to.jsonl" -- $PY "$T/client.py" timeout "$P" 0.2 >"$T/to.out"
say "settimeout(0.2): $(cat "$T/to.out")"
eq "$(jf "$T/to.out" timed_out)" True "settimeout(0.2): socket.timeout raised"
ge "$(jf "$T/to.out" dt)" 0.2 "settimeout(0.2): seconds before the timeout (poll returned 0 early?)"
le "$(jf "$T/to.out" dt)" 0.8 "settimeout(0.2): seconds before the timeout (slept past Python's timeout?)"
eq "$(jcount "$T/to.jsonl" 'r["type"]=="fault" and r["kind"]=="fault" and r["op"]=="recv" and r["fault"]=="delay" and r["errno"]=="EAGAIN"')" 1 "settimeout(0.2): one readiness-delay record"

# 3. settimeout(2), delay 500 → the data comes after >= 0.5 s
prof to2 500
"$FL" run -p "$T/to2.json" -o "$T/to2.jsonl" -- $PY "$T/client.py" timeout "$P" 2 >"$T/to2.out"
say "settimeout(2): $(cat "$T/to2.out")"
eq "$(jf "$T/to2.out" timed_out)" False "settimeout(2): no timeout"
eq "$(jf "$T/to2.out" ok)" True "settimeout(2): data intact"
ge "$(jf "$T/to2.out" dt)" 0.5 "settimeout(2): seconds to the data"
le "$(jf "$T/to2.out" dt)" 1.5 "settimeout(2): seconds to the data"

# 4. selectors (epoll), delay 700 → no readable wake-up with data before 0.7 s,
#    at most one EAGAIN (the call that took the fault), then the whole line
prof sel 700
"$FL" run -p "$T/sel.json" -o "$T/sel.jsonl" -- $PY "$T/client.py" selectors "$P" >"$T/sel.out"
say "selectors: $(cat "$T/sel.out")"
eq "$(jf "$T/sel.out" selector)" EpollSelector "selector class"
eq "$(jf "$T/sel.out" ok)" True "selectors: the whole line was read"
ge "$(jf "$T/sel.out" first_data)" 0.7 "selectors: seconds to the first data"
le "$(jf "$T/sel.out" first_data)" 1.6 "selectors: seconds to the first data"
le "$(jf "$T/sel.out" eagain)" 1 "selectors: spurious wake-ups (recv EAGAIN)"
$PY - "$T/sel.out" <<'PY' || fail "selectors: select() woke while the fd was hidden"
import json, sys
r = json.load(open(sys.argv[1]))
# every wake-up after the first (the fault's own EAGAIN) is at or past the delay
late = [w for w in r["wakes"][1:] if w < 0.7]
sys.exit(1 if late else 0)
PY
eq "$(jcount "$T/sel.jsonl" 'r["type"]=="fault" and r["kind"]=="fault" and r["op"]=="recv" and r["fault"]=="delay" and r["nth"]==1')" 1 "selectors: fault record"
say "ok"

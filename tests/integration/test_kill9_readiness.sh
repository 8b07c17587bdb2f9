#!/usr/bin/env bash
# Dead-man switch and abort for delays on NON-BLOCKING sockets (curl, nginx,
# redis, Python with a timeout, selectors): such a delay is a hidden
# readiness, not a sleep. README ("Safety"): "a controller killed with -9
# stops all faults within 100 ms"; "faultline abort, SIGINT and SIGTERM clear
# every fault at once". So a 4000 ms recv delay that is hidden from
# epoll/poll when the controller dies (kill -9) or the drill is aborted must
# end within ~100 ms (we allow 300 ms), not when the 4 s are over.
source "$(dirname "$0")/lib.sh"
need "$PY" "$FL" "$SHIM"

P=$(free_port)
COUNT=40
serve feed feed "$P" "$COUNT" 50
profile "$T/p.json" <<JSON
{"faultline": 1, "seed": 1, "targets": {"feed": {"tcp": "127.0.0.1:$P"}},
 "rules": [{"target": "feed", "op": "recv", "fault": "delay", "ms": 4000}]}
JSON

# how: epoll (selectors, non-blocking socket) or poll (settimeout → poll)
cat >"$T/client.py" <<'PY'
import selectors, socket, sys, time
how, port, log, count = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
s = socket.create_connection(("127.0.0.1", port))
data = b""
with open(log, "w") as f:
    if how == "epoll":
        s.setblocking(False)
        sel = selectors.DefaultSelector()
        sel.register(s, selectors.EVENT_READ)
    else:
        s.settimeout(10)
    while True:
        if how == "epoll":
            sel.select(10)
            try:
                c = s.recv(4096)
            except BlockingIOError:
                continue
        else:
            c = s.recv(4096)
        print("%d %d" % (time.time() * 1000, len(c)), file=f, flush=True)
        if not c:
            break
        data += c
ok = data.decode().splitlines() == ["tick %d" % i for i in range(count)]
sys.exit(0 if ok else 3)
PY

# wait_fault TIMELINE — until the delay fault is in the timeline (bounded)
wait_fault() {
  local i
  for i in $(seq 1 200); do
    [ -s "$1" ] && [ "$(jcount "$1" 'r["type"]=="fault" and r.get("kind")=="fault"')" -ge 1 ] && return 0
    msleep 25
  done
  fail "no fault in $1"
}

check_after() { # NAME KILL_MS
  local name=$1 k=$2 i
  for i in $(seq 1 200); do [ -s "$T/$name.rc" ] && break; msleep 50; done
  [ -s "$T/$name.rc" ] || fail "$name: the SUT did not finish"
  eq "$(cat "$T/$name.rc")" 0 "$name: SUT exit status (all lines, in order)"
  $PY - "$T/$name.log" "$k" "$name" <<'PY' || bad+=("$name")
import sys
k, name = int(sys.argv[2]), sys.argv[3]
t = [int(l.split()[0]) - k for l in open(sys.argv[1])]
print("%s: recv returns (ms from the kill/abort): %s" % (name, t[:8]), file=sys.stderr)
after = [x for x in t if x >= 0]
assert len(t) == len(after), "data before the kill/abort: the delay did not hold"
assert after[0] <= 300, "first data %d ms after the kill/abort (the rule's 4000 ms ran out instead)" % after[0]
PY
}
bad=()

for how in epoll poll; do
  # kill -9 of the controller
  name=kill-$how
  bg_fl "$FL" run -p "$T/p.json" -o "$T/$name.jsonl" -- sh -c "$PY $T/client.py $how $P $T/$name.log $COUNT; echo \$? >$T/$name.rc"
  CTL=$!
  wait_fault "$T/$name.jsonl"
  msleep 300
  K=$(now_ms); kill -9 "$CTL"; wait "$CTL" 2>/dev/null || true
  check_after "$name" "$K"
  ctl=$($PY -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["ctl"])' "$T/$name.jsonl")
  case $ctl in /tmp/faultline.*/ctl) rm -rf "$(dirname "$ctl")" ;; esac

  # faultline abort (the run goes on, faults stop)
  name=abort-$how
  bg_fl "$FL" run --ctl "$T/$name.ctl" -p "$T/p.json" -o "$T/$name.jsonl" -- sh -c "$PY $T/client.py $how $P $T/$name.log $COUNT; echo \$? >$T/$name.rc"
  RUN=$!
  wait_fault "$T/$name.jsonl"
  msleep 300
  K=$(now_ms); "$FL" abort --ctl "$T/$name.ctl" || fail "faultline abort failed"
  check_after "$name" "$K"
  rc=0; wait "$RUN" || rc=$?
  eq "$rc" 0 "$name: faultline run exit status"
done
[ ${#bad[@]} -eq 0 ] || fail "the readiness delay outlived the faults in: ${bad[*]}"
say "ok"

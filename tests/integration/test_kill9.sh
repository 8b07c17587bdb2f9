#!/usr/bin/env bash
# Dead-man switch: a python3 client loops recv on a feed server (a line every
# 50 ms) under a 300 ms recv delay. kill -9 of the faultline controller (not
# the SUT), once three delayed recvs returned: within ~100 ms (heartbeat stale bound 75 ms + a 20 ms sleep
# slice; we allow 300 ms of measurement slack) the recv being delayed returns
# and later recvs are not delayed; the SUT keeps running, loses no data, and
# exits 0.
source "$(dirname "$0")/lib.sh"
need "$PY" "$FL" "$SHIM"

P=$(free_port)
COUNT=50
serve feed feed "$P" "$COUNT" 50
profile "$T/p.json" <<JSON
{"faultline": 1, "seed": 1, "targets": {"feed": {"tcp": "127.0.0.1:$P"}},
 "rules": [{"target": "feed", "op": "recv", "fault": "delay", "ms": 300}]}
JSON

# the client prints the wall-clock time (ms) of every recv that returned
cat >"$T/client.py" <<'PY'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
data = b""
with open(sys.argv[2], "w") as log:
    while True:
        c = s.recv(4096)
        print("%d %d" % (time.time() * 1000, len(c)), file=log, flush=True)
        if not c:
            break
        data += c
lines = data.decode().splitlines()
sys.exit(0 if lines == ["tick %d" % i for i in range(int(sys.argv[3]))] else 3)
PY

# the SUT is sh (so its exit status outlives the controller), python its child
bg_fl "$FL" run -p "$T/p.json" -o "$T/tl.jsonl" -- sh -c "$PY $T/client.py $P $T/recv.log $COUNT; echo \$? >$T/rc" 2>"$T/fl.err"
CTL=$!
# three delayed recvs returned: faults were on before the kill
wait_until 20 has_lines "$T/recv.log" 4 || fail "the client's recvs never returned"
SUT=$(child_of "$CTL")
[ -n "$SUT" ] || fail "no SUT under the controller"
K=$(now_ms)
kill -9 "$CTL"
wait "$CTL" 2>/dev/null || true
say "controller $CTL killed at $K; SUT $SUT keeps running"

# wait (bounded) for the SUT to finish on its own
wait_until 10 test -s "$T/rc" || fail "the SUT did not finish after the controller died"
eq "$(cat "$T/rc")" 0 "SUT exit status (all $COUNT lines, in order)"

# recv returns relative to the kill
$PY - "$T/recv.log" "$K" <<'PY' || fail "recvs after the controller's death"
import sys
k = int(sys.argv[2])
t = [int(l.split()[0]) - k for l in open(sys.argv[1])]
print("recv returns (ms from kill):", t, file=sys.stderr)
before = [x for x in t if x < 0]
after = [x for x in t if x >= 0]
gaps_before = [b - a for a, b in zip(before, before[1:])]
# faults were on before the kill: recvs returned ~300 ms apart
assert len(before) >= 3 and all(g >= 280 for g in gaps_before), "no delay before the kill"
# the delayed recv in progress at the kill returned soon after it
assert after and after[0] <= 300, "first recv after the kill at %d ms" % after[0]
# and every later recv is undelayed: it returns as the feed's lines arrive
late = [b - a for a, b in zip(after, after[1:]) if a >= 300]
# a delayed recv would leave a gap >= 300 ms; the feed sends every 50 ms
assert all(g < 280 for g in late), "a recv was still delayed after the kill: gaps %s" % late
assert len(after) >= 5, "too few recvs after the kill"
PY

# the timeline has what the controller drained before it died: only delays
ge "$(jcount "$T/tl.jsonl" 'r["type"]=="fault" and r["kind"]=="fault" and r["op"]=="recv" and r["fault"]=="delay"')" 2 "delay records before the kill"
eq "$(jcount "$T/tl.jsonl" 'r["type"]=="exit"')" 0 "exit records (the controller was killed)"
# the dead controller leaves only its socket (no file to map, nothing else)
ctl=$($PY -c 'import json,sys; print(json.loads(open(sys.argv[1]).readline())["ctl"])' "$T/tl.jsonl")
[ -S "$ctl" ] || fail "the killed controller's socket $ctl is not there"
case $ctl in */faultline.*.ctl) ;; *) fail "unexpected private path $ctl" ;; esac
# and the next run removes it (nobody answers there)
"$FL" run -q -- true || fail "next run"
[ ! -e "$ctl" ] || fail "the next run did not clean the dead controller's socket $ctl"
say "ok"

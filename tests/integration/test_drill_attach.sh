#!/usr/bin/env bash
# `faultline drill` on a process that was already running: a python3 feed
# client is started with the shim preloaded and FAULTLINE_CTL pointing at a
# block that does not exist yet (as a systemd unit would be). It runs
# undisturbed; a drill appears, the running process attaches (an "attach"
# record, its recvs delayed) without a restart; `faultline abort` returns it
# to normal within 100 ms (asserted <= 150 ms after abort returned, for
# measurement slack); the drill exits 0, the client keeps running; a second
# drill at the same path is attached by the same process; the client exits 0
# with every line in order. (The --user half is test_drill_attach_user.sh.)
source "$(dirname "$0")/lib.sh"
need "$PY" "$FL" "$SHIM"

DELAY=800
FEED_MS=50

# wait_for SECONDS CMD… — poll a condition every 10 ms, at most SECONDS.
wait_for() {
  local end=$(( $(now_ms) + $1 * 1000 )); shift
  until "$@"; do
    [ "$(now_ms)" -lt "$end" ] || return 1
    sleep 0.01
  done
}
lines_ge() { [ -f "$1" ] && [ "$(wc -l <"$1")" -ge "$2" ]; }
attached() { [ -f "$1" ] && [ "$(jcount "$1" "r['type']=='attach' and r['pid']==$2")" -ge 1 ]; }
delays_ge() { [ -f "$1" ] && [ "$(jcount "$1" "r['type']=='fault' and r['kind']=='fault' and r['pid']==$2 and r['fault']=='delay'")" -ge "$3" ]; }

# The client: an event loop's readiness wait (poll) on a blocking socket, then
# recv; it logs the wall-clock time (ms) of every recv that returned, and
# exits 0 only if it got every line of the feed, in order.
cat >"$T/client.py" <<'PY'
import os, select, socket, sys, time
port, log, count = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
with open(log + ".pid", "w") as f:
    print(os.getpid(), file=f)
s = socket.create_connection(("127.0.0.1", port))
p = select.poll()
p.register(s, select.POLLIN)
data = b""
with open(log, "w") as f:
    while True:
        p.poll(5000)
        c = s.recv(4096)
        print("%.3f %d" % (time.time() * 1000, len(c)), file=f, flush=True)
        if not c:
            break
        data += c
sys.exit(0 if data.decode().splitlines() == ["tick %d" % i for i in range(count)] else 3)
PY

P=$(free_port)
COUNT=300   # 15 s of feed
COUNT2=160  # 8 s
serve feed feed "$P" "$COUNT" "$FEED_MS"
profile "$T/p.json" <<JSON
{"faultline": 1, "seed": 3, "targets": {"feed": {"tcp": "127.0.0.1:$P"}},
 "rules": [{"target": "feed", "op": "recv", "fault": "delay", "ms": $DELAY}]}
JSON

say "== a running process attaches to a drill, abort returns it to normal"
CTL=$T/wallet.ctl
(LD_PRELOAD=$SHIM FAULTLINE_CTL=$CTL "$PY" "$T/client.py" "$P" "$T/recv.log" "$COUNT"; echo $? >"$T/client.rc") &
_pids+=($!)
wait_for 20 lines_ge "$T/recv.log" 10 || fail "the client never read its feed"
CPID=$(cat "$T/recv.log.pid")
[ ! -e "$CTL" ] || fail "a block exists before the drill"
D0=$(now_ms)

bg "$FL" drill -p "$T/p.json" --ctl "$CTL" -o "$T/tl.jsonl" 2>"$T/drill.err"
DPID=$!
wait_for 20 attached "$T/tl.jsonl" "$CPID" || { cat "$T/drill.err" >&2; fail "the running client never attached"; }
say "client $CPID attached"
wait_for 20 delays_ge "$T/tl.jsonl" "$CPID" 4 || fail "no delays after attaching"
eq "$(stat -c %a "$CTL")" 600 "block mode"
kill -0 "$CPID" 2>/dev/null || fail "the client is gone"

# abort just after a delayed recv returned: the next one has just begun its
# DELAY ms, so only a wake-up can make it return within 150 ms
n=$(wc -l <"$T/recv.log")
wait_for 10 lines_ge "$T/recv.log" $((n + 1)) || fail "the client stopped reading"
A0=$(now_ms)
"$FL" abort --ctl "$CTL" || fail "abort failed"
A1=$(now_ms)
say "abort ran from $A0 to $A1 ($((A1 - A0)) ms)"
rc=0; wait "$DPID" || rc=$?
eq "$rc" 0 "drill exit status after abort"
eq "$(jcount "$T/tl.jsonl" 'r["type"]=="abort"')" 1 "abort record"
[ ! -e "$CTL" ] || fail "the drill left its block behind"

# the next drill at the same path (nothing restarted): the same process attaches again
n=$(wc -l <"$T/recv.log")
wait_for 20 lines_ge "$T/recv.log" $((n + 30)) || fail "the client stopped reading after the abort"
D2=$(now_ms)
bg "$FL" drill -p "$T/p.json" --ctl "$CTL" -o "$T/tl2.jsonl" 2>"$T/drill2.err"
DPID=$!
wait_for 20 attached "$T/tl2.jsonl" "$CPID" || { cat "$T/drill2.err" >&2; fail "the client did not attach to the next drill"; }
wait_for 20 delays_ge "$T/tl2.jsonl" "$CPID" 2 || fail "no delays in the next drill"
"$FL" abort --ctl "$CTL" || fail "abort of the next drill failed"
rc=0; wait "$DPID" || rc=$?
eq "$rc" 0 "next drill's exit status after abort"

wait_for 30 test -s "$T/client.rc" || fail "the client did not finish after the drill"
eq "$(cat "$T/client.rc")" 0 "client exit status (all $COUNT lines, in order)"

$PY - "$T/recv.log" "$D0" "$A0" "$A1" "$D2" "$DELAY" "$FEED_MS" <<'PY' || fail "recv timing"
import sys
log, d0, a0, a1, d2, delay, feed = sys.argv[1], *map(float, sys.argv[2:])
t = [float(l.split()[0]) for l in open(log)]
gaps = lambda xs: [b - a for a, b in zip(xs, xs[1:])]
before = [x for x in t if x < d0]
during = [x for x in t if d0 <= x < a0]
after = [x for x in t if a0 <= x < d2]
# before the drill: recvs follow the feed (one line every 50 ms)
g = gaps(before)
print("before the drill: %d recvs, max gap %.0f ms" % (len(before), max(g)), file=sys.stderr)
assert len(before) >= 10 and max(g) <= 3 * feed + 100, "recvs delayed before any drill"
# during: delayed recvs, DELAY apart
g = [x for x in gaps(during) if x >= delay - 20]
print("during the drill: %d recvs, %d of them >= %d ms apart" % (len(during), len(g), delay - 20), file=sys.stderr)
assert len(g) >= 3, "the attached client's recvs were not delayed"
# after the abort: the recv being delayed returns at once, the rest follow the feed
first = after[0] - a1
print("first recv after abort: %.1f ms after abort returned (%.1f after it began);"
      " it had been delayed for %.1f ms" % (first, after[0] - a0, after[0] - during[-1]), file=sys.stderr)
assert first <= 150, "first recv after abort came %.1f ms after abort returned" % first
assert after[0] - during[-1] <= delay - 300, "the recv in progress was not cut short"
late = gaps([x for x in after if x >= after[0] + delay])
print("after: %d recvs, max gap %.0f ms once the backlog was read" % (len(after), max(late)), file=sys.stderr)
assert len(after) >= 10 and max(late) <= 3 * feed + 100, "a recv was still delayed after the abort"
PY
eq "$(jcount "$T/tl.jsonl" "r['type']=='fault' and r['kind']=='fault' and r['t_ms'] > $((A1 - D0)) + 1000")" 0 "faults after the abort"

say "ok"

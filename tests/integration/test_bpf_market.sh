#!/usr/bin/env bash
# The eBPF injectors follow the market, as shim rules do: in a scenario, a
# kernel rule's "when_signal" (and "scale") sets its probability tick by
# tick (the controller writes it into the injectors' mmaped .bss).
# A scenario of 180 s of market time at --speed 30 (6 s): venue "alpha" is
# down from 60 s to 120 s, so the signal venue_status is 3 there and 0
# elsewhere. Two kernel rules bound to it ("above": 0.5):
#  - a UDP packet drop (probability 1) on an echo server's port;
#  - a connect refusal (ECONNREFUSED) to a TCP server.
# The client, inside the run's cgroup, sends a datagram and makes a connect
# every 25 ms while it reads the ticks from FAULTLINE_MARKET; each exchange
# is put in the market state of its moment (exchanges within 300 ms of a
# change are left out). Up: every datagram answered, every connect made.
# Down: every datagram lost, every connect refused. Without the binding,
# the rules would drop and refuse always (probability 1), or the scenario
# would not load.
# Then the same for "scale" with a probability: the kernel's counts follow
# the intensity in the timeline (the tick records' intensities against the
# kernel records' injected counts).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/bpf_lib.sh"
need "$PY"

cat >"$T/client.py" <<'PY'
# client.py UDPPORT TCPPORT OUT: exchanges until the market reaches 170 s
import json, os, socket, sys, threading, time
up, tp, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
changes = []                      # (monotonic s, "down"/"up") as the ticks say
state = [None]
done = threading.Event()
def market():
    m = socket.socket(socket.AF_UNIX); m.connect(os.environ["FAULTLINE_MARKET"])
    for line in m.makefile("r"):
        r = json.loads(line)
        if r["type"] == "end":
            break
        st = r["venues"]["alpha"]
        if st != state[0]:
            state[0] = st
            changes.append((time.monotonic(), st))
        if r["market_s"] >= 170:
            break
    done.set()
threading.Thread(target=market, daemon=True).start()
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.settimeout(0.02)
ex = []                           # (t, datagram answered, connect made)
seq = 0
deadline = time.monotonic() + 40
while not done.is_set() and time.monotonic() < deadline:
    t = time.monotonic()
    seq += 1
    u.sendto(b"%d" % seq, ("127.0.0.1", up))
    got = False
    try:
        while True:
            d = u.recv(64)
            if d == b"%d" % seq:
                got = True
                break
    except socket.timeout:
        pass
    c = socket.socket()
    try:
        c.connect(("127.0.0.1", tp)); ok = True
    except ConnectionRefusedError:
        ok = False
    c.close()
    ex.append((t, got, ok))
    time.sleep(0.005)
json.dump({"changes": changes, "ex": ex}, open(out, "w"))
PY

udp_serve 127.0.0.1
UP=$PORT
TP=$(free_port)
serve web echo "$TP"
cat >"$T/s.json" <<JSON
{"faultline": 1, "seed": 5,
 "targets": {"echo": {"udp": "127.0.0.1:$UP"}, "web": {"tcp": "127.0.0.1:$TP"}},
 "rules": [
  {"target": "echo", "op": "packet", "fault": "drop",
   "when_signal": {"signal": "venue_status", "above": 0.5}},
  {"target": "web", "op": "connect", "fault": "error", "errno": "ECONNREFUSED", "layer": "bpf",
   "when_signal": {"signal": "venue_status", "above": 0.5}}],
 "market": {"dt_ms": 100, "duration_s": 180,
   "venues": [{"name": "alpha", "weight": 0.5, "perp": true}, {"name": "beta", "weight": 0.5}],
   "shocks": [{"kind": "venue", "venue": "alpha", "status": "down", "at_s": 60, "dur_s": 60}]}}
JSON
"$FL" validate "$T/s.json" >/dev/null || fail "scenario with market-bound bpf rules invalid"
"$FL" run -s "$T/s.json" --speed 30 -o "$T/w.jsonl" -- $PY "$T/client.py" "$UP" "$TP" "$T/w.out" ||
  fail "run failed"
$PY - "$T/w.out" >"$T/w.res" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
ch, ex = r["changes"], r["ex"]
sts = [c[1] for c in ch]
assert "down" in sts and sts[-1] != "down", sts      # went down, came back
def state(t):
    s = None
    for tc, st in ch:
        if abs(t - tc) < 0.3:
            return None              # near a change: left out
        if tc <= t:
            s = st
    return s
n = {"up": [0, 0, 0], "down": [0, 0, 0]}   # exchanges, answered, connected
for t, got, ok in ex:
    s = state(t)
    if s is None:
        continue
    k = "down" if s == "down" else "up"
    n[k][0] += 1; n[k][1] += got; n[k][2] += ok
print(*n["up"], *n["down"])
PY
read -r nu au cu nd ad cd <"$T/w.res"
say "market up: $nu exchanges, $au answered, $cu connected; down: $nd, $ad answered, $cd connected"
ge "$nu" 20 "exchanges while the venue was up"
ge "$nd" 10 "exchanges while the venue was down"
eq "$au" "$nu" "datagrams answered while up (no drops at intensity 0)"
eq "$cu" "$nu" "connects made while up"
eq "$ad" 0 "datagrams answered while down (every one dropped)"
eq "$cd" 0 "connects made while down (every one refused)"
ge "$(jget "$T/w.jsonl" 's["per_rule"][0]["hits"]')" "$nd" "drop rule hits"
ge "$(jget "$T/w.jsonl" 's["per_rule"][1]["hits"]')" "$nd" "refusal rule hits"

# "scale" with a probability: the dropped share follows the intensity.
# Intensity 0 before 60 s, 1 from there (the signal steps 0 -> 3, scaled
# over lo 0, hi 3), probability 0.5: about half the datagrams are lost
# while down, none before; the tick records carry the intensities and the
# kernel records the drops, both in the timeline.
cat >"$T/scale.py" <<'PY'
import json, os, socket, sys, time
up, out = int(sys.argv[1]), sys.argv[2]
n_on = 0                          # datagrams sent once the venue was down
m = socket.socket(socket.AF_UNIX); m.connect(os.environ["FAULTLINE_MARKET"])
f = m.makefile("r")
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for line in f:
    r = json.loads(line)
    if r["type"] == "end" or r["market_s"] >= 110:
        break
    for i in range(4):
        u.sendto(b"x", ("127.0.0.1", up))
    n_on += 4 if r["venues"]["alpha"] == "down" else 0
open(out, "w").write("%d\n" % n_on)
PY
cat >"$T/s2.json" <<JSON
{"faultline": 1, "seed": 5,
 "targets": {"echo": {"udp": "127.0.0.1:$UP"}},
 "rules": [
  {"target": "echo", "op": "packet", "fault": "drop", "probability": 0.5,
   "scale": {"signal": "venue_status", "lo": 0, "hi": 3}}],
 "market": {"dt_ms": 100, "duration_s": 120,
   "venues": [{"name": "alpha", "weight": 0.5, "perp": true}, {"name": "beta", "weight": 0.5}],
   "shocks": [{"kind": "venue", "venue": "alpha", "status": "down", "at_s": 60, "dur_s": 60}]}}
JSON
"$FL" run -s "$T/s2.json" --speed 30 --ticks-every 100 -o "$T/s2.jsonl" -- $PY "$T/scale.py" "$UP" "$T/s2.sent" ||
  fail "scale run failed"
$PY - "$T/s2.jsonl" >"$T/s2.res" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
# the run time (a tick's at_ms; its t_ms is market time) the intensity
# first went above 0
on = min(r["at_ms"] for r in recs if r["type"] == "tick" and any(v > 0 for v in r.get("intensity", {}).values()))
before = sum(r.get("injected", {}).get("0", 0) for r in recs if r["type"] == "kernel" and r["t_ms"] < on - 50)
after = sum(r.get("injected", {}).get("0", 0) for r in recs if r["type"] == "kernel" and r["t_ms"] > on + 150)
s = [r for r in recs if r["type"] == "summary"][0]
print(before, after, s["per_rule"][0]["hits"])
PY
read -r before after hits <"$T/s2.res" || fail "no tick with a positive intensity in $T/s2.jsonl"
say "scale: drops before the intensity rose $before, after $after, in all $hits"
read -r sent <"$T/s2.sent"
say "scale: $sent datagrams sent while the venue was down"
eq "$before" 0 "drops before the signal rose"
ge "$sent" 100 "datagrams sent while down"
# probability 0.5 each way: half the datagrams lost on the way out, a
# quarter more as their echo comes back: ~0.75 of what was sent (1.0
# and more if the probability were not applied)
ge "$hits" "$(( sent * 55 / 100 ))" "drops at probability 0.5 (of $sent sent)"
le "$hits" "$(( sent * 92 / 100 ))" "drops at probability 0.5 (of $sent sent)"
pass=$(jget "$T/s2.jsonl" 'sum(1 for r in k)')
ge "$pass" 2 "kernel records"
say "ok"

#!/usr/bin/env bash
# bench_controller.sh — the controller at 1 kHz ticks, and the time from a
# tick's new intensity to the shim acting on it. Prints a markdown section.
#
#  - CPU: `faultline run -s bench/scenarios/step-1khz.json --duration 10`
#    (1 ms ticks at --speed 1) around `sleep 10`; CPU from getrusage of the
#    children (the sleep itself costs ~0), without and with a timeline
#    (a tick record per tick).
#  - Latency: a python3 loop writes to the targeted file as fast as it can;
#    the rule switches on at the tick where spot falls below 95 (a -10 %
#    jump at 2 s). latency = run time of the first injected fault minus the
#    run time that tick was published ("at_ms" of its tick record).
set -euo pipefail
cd "$(dirname "$0")/.."
O=${O:-build}
FL=$O/faultline
PY=/usr/bin/python3
SC=bench/scenarios/step-1khz.json
tmp=$(mktemp -d)
trap 'rm -rf "$tmp" /tmp/faultline-bench-ledger*' EXIT

# Steady state: CPU of a 12 s run minus a 2 s run, over the 10 s between
# (start-up — building the model and its ladder — cancels out).
cpu() { # args: extra faultline args -> "cpu_s wall_s"
  $PY - "$FL" "$SC" "$@" <<'EOF'
import resource, subprocess, sys, time
fl, sc, extra = sys.argv[1], sys.argv[2], sys.argv[3:]
def one(sec):
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    subprocess.run([fl, "run", "-s", sc, "--duration", str(sec), "-q", *extra,
                    "--", "sleep", str(sec)], check=True)
    wall = time.monotonic() - t0
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (ru.ru_utime + ru.ru_stime - before.ru_utime - before.ru_stime), wall
c2, w2 = one(2)
c12, w12 = one(12)
print("%.3f %.3f" % (c12 - c2, w12 - w2))
EOF
}

read -r c1 w1 < <(cpu)
read -r c2 w2 < <(cpu -o "$tmp/t.jsonl")
ticks=$(grep -c '"type":"tick"' "$tmp/t.jsonl" || true)

"$FL" run -s "$SC" --duration 4 -q -o "$tmp/lat.jsonl" -- $PY -c "
import os, time
fd = os.open('/tmp/faultline-bench-ledger', os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
end = time.monotonic() + 3.5
while time.monotonic() < end:
    os.pwrite(fd, b'x', 0)
"
lat=$($PY - "$tmp/lat.jsonl" <<'EOF'
import json, sys
on_at = first = None
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["type"] == "tick" and on_at is None and any(v > 0 for v in r.get("intensity", {}).values()):
        on_at = r.get("at_ms")
    if r["type"] == "fault" and r.get("kind") == "fault" and first is None:
        first = r["t_ms"]
print("%.3f" % (first - on_at) if on_at is not None and first is not None else "n/a")
EOF
)

pct() { awk -v c="$1" -v w="$2" 'BEGIN{printf "%.2f", 100*c/w}'; }
p1=$(pct "$c1" "$w1"); p2=$(pct "$c2" "$w2")
verdict() { awk -v v="$1" -v g="$2" 'BEGIN{ if (v == "n/a") print "?"; else print (v+0 <= g+0) ? "PASS" : "MISS"}'; }
cat <<EOF
### Controller (issue 4)

| what | measured | goal | |
|---|---|---|---|
| controller CPU at 1 kHz ticks, no timeline | ${p1} % of a core (${c1} s CPU over ${w1} s) | < 2 % | $(verdict "$p1" 2) |
| controller CPU at 1 kHz ticks, a tick record per tick | ${p2} % of a core (${ticks} tick records) | < 2 % | $(verdict "$p2" 2) |
| tick's new intensity → shim acting on it | ${lat} ms | ≤ 1 ms | $(verdict "$lat" 1) |

Method: \`bench/bench_controller.sh\` (see its header). The model step itself is in the market
table below; CPU includes the heartbeat (every 4 ms) and the journal drain.
EOF

#!/usr/bin/env bash
# The live status line, on a real pseudo-terminal (python3's pty module):
#  - stderr a tty: `faultline run -s` keeps one line up to date ("\r\e[K"
#    redraws): drill time, market time and phase (before / during / after
#    the gap), spot, liquidation rate, faults per target (rising), the
#    budget burning; every redraw fits the terminal's width (60 columns
#    here: the line is cut with "..."); the line is cleared before the end
#    summary;
#  - -q on the same tty: no status line;
#  - stderr a file: no status line, no escape sequence at all.
# The command is the test's own user program against a real echo server,
# with every recv delayed 2 ms and a p99 budget of 1 ms (so it burns). The
# gap's window ("during") lasts 360 market s, 0.6 s at --speed 600: more
# than two of the line's 250 ms redraws (a bare jump's 60 s, 0.1 s of wall
# time, could fall between two of them).
source "$(dirname "$0")/lib.sh"
need "$PY" "$FL" "$SHIM"
P=$(free_port)
serve echo echo "$P"
cat >"$T/s.json" <<JSON
{"faultline": 1, "seed": 4,
 "targets": {"echo": {"tcp": "127.0.0.1:$P"}},
 "rules": [{"target": "echo", "op": "recv", "fault": "delay", "ms": 2}],
 "market": {"dt_ms": 1000, "duration_s": 7200,
            "shocks": [{"kind": "jump", "at_s": 600, "return": -0.05},
                       {"kind": "flow", "leg": "perp", "at_s": 600, "dur_s": 360, "usd": -1000000}]},
 "budgets": {"probe_p99_ms": 1}}
JSON
"$FL" validate "$T/s.json" >/dev/null || fail "scenario invalid"
# users.py: requests until the market is past the gap (FAULTLINE_MARKET
# says so), each one a probe
cat >"$T/users.py" <<'PY'
import json, os, socket, time
port = int(os.environ["ECHO_PORT"])
ev = socket.socket(socket.AF_UNIX); ev.connect(os.environ["FAULTLINE_EVENTS"])
mk = socket.socket(socket.AF_UNIX); mk.connect(os.environ["FAULTLINE_MARKET"]); mk.setblocking(False)
s = socket.create_connection(("127.0.0.1", port)); f = s.makefile("rb")
buf, market_s, k = b"", 0.0, 0
while market_s < 1500:
    k += 1
    t0 = time.monotonic()
    s.sendall(b"r\n"); f.readline()
    ev.sendall((json.dumps({"type": "probe", "name": "echo", "ok": True,
        "latency_ms": (time.monotonic() - t0) * 1000}) + "\n").encode())
    try:
        buf += mk.recv(65536)
    except BlockingIOError:
        pass
    *lines, buf = buf.split(b"\n")
    for l in lines:
        r = json.loads(l)
        if r["type"] == "tick":
            market_s = r["market_s"]
    time.sleep(0.005)
PY
# ontty.py OUT ARGS... — run ARGS with stderr (and stdin) on a pty of 60
# columns, stdout to /dev/null; everything the pty got goes to OUT
cat >"$T/ontty.py" <<'PY'
import fcntl, os, pty, struct, subprocess, sys, termios
out, argv = sys.argv[1], sys.argv[2:]
m, sl = pty.openpty()
fcntl.ioctl(sl, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 60, 0, 0))
p = subprocess.Popen(argv, stdin=sl, stdout=subprocess.DEVNULL, stderr=sl)
os.close(sl)
data = b""
while True:
    try:
        b = os.read(m, 65536)
    except OSError:  # EIO: every slave end closed
        break
    if not b:
        break
    data += b
open(out, "wb").write(data)
sys.exit(p.wait())
PY
export ECHO_PORT=$P
rc=0
$PY "$T/ontty.py" "$T/tty.out" "$FL" run -s "$T/s.json" --speed 600 -o "$T/t.jsonl" -- $PY "$T/users.py" || rc=$?
eq "$rc" 3 "exit status (the p99 budget broke)"
$PY - "$T/tty.out" <<'PY' || fail "status line on a tty"
import re, sys
data = open(sys.argv[1], "rb").read().decode()
draws = data.split("\r\x1b[K")
lines = [d.split("\r")[0].split("\n")[0] for d in draws[1:]]
lines = [l for l in lines if l.startswith("faultline ")]
assert len(lines) >= 3, (len(lines), data[:2000])
for l in lines:
    assert len(l) <= 59, ("wider than the 60-column terminal", l)
assert any(l.endswith("...") for l in lines), "no line was cut"
# the full content, on a wide terminal, is checked by the next run
print(len(lines), "redraws, widest", max(map(len, lines)))
PY
# a wide terminal: every field
sed -i 's/24, 60, 0, 0/24, 400, 0, 0/' "$T/ontty.py"
rc=0
$PY "$T/ontty.py" "$T/wide.out" "$FL" run -s "$T/s.json" --speed 600 -o "$T/t2.jsonl" -- $PY "$T/users.py" || rc=$?
eq "$rc" 3 "exit status, wide terminal"
$PY - "$T/wide.out" <<'PY' || fail "status line fields"
import re, sys
data = open(sys.argv[1], "rb").read().decode()
lines = [d.split("\r")[0].split("\n")[0] for d in data.split("\r\x1b[K")[1:]]
lines = [l for l in lines if l.startswith("faultline ")]
pat = re.compile(r"^faultline (\d+\.\d)s \| market (\d+):(\d\d):(\d\d) (before|after)? ?the gap \| spot (\d+) \| liq \$[0-9.]+[kMB]?/s \| faults (?:0|echo (\d+))( \| burning: probe_p99_ms)?$")
seen, faults, times = set(), [], []
for l in lines:
    mo = pat.match(l)
    assert mo, ("unexpected status line", l)
    t, h, mi, s, ph, spot, n, burn = mo.groups()
    seen.add(ph or "during")
    if burn: seen.add("burning")
    assert int(spot) > 0
    faults.append(int(n or 0)); times.append(int(h) * 3600 + int(mi) * 60 + int(s))
assert faults == sorted(faults) and faults[-1] > faults[0], faults
assert times == sorted(times) and times[-1] >= 900, times
assert {"before", "during", "after", "burning"} <= seen, seen
# cleared before the summary: after the last erase comes faultline's own
# end of run text, not a status line
tail = data.split("\r\x1b[K")[-1]
assert tail.startswith("faultline: "), tail[:200]
print(len(lines), "redraws:", lines[len(lines) // 2])
PY
# -q on the tty: no status line
rc=0
$PY "$T/ontty.py" "$T/quiet.out" "$FL" run -q -s "$T/s.json" --speed 600 -o "$T/t3.jsonl" -- $PY "$T/users.py" || rc=$?
eq "$rc" 3 "exit status with -q"
if grep -q $'\e\[K' "$T/quiet.out"; then fail "-q: a status line was drawn"; fi
# stderr a file: nothing but plain lines
rc=0
"$FL" run -s "$T/s.json" --speed 600 -o "$T/t4.jsonl" -- $PY "$T/users.py" 2>"$T/file.err" </dev/null || rc=$?
eq "$rc" 3 "exit status, stderr a file"
if grep -q $'\e' "$T/file.err"; then fail "stderr a file: escape sequences in it"; fi
if grep -q $'\r' "$T/file.err"; then fail "stderr a file: carriage returns in it"; fi
has "$T/file.err" "budget probe_p99_ms"
say "PASS: the status line on a tty, within its width; none with -q or on a file"

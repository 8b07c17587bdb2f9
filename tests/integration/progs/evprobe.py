#!/usr/bin/python3
"""The tests' own probe (not the example's): plays a user against a line
echo server and reports each request to FAULTLINE_EVENTS.

    evprobe.py PORT N [--metric NAME=V] [--violate NAME] [--junk]
               [--mark TEXT] [--fail-every K] [--exit CODE] [--ready FILE]
               [--interval-ms MS]

N requests, one at a time; each one's latency (ms) and outcome go out as
{"type":"probe","name":"echo",...,"src":"evprobe"}. --fail-every K reports
every K-th request as failed. --junk first sends malformed lines, an
overlong line and a non-object. --ready FILE: wait until FILE exists
before the requests (so a test can act while the drill runs), after
writing "connected" to stdout. --interval-ms MS: a pause between requests
(so the probes span a scenario's market).
"""
import json, os, socket, sys, time

args = sys.argv[1:]
port, n = int(args[0]), int(args[1])
opts = {}
i = 2
while i < len(args):
    k = args[i]
    if k == "--junk":
        opts[k] = True
        i += 1
    else:
        opts.setdefault(k, []).append(args[i + 1])
        i += 2

ev = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
ev.connect(os.environ["FAULTLINE_EVENTS"])


def send(rec):
    ev.sendall((json.dumps(rec) + "\n").encode())


if "--junk" in opts:
    ev.sendall(b"not json\n[1,2]\n{\"type\":\"probe\",\"name\":\"x\"}\n")
    ev.sendall(b"{\"type\":\"metric\",\"name\":\"" + b"x" * 5000 + b"\",\"value\":1}\n")
    ev.sendall(b"{\"type\":\"nosuch\"}\n")
if "--ready" in opts:
    print("connected", flush=True)
    while not os.path.exists(opts["--ready"][0]):
        time.sleep(0.01)
s = socket.create_connection(("127.0.0.1", port))
f = s.makefile("rb")
every = int(opts.get("--fail-every", ["0"])[0])
pause = float(opts.get("--interval-ms", ["0"])[0]) / 1000
for k in range(1, n + 1):
    if pause and k > 1:
        time.sleep(pause)
    t0 = time.monotonic()
    s.sendall(b"req %d\n" % k)
    ok = f.readline() == b"req %d\n" % k
    lat = (time.monotonic() - t0) * 1000
    if every and k % every == 0:
        ok = False
    send({"type": "probe", "name": "echo", "ok": ok, "latency_ms": round(lat, 3), "src": "evprobe"})
for m in opts.get("--metric", []):
    name, v = m.split("=")
    send({"type": "metric", "name": name, "value": float(v)})
for name in opts.get("--violate", []):
    send({"type": "invariant", "name": name, "ok": False, "detail": "test says so"})
for text in opts.get("--mark", []):
    send({"type": "mark", "text": text})
ev.close()
sys.exit(int(opts.get("--exit", ["0"])[0]))

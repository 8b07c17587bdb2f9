#!/usr/bin/env bash
# Every injected fault has its record in the timeline (README: "one fault
# record per injected fault"), including one whose delay was still running
# when the program gave up on it and exited — the case a drill exists for:
#  1. curl resolves a host name in a resolver thread; a resolve timeout of
#     3000 ms vs curl --connect-timeout 1 → curl exits 28 after ~1 s (right),
#     and the resolve fault must be in the timeline;
#  2. python3 blocked in recv under a 3000 ms delay is ended by its own
#     alarm(1) → exit 142, and the recv fault must be in the timeline.
# In both, summary.faults (the rules' hit counts) must equal the records.
source "$(dirname "$0")/lib.sh"
need curl getent "$PY" "$FL" "$SHIM"

P=$(free_port)
serve web http "$P"
E=$(free_port)
serve echo echo "$E"

bad=()
complete() { # NAME TIMELINE — records == summary.faults, >= 1
  local recs sum
  recs=$(jcount "$2" 'r["type"]=="fault" and r.get("kind")=="fault"')
  sum=$($PY -c 'import json,sys; print([r for r in map(json.loads, open(sys.argv[1])) if r["type"]=="summary"][0]["faults"])' "$2")
  say "$1: $recs fault records, summary.faults=$sum"
  { [ "$recs" = "$sum" ] && [ "$recs" -ge 1 ]; } || bad+=("$1 (records $recs, summary $sum)")
}

# 1. curl: resolve timeout in its resolver thread. It needs a host name that
#    resolves to loopback through getaddrinfo (/etc/hosts) — curl resolves
#    "localhost" itself — so it runs only where the host name does.
H=$(hostname)
case $(getent hosts "$H" | awk '{print $1; exit}') in
  127.*)
    eq "$(curl -s -m 5 "http://$H:$P/")" "hello from faultline tests" "curl by host name without faults"
    profile "$T/dns.json" <<JSON
{"faultline": 1, "seed": 1, "targets": {"dns": {"host": "$H"}},
 "rules": [{"target": "dns", "op": "resolve", "nth": "1", "fault": "timeout", "ms": 3000}]}
JSON
    t0=$(now_ms)
    rc=0; "$FL" run -p "$T/dns.json" -o "$T/dns.jsonl" -- curl -s -m 5 --connect-timeout 1 "http://$H:$P/" >/dev/null || rc=$?
    dt=$(( $(now_ms) - t0 ))
    say "curl under a resolve timeout: rc=$rc after $dt ms"
    eq "$rc" 28 "curl exit status (resolve timed out)"
    le "$dt" 2000 "ms to curl's exit (--connect-timeout 1 bounds the resolve)"
    complete curl-resolve "$T/dns.jsonl"
    ;;
  *) say "NOTE: host name $H does not resolve to loopback: curl part not run" ;;
esac

# 2. python3: blocking recv delay cut short by the program's own alarm
profile "$T/recv.json" <<JSON
{"faultline": 1, "seed": 1, "targets": {"echo": {"tcp": "127.0.0.1:$E"}},
 "rules": [{"target": "echo", "op": "recv", "nth": "1", "fault": "delay", "ms": 3000}]}
JSON
rc=0
"$FL" run -p "$T/recv.json" -o "$T/recv.jsonl" -- $PY -c "
import signal, socket
signal.alarm(1)
s = socket.create_connection(('127.0.0.1', $E))
s.sendall(b'x\n')
print(s.recv(10))" >/dev/null || rc=$?
eq "$rc" 142 "python3 exit status (SIGALRM)"
complete python-recv "$T/recv.jsonl"

[ ${#bad[@]} -eq 0 ] || fail "faults missing from the timeline: ${bad[*]}"
say "ok"

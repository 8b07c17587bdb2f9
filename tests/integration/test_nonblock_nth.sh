#!/usr/bin/env bash
# A non-blocking receive is counted only when it finds something, and the
# shim asks the kernel nothing of its own to know that: a call whose number
# no rule can fire is made first and counted after (it used to be preceded
# by a recv(MSG_PEEK) of the shim's own — a system call per read of every
# polling server, redis's ×1.2 CPU per request under an armed profile).
# Only a call whose number may fire is peeked first. A python3 client
# polls a non-blocking socket (most of its recvs find nothing), and the
# 40th recv that finds data gets the rule's ECONNRESET: nth as counted by
# the kernel's answers, not by how often the program polled.
source "$(dirname "$0")/lib.sh"
need "$PY" "$FL" "$SHIM" strace
pe=$(free_port)
serve echo echo "$pe"
profile "$T/p.json" <<EOF
{"faultline": 1, "targets": {"echo": {"tcp": "127.0.0.1:$pe"}},
 "rules": [{"target": "echo", "op": "recv", "nth": "40", "fault": "error", "errno": "ECONNRESET"}]}
EOF
cat >"$T/c.py" <<PY
import select, socket
s = socket.create_connection(("127.0.0.1", $pe)); s.setblocking(False)
polls = got = 0
def poll_empty():
    global polls
    try:
        s.recv(16)  # nothing was sent: finds nothing
    except BlockingIOError:
        polls += 1
for i in range(60):
    poll_empty(); poll_empty()
    s.send(b"y\\n")
    line = b""
    while not line.endswith(b"\\n"):
        try:
            line += s.recv(16)  # at once: the echo is rarely back yet
        except BlockingIOError:
            polls += 1
            if not select.select([s], [], [], 5)[0]:
                raise SystemExit("no echo in 5 s")
            continue
        except ConnectionResetError:
            print("reset at", got + 1, "after", polls, "empty polls", flush=True)
            raise SystemExit(0)
        got += 1
print("no reset after", got, flush=True)
PY
"$FL" run -p "$T/p.json" -o "$T/t.jsonl" -- strace -f -qq -o "$T/st" -e trace=recvfrom \
  "$PY" "$T/c.py" >"$T/out" || fail "client"
cat "$T/out" >&2
has "$T/out" "reset at 40 " "the 40th receive that found data was reset"
polls=$(awk '{print $5}' "$T/out")
ge "$polls" 1 "empty polls before the reset (the client polled)"
eq "$(jcount "$T/t.jsonl" 'r["type"]=="fault" and r["op"]=="recv" and r["nth"]==40')" 1 "the fault record names nth 40"
peeks=$(grep -c MSG_PEEK "$T/st" || true)
say "MSG_PEEK calls of the shim's own: $peeks (for $polls empty polls and 40 receives)"
# only the calls at the firing number (its empty polls and itself) peek
le "$peeks" $((polls + 1)) "peeks"
eq "$(awk '!/MSG_PEEK/ && /recvfrom\(/ && $NF ~ /^[1-9]/' "$T/st" | wc -l)" 39 "receives that found data before the reset"
say "ok"

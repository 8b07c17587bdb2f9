#!/usr/bin/env bash
# A decided call asks the kernel nothing of the shim's own: O_NONBLOCK, the
# socket type and SO_*TIMEO are cached where they are set (socket, accept4,
# fcntl, ioctl, setsockopt, dup*). Counted with strace, which does not
# depend on timing: 300 decided send/recv pairs on a blocking and on a
# non-blocking socket, and 100 connects to an untargeted address while a
# socket target exists. The shim used to ask fcntl(F_GETFL) on every
# decided recv, and getsockopt(SO_TYPE) on every connect.
source "$(dirname "$0")/lib.sh"
need "$PY" "$FL" "$SHIM" strace
pe=$(free_port); pu=$(free_port)
serve echo echo "$pe"
serve other echo "$pu"
profile "$T/p.json" <<EOF
{"faultline": 1, "targets": {"echo": {"tcp": "127.0.0.1:$pe"}},
 "rules": [{"target": "echo", "op": "recv", "nth": "1000000000", "fault": "delay", "ms": 10},
           {"target": "echo", "op": "send", "nth": "1000000000", "fault": "delay", "ms": 10},
           {"target": "echo", "op": "connect", "nth": "1000000000", "fault": "delay", "ms": 10}]}
EOF
cat >"$T/c.py" <<PY
import select, socket
s = socket.create_connection(("127.0.0.1", $pe))
for i in range(300):
    s.sendall(b"x\n"); s.recv(2)
n = socket.create_connection(("127.0.0.1", $pe)); n.setblocking(False)
for i in range(300):
    n.send(b"y\n"); select.select([n], [], [], 5); n.recv(2)
for i in range(100):
    socket.create_connection(("127.0.0.1", $pu)).close()
print("done")
PY
"$FL" run -p "$T/p.json" -o "$T/t.jsonl" -- strace -f -qq -c -o "$T/sc" \
  -e trace=fcntl,getsockopt,getpeername "$PY" "$T/c.py" >"$T/out" || fail "client"
has "$T/out" done "client output"
cat "$T/sc" >&2
count() { awk -v s="$1" '$NF == s { print $4; f = 1 } END { if (!f) print 0 }' "$T/sc"; }
for sc in fcntl getsockopt getpeername; do
  say "$sc: $(count $sc) calls"
  le "$(count $sc)" 40 "$sc calls for 1200 decided data calls and 100 connects"
done
say "ok"

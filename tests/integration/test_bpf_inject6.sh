#!/usr/bin/env bash
# The eBPF injectors on IPv6 and on UDP, with real programs:
#  - connect refusal to [::1] (cgroup/connect6): python3 and curl see the
#    rule's errno (ECONNREFUSED: curl exits 7); an IPv4 rule refuses an
#    IPv4-mapped address ([::ffff:127.0.0.1]) on an AF_INET6 socket too;
#  - packet drop on UDP to 127.0.0.1 and to [::1]: probability 1 loses
#    every datagram (sendto still succeeds, as on a lossy wire),
#    probability 0.5 about half on the way out and a quarter more of the
#    echoes on the way back, and another port is untouched;
#  - packet drop on TCP over IPv6: a dropped SYN gives curl a connect
#    timeout (exit 28).
# Loopback IPv6 is used where the host has it; else the test runs in a
# network namespace of its own with lo up (unshare -n).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/bpf_lib.sh"
need "$PY" curl
if ! $PY -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2>/dev/null; then
  if [ -z "${FL_IN_NETNS:-}" ]; then
    need unshare ip
    exec unshare -n env FL_IN_NETNS=1 sh -c 'ip link set lo up && exec bash "$0"' "$0"
  fi
  fail "no IPv6 on loopback, even in a network namespace of our own"
fi

cat >"$T/tcp6.py" <<'PY'
import socket, sys, threading
s = socket.socket(socket.AF_INET6)
s.bind(("::1", 0)); s.listen(64)
print(s.getsockname()[1], flush=True)
def one(c):
    c.recv(4096)
    c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"); c.close()
while True:
    c, _ = s.accept()
    threading.Thread(target=one, args=(c,), daemon=True).start()
PY
# start PY-SCRIPT ARG: a server outside the run's cgroup; its port in $PORT
start() {
  rm -f "$T/port"; mkfifo "$T/port"
  $PY "$@" >"$T/port" &
  _pids+=($!)
  read -r -t 10 PORT <"$T/port" || fail "server $* did not start"
}
# udp_client HOST PORT N OUT: N datagrams one by one, each waiting 30 ms
# for its echo; writes "sent answered send_errors"
cat >"$T/udp_client.py" <<'PY'
import socket, sys
host, port, n, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
fam = socket.AF_INET6 if ":" in host else socket.AF_INET
u = socket.socket(fam, socket.SOCK_DGRAM); u.settimeout(0.03)
got = errs = 0
for i in range(n):
    try:
        u.sendto(b"%d" % i, (host, port))
    except OSError:
        errs += 1; continue
    try:
        while True:
            if u.recv(64) == b"%d" % i:
                got += 1; break
    except socket.timeout:
        pass
open(out, "w").write("%d %d %d\n" % (n, got, errs))
PY

# ---- connect6 refusal ----
start "$T/tcp6.py"; P6=$PORT
start "$T/tcp6.py"; P6B=$PORT
profile "$T/c6.json" <<JSON
{"faultline": 1, "targets": {"web6": {"tcp": "[::1]:$P6"}},
 "rules": [{"target": "web6", "op": "connect", "fault": "error", "errno": "ECONNREFUSED", "layer": "bpf"}]}
JSON
got=$("$FL" run -p "$T/c6.json" -o "$T/c6.jsonl" -- $PY -c "
import errno, socket
r = []
for port in ($P6, $P6B):
    s = socket.socket(socket.AF_INET6)
    try:
        s.connect(('::1', port)); r.append('ok')
    except OSError as x:
        r.append(errno.errorcode[x.errno])
print(*r)")
eq "$got" "ECONNREFUSED ok" "python, AF_INET6: the target's connect refused, another port's made"
rc=0; "$FL" run -p "$T/c6.json" -o "$T/c6curl.jsonl" -- curl -s -o /dev/null "http://[::1]:$P6/" || rc=$?
eq "$rc" 7 "curl to [::1] refused (exit 7)"
curl -s -o /dev/null "http://[::1]:$P6/" || fail "curl to [::1] without the rule"
eq "$(jget "$T/c6.jsonl" 's["per_rule"][0]["hits"]')" 1 "connect6: hits"
eq "$(jget "$T/c6.jsonl" 's["per_rule"][0]["kernel"]["target"]["results"]')" "{'ECONNREFUSED': 1}" "connect6: kernel's account"

# an IPv4 rule and an IPv4-mapped address on an AF_INET6 socket
P4=$(free_port)
serve web4 http "$P4" "body"
profile "$T/c4.json" <<JSON
{"faultline": 1, "targets": {"web4": {"tcp": "127.0.0.1:$P4"}},
 "rules": [{"target": "web4", "op": "connect", "fault": "error", "errno": "EPERM", "layer": "bpf"}]}
JSON
got=$("$FL" run -p "$T/c4.json" -- $PY -c "
import errno, socket
s = socket.socket(socket.AF_INET6)
try:
    s.connect(('::ffff:127.0.0.1', $P4)); print('ok')
except OSError as x:
    print(errno.errorcode[x.errno])")
eq "$got" EPERM "an IPv4 rule refuses the IPv4-mapped address"

# ---- UDP drop, IPv4 and IPv6 ----
for host in 127.0.0.1 ::1; do
  udp_serve "$host"; UP=$PORT
  udp_serve "$host"; UPB=$PORT
  case $host in *:*) hp="[$host]:$UP" ;; *) hp="$host:$UP" ;; esac
  for p in 1.0 0.5; do
    profile "$T/u.json" <<JSON
{"faultline": 1, "targets": {"echo": {"udp": "$hp"}},
 "rules": [{"target": "echo", "op": "packet", "fault": "drop", "probability": $p}]}
JSON
    "$FL" run -p "$T/u.json" -o "$T/u.jsonl" -- sh -c \
      "$PY $T/udp_client.py $host $UP 200 $T/u.out && $PY $T/udp_client.py $host $UPB 50 $T/ub.out" ||
      fail "udp run ($host, p $p)"
    read -r n got errs <"$T/u.out"
    read -r nb gotb errsb <"$T/ub.out"
    hits=$(jget "$T/u.jsonl" 's["per_rule"][0]["hits"]')
    say "udp $host p $p: $got of $n answered, $errs send errors, $hits drops; other port $gotb of $nb"
    eq "$errs" 0 "$host p $p: sendto never fails (a lost datagram is lost quietly)"
    eq "$gotb" "$nb" "$host p $p: another port's datagrams all answered"
    if [ "$p" = 1.0 ]; then
      eq "$got" 0 "$host p 1: every datagram lost"
      eq "$hits" "$n" "$host p 1: one drop per datagram"
    else
      # answered: kept both ways, p 0.25 (~50 of 200); bands of > 4 sigma
      ge "$got" 25 "$host p 0.5: answered"
      le "$got" 80 "$host p 0.5: answered"
      # drops: half out, a quarter of them again on the way back (~150)
      ge "$hits" 115 "$host p 0.5: drops"
      le "$hits" 180 "$host p 0.5: drops"
      # each datagram is lost out, lost back, or answered: one of the three
      le "$(( got + hits ))" "$n" "$host p 0.5: answers + drops"
      ge "$(( got + hits ))" "$(( n - 3 ))" "$host p 0.5: answers + drops"
    fi
  done
done

# ---- TCP over IPv6: a dropped SYN, a real connect timeout ----
profile "$T/d6.json" <<JSON
{"faultline": 1, "targets": {"web6": {"tcp": "[::1]:$P6"}},
 "rules": [{"target": "web6", "op": "packet", "fault": "drop", "probability": 1.0}]}
JSON
rc=0; "$FL" run -p "$T/d6.json" -o "$T/d6.jsonl" -- curl -s -o /dev/null --connect-timeout 2 "http://[::1]:$P6/" || rc=$?
eq "$rc" 28 "curl to [::1]: connect timed out"
ge "$(jget "$T/d6.jsonl" 's["per_rule"][0]["hits"]')" 2 "SYN and its retransmission dropped"
ge "$(jget "$T/d6.jsonl" 's["per_rule"][0]["kernel"]["tcp_retransmits"]')" 1 "kernel: TCP retransmitted the SYN"
say "ok"

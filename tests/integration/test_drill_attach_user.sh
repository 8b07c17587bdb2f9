#!/usr/bin/env bash
# `faultline drill --user nobody` against a python3 feed client already
# running as nobody: the block is owned by nobody, mode 0600, that client
# attaches and its recvs are delayed, and a root client pointed at the same
# block never attaches (another uid's block). The nobody client preloads a
# copy of the shim in the test's 0755 directory: a checkout under a 0700
# home directory is not readable by nobody, and a process started outside
# faultline gets no staged copy (that is `faultline run --user`'s, see
# test_user_shim.sh).
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

COUNT2=160  # 8 s

[ "$(id -u)" = 0 ] || skip "--user needs root"
if command -v setpriv >/dev/null; then
  as_nobody() { setpriv --reuid=nobody --regid="$(id -gn nobody)" --clear-groups "$@"; }
elif command -v su >/dev/null; then
  as_nobody() { su -s /bin/sh nobody -c "$(printf '%q ' "$@")"; }
else
  skip "neither setpriv nor su to run a process as nobody"
fi
NB=$T/nb
mkdir "$NB"
NBSHIM=$T/libfaultline.so
cp "$SHIM" "$NBSHIM"; chmod 0644 "$NBSHIM"
chown nobody "$NB"
NCTL=$T/nobody.ctl
P2=$(free_port)
serve feed2 feed "$P2" "$COUNT2" "$FEED_MS"
profile "$T/p2.json" <<JSON
{"faultline": 1, "seed": 3, "targets": {"feed": {"tcp": "127.0.0.1:$P2"}},
 "rules": [{"target": "feed", "op": "recv", "fault": "delay", "ms": $DELAY}]}
JSON
(as_nobody env LD_PRELOAD="$NBSHIM" FAULTLINE_CTL="$NCTL" \
   "$PY" "$T/client.py" "$P2" "$NB/recv.log" "$COUNT2"; echo $? >"$T/nobody.rc") &
_pids+=($!)
# and a root process pointed at the same block: it must never attach to a
# block owned by another uid
(LD_PRELOAD=$SHIM FAULTLINE_CTL=$NCTL "$PY" "$T/client.py" "$P2" "$T/root.log" "$COUNT2"; echo $? >"$T/root.rc") &
_pids+=($!)
wait_for 20 lines_ge "$NB/recv.log" 5 || fail "the nobody client never read its feed"
wait_for 20 lines_ge "$T/root.log" 5 || fail "the root client never read its feed"
NPID=$(cat "$NB/recv.log.pid")
RPID=$(cat "$T/root.log.pid")
eq "$(stat -c %U "/proc/$NPID")" nobody "client runs as"
bg "$FL" drill -p "$T/p2.json" --ctl "$NCTL" --user nobody -o "$T/tl2.jsonl" 2>"$T/drill2.err"
DPID=$!
wait_for 20 attached "$T/tl2.jsonl" "$NPID" || { cat "$T/drill2.err" >&2; fail "the nobody client never attached"; }
eq "$(stat -c '%U %a' "$NCTL")" "nobody 600" "block owner and mode"
wait_for 20 delays_ge "$T/tl2.jsonl" "$NPID" 3 || fail "no delays for the nobody client"
"$FL" abort --ctl "$NCTL" || fail "abort (nobody) failed"
rc=0; wait "$DPID" || rc=$?
eq "$rc" 0 "drill --user nobody exit status after abort"
eq "$(jcount "$T/tl2.jsonl" "r['type'] in ('attach', 'fault') and r['pid']==$RPID")" 0 "records of the root client (another uid's block)"
wait_for 30 test -s "$T/nobody.rc" || fail "the nobody client did not finish"
eq "$(cat "$T/nobody.rc")" 0 "nobody client exit status"
wait_for 30 test -s "$T/root.rc" || fail "the root client did not finish"
eq "$(cat "$T/root.rc")" 0 "root client exit status"
say "ok"

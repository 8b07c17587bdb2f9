#!/usr/bin/env bash
# A drill for --user nobody, and the program's user (nobody, running real
# /usr/bin/python3) trying to rewrite the plan: it talks to the control
# socket itself, gets the two memfds as a shim does, and tries every way to
# write or resize them. The plan cannot be written (mmap PROT_WRITE,
# mprotect, write, ftruncate, fallocate all fail), the shared area cannot be
# resized; the drill still ends with its summary. Then kill -9 of the
# controller leaves only its socket, which refuses connections and is
# replaced by the next drill at that path.
source "$(dirname "$0")/lib.sh"
need "$PY" "$FL"
[ "$(id -u)" = 0 ] || skip "needs root (a drill for --user nobody)"
command -v setpriv >/dev/null || skip "setpriv (util-linux) to run as nobody"
as_nobody() { setpriv --reuid=nobody --regid="$(id -gn nobody)" --clear-groups "$@"; }

chmod 755 "$T"
CTL=$T/hostile.ctl
cat >"$T/p.json" <<'J'
{"faultline": 1, "targets": {"svc": {"tcp": "127.0.0.1:9"}},
 "rules": [{"target": "svc", "op": "connect", "fault": "error", "errno": "ECONNREFUSED"}]}
J
"$FL" drill -p "$T/p.json" --ctl "$CTL" --user nobody --duration 30 -o "$T/tl.jsonl" 2>"$T/drill.err" &
DRILL=$!
for _ in $(seq 500); do [ -S "$CTL" ] && break; sleep 0.01; done
[ -S "$CTL" ] || fail "no control socket"
eq "$(stat -c '%U %a %F' "$CTL")" "nobody 600 socket" "socket owner, mode, type"

cat >"$T/rewrite.py" <<'PY'
import errno, mmap, os, socket, struct, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(5)
s.connect(sys.argv[1])
s.send(b"A")
msg, fds, flags, addr = socket.recv_fds(s, 64, 4)
assert len(fds) == 2, fds
plan, shared = fds
PLAN = os.fstat(plan).st_size
SHARED = os.fstat(shared).st_size
def refused(what, fn):
    try:
        fn()
    except (OSError, PermissionError, ValueError) as e:
        print("refused:", what, e)
        return
    print("ACCEPTED:", what)
    sys.exit(1)
refused("mmap plan writable", lambda: mmap.mmap(plan, PLAN, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE))
refused("write plan", lambda: os.pwrite(plan, b"\xff" * 8, 0))
refused("truncate plan", lambda: os.ftruncate(plan, 0))
refused("grow plan", lambda: os.ftruncate(plan, PLAN * 2))
refused("truncate shared", lambda: os.ftruncate(shared, 0))
refused("grow shared", lambda: os.ftruncate(shared, SHARED * 2))
refused("punch plan", lambda: os.posix_fallocate(plan, PLAN, 4096))
# reopening through /proc gives the same sealed inode
p2 = os.open("/proc/self/fd/%d" % plan, os.O_RDWR)
refused("write plan via /proc", lambda: os.pwrite(p2, b"\xff" * 8, 0))
ro = mmap.mmap(plan, PLAN, mmap.MAP_SHARED, mmap.PROT_READ)
magic = struct.unpack_from("<Q", ro, 0)[0]
assert magic == 0x314b4c43544c4646, hex(magic)
rw = mmap.mmap(shared, SHARED, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
rw[0:8] = b"\x01" * 8  # the shared area is the program's to disturb
print("ok")
PY
as_nobody "$PY" "$T/rewrite.py" "$CTL" >"$T/rw.out" 2>&1 || { cat "$T/rw.out" >&2; fail "the program's user could rewrite the plan"; }
grep -q '^ok' "$T/rw.out" || fail "rewrite probe did not finish"
say "$(grep -c '^refused' "$T/rw.out") writes refused"
# another user (not root, not nobody) is refused by the controller
if id daemon >/dev/null 2>&1; then
  setpriv --reuid=daemon --regid=daemon --clear-groups "$PY" -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(3)
try:
    s.connect(sys.argv[1])
except PermissionError:
    sys.exit(0)  # the mode keeps it out already
s.send(b"A")
try:
    msg, fds, _, _ = socket.recv_fds(s, 64, 4)
except OSError:
    sys.exit(0)
sys.exit(1 if fds else 0)' "$CTL" || fail "another uid got the block's fds"
fi
kill -INT $DRILL
wait $DRILL || fail "drill exit"
eq "$(jcount "$T/tl.jsonl" 'r["type"]=="summary"')" 1 "summary record"
[ ! -e "$CTL" ] || fail "the drill left its socket"

# kill -9: only the socket stays, it refuses, the next drill replaces it
"$FL" drill -p "$T/p.json" --ctl "$CTL" --duration 30 -o "$T/tl2.jsonl" 2>"$T/drill2.err" &
DRILL=$!
for _ in $(seq 500); do [ -S "$CTL" ] && break; sleep 0.01; done
kill -9 $DRILL; wait $DRILL 2>/dev/null || true
[ -S "$CTL" ] || fail "socket of the killed drill"
"$FL" abort --ctl "$CTL" 2>"$T/abort.err" && fail "abort of a dead controller succeeded"
grep -Eq "no live controller|did not answer" "$T/abort.err" || fail "abort message: $(cat "$T/abort.err")"
"$FL" drill -p "$T/p.json" --ctl "$CTL" --duration 30 -o "$T/tl3.jsonl" 2>"$T/drill3.err" &
DRILL=$!
for _ in $(seq 500); do "$FL" abort --ctl "$CTL" 2>/dev/null && break; sleep 0.01; done
wait $DRILL || fail "replacing drill exit: $(cat "$T/drill3.err")"
[ ! -e "$CTL" ] || fail "socket left after the replacing drill"
say ok

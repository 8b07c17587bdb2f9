#!/usr/bin/env bash
# The fd table follows the kernel.
#  - Path targets match the canonical path, as the kernel resolves it: a
#    database that chdir()s to its data directory and opens ./ib_logfile0,
#    a path through `..`, a path through a symlinked directory, a relative
#    path under openat(dirfd). (The shim used to join the cwd lexically and
#    missed ./ and ..)
#  - close_range() and closefrom() forget the targets they close: an eventfd
#    that reuses a closed target's number is not faulted as that target (it
#    used to be). Exec's O_CLOEXEC closes: the new image starts afresh.
source "$(dirname "$0")/lib.sh"
need "$PY" "$FL" "$SHIM"
D=$T/data
mkdir -p "$D/sub" "$T/other"
ln -s "$D" "$T/link"
profile "$T/p.json" <<EOF
{"faultline": 1, "targets": {"db": {"path": "$D/ib_*"}, "ledger": {"path": "$D/ledger.db"}},
 "rules": [{"target": "db", "op": "write", "fault": "error", "errno": "EIO"},
           {"target": "ledger", "op": "write", "fault": "error", "errno": "EIO"}]}
EOF

"$FL" run -p "$T/p.json" -o "$T/t.jsonl" -- $PY - "$D" "$T" <<'PY' >"$T/out" || fail "paths program"
import os, sys
d, t = sys.argv[1], sys.argv[2]
def w(path, **kw):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600, **kw)
    try:
        os.write(fd, b"x"); r = "ok"
    except OSError as e:
        r = os.strerror(e.errno)
    os.close(fd)
    print(path, r)
os.chdir(d)
w("./ib_logfile0")
w("sub/../ib_data1")
w("../data/./ib_x")
w(t + "/link/ib_via_symlink")
w(t + "/link/../data/ib_dotdot")
dfd = os.open(d + "/sub", os.O_RDONLY | os.O_DIRECTORY)
w("../ib_at", dir_fd=dfd)
w("./not_a_target")
w("sub/../ledger.db")
os.chdir(t + "/other")
w("../data/ib_again")
PY
cat "$T/out" >&2
for p in ./ib_logfile0 sub/../ib_data1 ../data/./ib_x "$T/link/ib_via_symlink" \
         "$T/link/../data/ib_dotdot" ../ib_at ../data/ib_again sub/../ledger.db; do
  has "$T/out" "^$p Input/output error" "write to $p (a path target by its canonical path)"
done
has "$T/out" "^./not_a_target ok" "write to an untargeted file"

# close_range / closefrom / exec: a reused number is not the old target
"$FL" run -p "$T/p.json" -o "$T/c.jsonl" -- $PY - "$D" <<'PY' >"$T/cout" || fail "close_range program"
import ctypes, os, sys
d = sys.argv[1]
libc = ctypes.CDLL(None, use_errno=True)
def probe(how):
    fd = os.open(d + "/ib_close", os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        os.write(fd, b"x")
    except OSError:
        pass # the target is faulted, as it should be
    if how == "close_range":
        assert libc.close_range(fd, fd, 0) == 0
    else:
        libc.closefrom(fd)
    e = os.eventfd(0)
    assert e == fd, (e, fd)
    try:
        os.write(e, (1).to_bytes(8, "little")); r = "ok"
    except OSError as x:
        r = os.strerror(x.errno)
    print(how, r)
    os.close(e)
probe("close_range")
probe("closefrom")
fd = os.open(d + "/ib_exec", os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o600)
sys.stdout.flush()
os.execv(sys.executable, [sys.executable, "-c", """
import os
e = os.eventfd(0)
assert e == %d, e
try:
    os.write(e, (1).to_bytes(8, "little")); print("exec ok")
except OSError as x:
    print("exec", os.strerror(x.errno))
""" % fd])
PY
cat "$T/cout" >&2
has "$T/cout" "^close_range ok" "eventfd reusing a target's number after close_range"
has "$T/cout" "^closefrom ok" "eventfd reusing a target's number after closefrom"
has "$T/cout" "^exec ok" "eventfd reusing an O_CLOEXEC target's number after exec"
say "ok"

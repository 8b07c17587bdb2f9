#!/usr/bin/env bash
# The controller reads a journal the program can write. A program under a
# real `faultline run` (/usr/bin/python3) attaches itself, as a shim does,
# maps the shared area writable and writes garbage into the journal:
# records with an unknown kind or out-of-range rule/target/op (malformed),
# a slot whose sequence no producer writes (the ring forged: resync, skip),
# random bytes beyond head; it also sends the control socket bad requests.
# The controller does not crash or hang, the timeline still ends with its
# exit and summary records, and the summary counts exactly what was done:
# journal_malformed, journal_resync, journal_skipped, ctl_refused.
source "$(dirname "$0")/lib.sh"
FORGE=$O/tests/helpers/forge
need "$PY" "$FORGE"

profile "$T/p.json" <<'J'
{"faultline": 1, "targets": {"nobody": {"tcp": "127.0.0.1:9"}},
 "rules": [{"target": "nobody", "op": "connect", "fault": "error", "errno": "ECONNREFUSED"}]}
J
cat >"$T/garbage.py" <<'PY'
import mmap, os, random, socket, struct, sys, time
lay = dict(kv.split("=") for kv in sys.argv[1].split())
J, TAIL, SLOT, SSZ, KIND, N = (int(lay[k]) for k in
                               ("journal", "tail", "slot", "slot_size", "kind", "slots"))
ctl = os.environ["FAULTLINE_CTL"]

def ask(req):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(5)
    s.connect(ctl)
    if req:
        s.send(req)
    try:
        return socket.recv_fds(s, 64, 4)
    except OSError:
        return None
    finally:
        s.close()

# three clients the controller must refuse: two bad requests, one silent EOF
ask(b"Z"); ask(b"\x00")
s = socket.socket(socket.AF_UNIX); s.connect(ctl); s.close()

msg, fds, _, _ = ask(b"A")
plan, shared = fds
m = mmap.mmap(shared, os.fstat(shared).st_size, mmap.MAP_SHARED,
              mmap.PROT_READ | mmap.PROT_WRITE)
u64 = lambda off: struct.unpack_from("<Q", m, off)[0]
put = lambda off, v: struct.pack_into("<Q", m, off, v & (2**64 - 1))
slot = lambda pos: J + SLOT + (pos % N) * SSZ

# Wait until the controller has read everything so far (our own attach
# record): then we are the only producer and know where it reads next.
deadline = time.time() + 10
while u64(J + TAIL) != u64(J) and time.time() < deadline:
    time.sleep(0.005)
h = u64(J)
assert u64(J + TAIL) == h, "controller did not catch up"

# 1. MALFORMED records, published the proper way (payload, then seq)
K = 7
for i in range(K):
    o = slot(h + i)
    m[o + 8:o + SSZ] = bytes(SSZ - 8)
    if i % 2:
        m[o + KIND] = 200                         # unknown kind
    else:
        m[o + KIND] = 1                           # a fault record...
        m[o + KIND - 3] = 250                     # ...on target 250
    put(o, h + i + 1)
put(J, h + K)

# 2. a slot holding a sequence no producer writes: the ring is forged
o = slot(h + K)
put(o, 0xdeadbeefdeadbeef)
put(J, h + K + 1)                                  # "claimed" by nobody
deadline = time.time() + 10
while u64(J + TAIL) < h + K + 1 and time.time() < deadline:
    time.sleep(0.01)
assert u64(J + TAIL) >= h + K + 1, "controller never skipped the forged slot"

# 3. random bytes in slots beyond head (never published: must not be read)
rnd = random.Random(1)
for i in range(2, 200):
    o = slot(h + K + i)
    m[o + 8:o + SSZ] = bytes(rnd.randrange(256) for _ in range(SSZ - 8))
print("done", K)
PY

LAYOUT=$("$FORGE" -O)
timeout 60 "$FL" run -p "$T/p.json" -o "$T/tl.jsonl" -- "$PY" "$T/garbage.py" "$LAYOUT" \
  >"$T/out" 2>"$T/err" || { cat "$T/out" "$T/err" >&2; fail "faultline run failed"; }
has "$T/out" "^done 7" "the garbage writer"
last2=$(tail -n 2 "$T/tl.jsonl" | $PY -c 'import json,sys; print(" ".join(json.loads(l)["type"] for l in sys.stdin))')
eq "$last2" "exit summary" "the timeline's last records"
sum() { $PY -c 'import json,sys; r=json.loads(open(sys.argv[1]).readlines()[-1]); print(r[sys.argv[2]])' "$T/tl.jsonl" "$1"; }
eq "$(sum journal_malformed)" 7 "journal_malformed in the summary"
eq "$(sum journal_resync)" 1 "journal_resync in the summary"
eq "$(sum journal_skipped)" 1 "journal_skipped in the summary"
eq "$(sum ctl_refused)" 3 "ctl_refused in the summary"
eq "$(jcount "$T/tl.jsonl" 'r["type"]=="attach"')" 1 "attach records (the shim's, one)"
eq "$(jcount "$T/tl.jsonl" 'r["type"]=="fault"')" 0 "fault records (none was forged through)"
say ok

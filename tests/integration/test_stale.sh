#!/usr/bin/env bash
# stale: sqlite3 reads a snapshot of a database another process is writing,
# until the window closes; a python3 selectors client sees a frozen feed and
# then every byte, in order.
source "$(dirname "$0")/lib.sh"
need "$PY" sqlite3

# ---- files: sqlite3 (rollback journal: the data lives in the db file) ----
db=$T/ledger.db
sqlite3 "$db" "pragma journal_mode=delete; create table t(x);
  with recursive c(i) as (select 1 union all select i+1 from c where i < 10)
  insert into t select i from c;" >/dev/null
profile "$T/file.json" <<EOF
{"faultline": 1, "targets": {"ledger": {"path": "$T/ledger.db"}},
 "rules": [{"target": "ledger", "op": "read", "fault": "stale", "window_ms": [0, 3000]}]}
EOF
# inside the window: our read (10 rows), the writer outside the shim commits
# 2 more and sees 12, our next read is still stale (10); after the window: 12
"$FL" run -p "$T/file.json" -o "$T/f.jsonl" -- sh -c "
  sqlite3 '$db' 'select count(*) from t'
  env -u LD_PRELOAD sqlite3 '$db' 'insert into t values (11), (12)'
  env -u LD_PRELOAD sqlite3 '$db' 'select count(*) from t'
  sqlite3 '$db' 'select count(*) from t'
  $PY -c 'import time; time.sleep(3.2)'
  sqlite3 '$db' 'select count(*) from t; pragma integrity_check'
" >"$T/counts"
eq "$(tr '\n' ' ' <"$T/counts")" "10 12 10 12 ok " "row counts: stale, writer, stale, fresh"
ge "$(jcount "$T/f.jsonl" 'r.get("fault") == "stale"')" 2 "stale reads recorded"
[ -z "$(ls -d /tmp/faultline-snap.* 2>/dev/null | xargs -r -n1 find 2>/dev/null | grep -F "$(basename "$db")" || true)" ] ||
  fail "a snapshot was left behind"

# ---- sockets: a feed frozen for the window, then every byte in order ----
port=$(free_port)
serve feed feed "$port" 40 50
profile "$T/sock.json" <<EOF
{"faultline": 1, "targets": {"feed": {"tcp": "127.0.0.1:$port"}},
 "rules": [{"target": "feed", "op": "recv", "fault": "stale", "window_ms": [600, 1400]}]}
EOF
"$FL" run -p "$T/sock.json" -o "$T/s.jsonl" -- $PY -c "
import selectors, socket, time
s = socket.create_connection(('127.0.0.1', $port)); s.setblocking(False)
sel = selectors.DefaultSelector(); sel.register(s, selectors.EVENT_READ)
t0 = time.monotonic(); buf = b''; arrivals = []
while True:
    for key, _ in sel.select(timeout=5):
        try:
            d = s.recv(4096)
        except BlockingIOError:
            continue
        if not d:
            raise SystemExit(print(repr(buf), arrivals, sep='\n'))
        buf += d
        arrivals.append(round((time.monotonic() - t0) * 1000))
" >"$T/feed.out"
$PY - "$T/feed.out" <<'PYEOF'
import ast, sys
lines = open(sys.argv[1]).read().splitlines()
data, arrivals = ast.literal_eval(lines[0]), ast.literal_eval(lines[1])
want = b"".join(b"tick %d\n" % i for i in range(40))
assert data == want, "bytes lost or reordered: %r" % data[:200]
# the feed sends every 50 ms; the stale window (800 ms) must show as one
# long silence, after which everything withheld arrives at once
gaps = [b - a for a, b in zip(arrivals, arrivals[1:])]
assert 600 <= max(gaps) <= 1300, "longest silence %d ms: %s" % (max(gaps), arrivals)
print("ok", len(arrivals), "reads")
PYEOF
ge "$(jcount "$T/s.jsonl" 'r.get("fault") == "stale"')" 1 "stale records"

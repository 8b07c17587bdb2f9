#!/usr/bin/env bash
# sqlite3 with its database as a path target, synchronous=full. The fsync
# that commits an insert fails with EIO → sqlite3 reports "disk I/O error"
# and exits non-zero; afterwards, without the shim, integrity_check is ok and
# every row committed before is there.
#  A. rollback journal (journal_mode=delete), EIO on the database file's
#     fsync: sqlite3 rolls the transaction back from its journal — the failed
#     insert is not there.
#  B. WAL, EIO on the -wal fsync of the commit: the commit frame is already in
#     the WAL and WAL recovery takes it — the failed insert IS there afterwards.
#     This is SQLite's behaviour, not the shim's: an injection that skips the
#     fsync entirely (a 10-line LD_PRELOAD) gives the same result. TARGETS.md
#     says "the failed insert is not committed"; that holds for A, not for B.
# The fsync's nth is measured, not guessed: a probe run on a copy counts the
# fsyncs of the inserts that must succeed.
source "$(dirname "$0")/lib.sh"
need sqlite3 "$FL" "$SHIM"

GOOD="pragma synchronous=full; insert into t values(3,'r3'); insert into t values(4,'r4'); insert into t values(5,'r5');"
BAD="insert into t values(6,'r6');"

# case NAME JOURNAL_MODE TARGET_GLOB_SUFFIX SQLITE_PROBE_ARGS… — sets N, runs
# the fault, leaves the database in $T/NAME/db
run_case() {
  local name=$1 jm=$2 suffix=$3; shift 3
  local d=$T/$name
  mkdir -p "$d/base" "$d/probe" "$d/db" "$d/ctl"
  # rows 1-2 committed without the shim (a clean close leaves one file)
  sqlite3 "$d/base/ledger.db" "pragma journal_mode=$jm; create table t(id integer primary key, v text); insert into t values(1,'r1'); insert into t values(2,'r2');" >/dev/null
  for x in probe db ctl; do cp "$d/base/ledger.db" "$d/$x/"; done

  # probe: count the fsyncs of the good inserts (late_ack 1 ms marks each)
  profile "$d/probe.json" <<JSON
{"faultline": 1, "targets": {"db": {"path": "$d/probe/ledger$suffix"}},
 "rules": [{"target": "db", "op": "fsync", "fault": "late_ack", "ms": 1}]}
JSON
  "$FL" run -p "$d/probe.json" -o "$d/probe.jsonl" -- sqlite3 -bail "$@" "$d/probe/ledger.db" "$GOOD" >/dev/null
  K=$(jcount "$d/probe.jsonl" 'r["type"]=="fault" and r["kind"]=="fault" and r["op"]=="fsync"')
  say "$name: fsyncs of the 3 good inserts on ledger$suffix: $K"
  ge "$K" 3 "$name: fsyncs of three synchronous=full commits"
  N=$((K + 1))

  # control: the same statements without the shim all commit
  sqlite3 -bail "$d/ctl/ledger.db" "$GOOD $BAD" >/dev/null
  eq "$(sqlite3 "$d/ctl/ledger.db" 'select group_concat(id) from t')" "1,2,3,4,5,6" "$name: control rows"

  # the fault: the N-th fsync, the first of the 4th insert's commit
  profile "$d/eio.json" <<JSON
{"faultline": 1, "seed": 4, "targets": {"db": {"path": "$d/db/ledger$suffix"}},
 "rules": [{"target": "db", "op": "fsync", "nth": "$N", "fault": "error", "errno": "EIO"}]}
JSON
  local rc=0
  "$FL" run -p "$d/eio.json" -o "$d/eio.jsonl" -- sqlite3 -bail "$d/db/ledger.db" "$GOOD $BAD" >"$d/eio.out" 2>"$d/eio.err" || rc=$?
  say "$name: sqlite3 under fsync EIO: rc=$rc, stderr: $(cat "$d/eio.err")"
  [ "$rc" -ne 0 ] || fail "$name: sqlite3 exited 0 although its commit fsync failed"
  has "$d/eio.err" "disk I/O error" "$name: sqlite3 stderr"
  eq "$(jcount "$d/eio.jsonl" 'r["type"]=="fault" and r["kind"]=="fault"')" 1 "$name: faults"
  eq "$(jcount "$d/eio.jsonl" "r['type']=='fault' and r['kind']=='fault' and r['op']=='fsync' and r['fault']=='error' and r['errno']=='EIO' and r['nth']==$N and r['ret']==-1")" 1 "$name: fsync EIO record"
  eq "$(jcount "$d/eio.jsonl" "r['type']=='exit' and r['status']==$rc")" 1 "$name: exit record"

  # afterwards, without the shim
  eq "$(sqlite3 "$d/db/ledger.db" 'pragma integrity_check')" ok "$name: integrity_check"
  eq "$(sqlite3 "$d/db/ledger.db" 'select count(*) from t where id<=5')" 5 "$name: rows committed before"
}

# A. rollback journal; target the database file itself (its fsync is the
#    last step of a commit, after the journal's)
run_case rollback delete ".db"
eq "$(sqlite3 "$T/rollback/db/ledger.db" 'select group_concat(id) from t order by id')" "1,2,3,4,5" "rollback: rows (failed insert absent)"
[ ! -e "$T/rollback/db/ledger.db-journal" ] || fail "rollback: hot journal left behind"
sqlite3 "$T/rollback/db/ledger.db" "insert into t values(7,'r7');"
eq "$(sqlite3 "$T/rollback/db/ledger.db" 'select group_concat(id) from t order by id')" "1,2,3,4,5,7" "rollback: rows after a new insert"

# B. WAL; target ledger* (the -wal file); no checkpoint on close in the probe,
#    so only the inserts' own fsyncs are counted
run_case wal wal "*" -cmd '.dbconfig no_ckpt_on_close on'
eq "$(sqlite3 "$T/wal/db/ledger.db" 'select group_concat(id) from t order by id')" "1,2,3,4,5,6" "wal: rows (the failed commit is recovered from the WAL)"
say "ok"

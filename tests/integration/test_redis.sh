#!/usr/bin/env bash
# redis-server (jemalloc, epoll, read/write on sockets, AOF fdatasync) started
# UNDER the shim: it starts at all (libfaketime deadlocks here), answers with
# the latency of a recv delay on its listening target (its read() on a
# socket is op recv), keeps its AOF with appendfsync always, and shuts down
# cleanly. redis-cli under the shim with a reset on its recv prints
# "Connection reset by peer" and exits 1 (TARGETS.md). With its AOF as a path
# target, an EIO from the fdatasync of a write's AOF append (appendfsync
# always) makes redis-server exit 1 (TARGETS.md).
source "$(dirname "$0")/lib.sh"
need /usr/bin/redis-server redis-cli "$FL" "$SHIM"

# 1. start-up under the shim: no deadlock in jemalloc's constructor
rc=0; timeout 5 "$FL" run -q -- /usr/bin/redis-server --version >"$T/version.out" 2>&1 || rc=$?
eq "$rc" 0 "timeout 5 faultline run -- redis-server --version"
has "$T/version.out" "Redis server v=" "redis-server --version output"

P=$(free_port)
mkdir -p "$T/data"
profile "$T/srv.json" <<JSON
{"faultline": 1, "seed": 2, "targets": {"redis": {"tcp": "127.0.0.1:$P"}},
 "rules": [{"target": "redis", "op": "recv", "fault": "delay", "ms": 300}]}
JSON
bg_fl "$FL" run -p "$T/srv.json" -o "$T/srv.jsonl" -- /usr/bin/redis-server --port "$P" --bind 127.0.0.1 \
  --save '' --appendonly yes --appendfsync always --dir "$T/data" >"$T/redis.log" 2>&1
SRV=$!
wait_port "$P"

# 2. ping latency: each request's read is delayed 300 ms (readiness hidden
#    from epoll), so a ping takes >= 0.3 s, and never much more
for i in 1 2 3; do
  t0=$(now_ms)
  out=$(redis-cli -p "$P" ping)
  dt=$(( $(now_ms) - t0 ))
  say "ping $i: $out in ${dt} ms"
  eq "$out" PONG "ping $i reply"
  ge "$dt" 300 "ping $i ms (recv delay 300 ms)"
  le "$dt" 1200 "ping $i ms"
done
eq "$(redis-cli -p "$P" set ledger:1 credit-42)" OK "set under the delay"
eq "$(redis-cli -p "$P" get ledger:1)" credit-42 "get under the delay"

# 3. redis-cli under the shim, reset on its first recv from redis
profile "$T/cli.json" <<JSON
{"faultline": 1, "seed": 2, "targets": {"redis": {"tcp": "127.0.0.1:$P"}},
 "rules": [{"target": "redis", "op": "recv", "nth": "1", "fault": "reset"}]}
JSON
rc=0; "$FL" run -p "$T/cli.json" -o "$T/cli.jsonl" -- redis-cli -p "$P" get ledger:1 >"$T/cli.out" 2>"$T/cli.err" || rc=$?
say "redis-cli under reset: rc=$rc stdout='$(cat "$T/cli.out")' stderr='$(cat "$T/cli.err")'"
eq "$rc" 1 "redis-cli exit status on reset"
has "$T/cli.err" "Connection reset by peer" "redis-cli stderr"
eq "$(jcount "$T/cli.jsonl" 'r["type"]=="fault" and r["kind"]=="fault"')" 1 "client faults"
eq "$(jcount "$T/cli.jsonl" 'r["type"]=="fault" and r["kind"]=="fault" and r["op"]=="recv" and r["fault"]=="reset" and r["errno"]=="ECONNRESET" and r["nth"]==1')" 1 "client reset record"

# the server lived through its client's reset
eq "$(redis-cli -p "$P" get ledger:1)" credit-42 "get after the client's reset"

# 4. clean shutdown through redis itself; faultline exits with redis' 0
redis-cli -p "$P" shutdown nosave >/dev/null 2>&1 || true
rc=0; wait "$SRV" || rc=$?
eq "$rc" 0 "faultline (redis-server) exit status"
has "$T/redis.log" "Ready to accept connections" "redis log"
grep -rqa "credit-42" "$T/data" || fail "the SET is not in the AOF"
n=$(jcount "$T/srv.jsonl" 'r["type"]=="fault" and r["kind"]=="fault" and r["op"]=="recv" and r["fault"]=="delay"')
ge "$n" 6 "server-side recv delays in the timeline"
eq "$(jcount "$T/srv.jsonl" 'r["type"]=="fault" and r["kind"]=="fault" and r["op"]!="recv"')" 0 "other faults on the server"
eq "$(jcount "$T/srv.jsonl" 'r["type"]=="exit" and r["status"]==0')" 1 "server exit record"

# 5. AOF fsync EIO. A probe run counts the fsyncs redis makes at start-up
#    (each marked by a 1 ms late_ack; those before the SET was sent, by
#    wall clock), so the EIO run fails exactly the SET's fdatasync.
aof_run() { # NAME RULE-JSON → starts redis-server, sets AP, ASRV
  AP=$(free_port)
  mkdir -p "$T/$1"
  profile "$T/$1.json" <<JSON
{"faultline": 1, "seed": 2, "targets": {"aof": {"path": "$T/$1/appendonlydir/*"}}, "rules": [$2]}
JSON
  bg_fl "$FL" run -p "$T/$1.json" -o "$T/$1.jsonl" -- /usr/bin/redis-server --port "$AP" --bind 127.0.0.1 \
    --save '' --appendonly yes --appendfsync always --dir "$T/$1" >"$T/$1.log" 2>&1
  ASRV=$!
  wait_port "$AP"
  eq "$(redis-cli -p "$AP" ping)" PONG "$1: ping (start-up done)"
}
aof_run probe '{"target": "aof", "op": "fsync", "fault": "late_ack", "ms": 1}'
t_set=$(now_ms)
eq "$(redis-cli -p "$AP" set ledger:2 debit-7)" OK "probe: set"
redis-cli -p "$AP" shutdown nosave >/dev/null 2>&1 || true
wait "$ASRV" || fail "probe: redis-server did not exit 0"
S=$($PY - "$T/probe.jsonl" "$t_set" <<'PY'
import json, sys
recs = list(map(json.loads, open(sys.argv[1])))
epoch_ms = recs[0]["epoch_real_ns"] / 1e6
print(sum(1 for r in recs if r["type"] == "fault" and r.get("kind") == "fault"
          and r["op"] == "fsync" and epoch_ms + r["t_ms"] < int(sys.argv[2])))
PY
)
nall=$(jcount "$T/probe.jsonl" 'r["type"]=="fault" and r.get("kind")=="fault" and r["op"]=="fsync"')
say "AOF fsyncs: $S at start-up, $nall in all"
[ "$nall" -gt "$S" ] || fail "probe: the SET's AOF fdatasync was not seen"

aof_run eio "{\"target\": \"aof\", \"op\": \"fsync\", \"nth\": \"$((S + 1))\", \"fault\": \"error\", \"errno\": \"EIO\"}"
redis-cli -p "$AP" set ledger:2 debit-7 >"$T/eio-cli.out" 2>&1 || true
rc=0; wait "$ASRV" || rc=$?
say "redis-server after AOF fsync EIO: rc=$rc; redis-cli said: $(cat "$T/eio-cli.out")"
eq "$rc" 1 "redis-server exit status after an AOF fsync EIO (appendfsync always)"
has "$T/eio.log" "Can't persist AOF for fsync error" "redis log"
eq "$(jcount "$T/eio.jsonl" 'r["type"]=="fault" and r["kind"]=="fault"')" 1 "eio: faults"
eq "$(jcount "$T/eio.jsonl" "r['type']=='fault' and r['kind']=='fault' and r['op']=='fsync' and r['errno']=='EIO' and r['nth']==$((S + 1))")" 1 "eio: record"
eq "$(jcount "$T/eio.jsonl" 'r["type"]=="exit" and r["status"]==1')" 1 "eio: exit record"
say "ok"

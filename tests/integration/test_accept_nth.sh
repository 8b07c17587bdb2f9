#!/usr/bin/env bash
# nth of accept must count connections, not polls. redis-server accepts in a
# loop until EAGAIN (acceptTcpHandler), so every accept event makes one extra
# accept() that finds nothing. README ("When"): "A non-blocking receive that
# would find nothing to read is not counted, so nth does not depend on how
# often a program polls" — the same must hold for a non-blocking accept with
# an empty backlog, or "the 2nd accept" means redis's EAGAIN probe after the
# 1st connection (and depends on whether two connections arrived together).
# Marker rule: every accept gets a 1 ms late_ack, so each counted call is in
# the timeline with what it returned.
source "$(dirname "$0")/lib.sh"
need /usr/bin/redis-server redis-cli "$FL" "$SHIM"

P=$(free_port)
mkdir -p "$T/data"
profile "$T/p.json" <<JSON
{"faultline": 1, "seed": 2, "targets": {"redis": {"tcp": "127.0.0.1:$P"}},
 "rules": [{"target": "redis", "op": "accept", "fault": "late_ack", "ms": 1}]}
JSON
bg_fl "$FL" run -p "$T/p.json" -o "$T/tl.jsonl" -- /usr/bin/redis-server --port "$P" --bind 127.0.0.1 \
  --save '' --appendonly no --dir "$T/data" >"$T/redis.log" 2>&1
SRV=$!
# no wait_port (its connection would be counted too): retry ping until it
# answers; refused connects are never accepted, so they are not counted
for i in $(seq 1 200); do redis-cli -p "$P" ping >/dev/null 2>&1 && break; msleep 50; done
for i in 2 3; do eq "$(redis-cli -p "$P" ping)" PONG "ping $i"; done
redis-cli -p "$P" shutdown nosave >/dev/null 2>&1 || true
rc=0; wait "$SRV" || rc=$?
eq "$rc" 0 "redis-server exit status"

# 4 connections (3 pings, 1 shutdown) → 4 counted accepts, nth 1-4, each a connection
$PY - "$T/tl.jsonl" <<'PY' || fail "accept's nth counts calls that found no connection"
import json, sys
f = [r for r in map(json.loads, open(sys.argv[1]))
     if r["type"] == "fault" and r.get("kind") == "fault" and r["op"] == "accept"]
print("counted accepts (nth, ret, errno):", [(r["nth"], r["ret"], r["errno"]) for r in f], file=sys.stderr)
empty = [r["nth"] for r in f if r["ret"] < 0 and r["errno"] == "EAGAIN"]
assert not empty, "accepts with an empty backlog were counted (and faulted): nth %s" % empty
assert [r["nth"] for r in f] == [1, 2, 3, 4], "nth of 4 connections"
PY
say "ok"

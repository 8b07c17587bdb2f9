#!/usr/bin/env bash
# redis-server under clock rules (TARGETS.md: it reads MONOTONIC,
# MONOTONIC_COARSE, gettimeofday and time): a +1 h realtime jump expires an
# EX 100 key at once and TIME reports the jump, while a key with a long TTL
# survives; a monotonic freeze does not stop it answering. redis-cli runs
# without the shim: it sees the server's clock only through its replies.
source "$(dirname "$0")/lib.sh"
need /usr/bin/redis-server redis-cli "$FL" "$SHIM"

P=$(free_port)
profile "$T/jump.json" <<'JSON'
{"faultline": 1, "seed": 1, "targets": {},
 "rules": [{"clock": "realtime", "fault": "jump", "ms": 3600000, "window_ms": [2500, 2600]},
           {"clock": "monotonic", "fault": "freeze", "window_ms": [3000, 3500]}]}
JSON
bg_fl "$FL" run -p "$T/jump.json" -o "$T/jump.jsonl" -- /usr/bin/redis-server --port "$P" \
  --bind 127.0.0.1 --save '' --appendonly no --dir "$T" >"$T/redis.log" 2>&1
SRV=$!
wait_port "$P"

eq "$(redis-cli -p "$P" set short v ex 100)" OK "set EX 100"
eq "$(redis-cli -p "$P" set long v ex 86400)" OK "set EX 86400"
before=$(redis-cli -p "$P" time | head -1)
d=$((before - $(date +%s))); d=${d#-}
le "$d" 2 "redis TIME before the jump is real"
ge "$(redis-cli -p "$P" ttl short)" 98 "TTL before the jump"

msleep 3000 # past the jump (2.5 s) and into the monotonic freeze
after=$(redis-cli -p "$P" time | head -1)
d=$((after - $(date +%s) - 3600)); d=${d#-}
le "$d" 2 "redis TIME after a +1 h realtime jump"
eq "$(redis-cli -p "$P" ttl short)" -2 "the EX 100 key expired at once"
ttl=$(redis-cli -p "$P" ttl long)
ge "$ttl" 82700 "the EX 86400 key lost an hour"
le "$ttl" 82800 "the EX 86400 key lost an hour"
eq "$(redis-cli -p "$P" ping)" PONG "answers during the monotonic freeze"

redis-cli -p "$P" shutdown nosave >/dev/null 2>&1 || true
rc=0; wait "$SRV" || rc=$?
eq "$rc" 0 "redis-server exit status under faultline run"
say "ok"

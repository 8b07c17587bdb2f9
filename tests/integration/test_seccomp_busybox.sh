#!/usr/bin/env bash
# A static binary (Debian busybox-static) under the seccomp supervisor:
# `faultline run` (auto) picks seccomp for it and says why in the start
# record; `busybox wget` to a local server is refused under error
# ECONNREFUSED, slower by an injected delay on connect and on the reply,
# and stuck in connect under timeout (busybox timeout bounds it: Debian's
# `wget -T` segfaults). Each fault is in the timeline as the shim writes it.
source "$(dirname "$0")/lib.sh"
need /bin/busybox "$FL"
BB=/bin/busybox
if ldd "$BB" >/dev/null 2>&1; then skip "$BB is dynamically linked here (not busybox-static)"; fi

P=$(free_port)
serve web http "$P" "static body"
URL=http://127.0.0.1:$P/

# error: refused, as curl would be under the shim
profile "$T/err.json" <<JSON
{"faultline": 1, "seed": 1, "targets": {"web": {"tcp": "127.0.0.1:$P"}},
 "rules": [{"target": "web", "op": "connect", "fault": "error", "errno": "ECONNREFUSED"}]}
JSON
rc=0
"$FL" run -v -p "$T/err.json" -o "$T/err.jsonl" -- "$BB" wget -q -O- "$URL" >"$T/err.out" 2>"$T/err.err" || rc=$?
eq "$rc" 1 "busybox wget exit status under the connect error"
has "$T/err.err" "Connection refused"
has "$T/err.err" "faultline: layer seccomp: .*a static binary"
eq "$(jcount "$T/err.jsonl" 'r["type"]=="start" and r["layer"]=="seccomp" and "static binary" in r["layer_reason"]')" 1 "start record: layer and reason"
eq "$(jcount "$T/err.jsonl" 'r["type"]=="fault" and r["op"]=="connect" and r["errno"]=="ECONNREFUSED" and r["nth"]==1 and r["pid"]>0')" 1 "fault record"
eq "$(jcount "$T/err.jsonl" 'r["type"]=="summary" and r["faults"]==1')" 1 "summary"

# without a rule for it the same binary is untouched
profile "$T/none.json" <<JSON
{"faultline": 1, "seed": 1, "targets": {"web": {"tcp": "127.0.0.1:$P"}}, "rules": []}
JSON
"$FL" run -p "$T/none.json" -o "$T/none.jsonl" -- "$BB" wget -q -O- "$URL" >"$T/none.out"
eq "$(cat "$T/none.out")" "static body" "body with no rules"

# delay: connect 300 ms late, the reply 400 ms late; the body still arrives
profile "$T/delay.json" <<JSON
{"faultline": 1, "seed": 1, "targets": {"web": {"tcp": "127.0.0.1:$P"}},
 "rules": [{"target": "web", "op": "connect", "fault": "delay", "ms": 300},
           {"target": "web", "op": "recv", "nth": "1", "fault": "delay", "ms": 400}]}
JSON
t0=$(now_ms)
"$FL" run -p "$T/delay.json" -o "$T/delay.jsonl" -- "$BB" wget -q -O- "$URL" >"$T/delay.out"
t1=$(now_ms)
eq "$(cat "$T/delay.out")" "static body" "body under delays"
ge $((t1 - t0)) 700 "wall time under 300 + 400 ms of delay"
eq "$(jcount "$T/delay.jsonl" 'r["type"]=="fault" and r["fault"]=="delay" and r["op"]=="connect" and r["value_ms"]==300')" 1 "connect delay record"
eq "$(jcount "$T/delay.jsonl" 'r["type"]=="fault" and r["fault"]=="delay" and r["op"]=="recv" and r["value_ms"]==400')" 1 "recv delay record"

# timeout: the connect hangs (30 s) until busybox timeout kills wget at 1 s
profile "$T/to.json" <<JSON
{"faultline": 1, "seed": 1, "targets": {"web": {"tcp": "127.0.0.1:$P"}},
 "rules": [{"target": "web", "op": "connect", "fault": "timeout", "ms": 30000}]}
JSON
rc=0
"$FL" run -p "$T/to.json" -o "$T/to.jsonl" -- "$BB" timeout 1 "$BB" wget -q -O- "$URL" >"$T/to.out" 2>&1 || rc=$?
eq "$rc" 143 "busybox timeout's status (wget killed in connect)"
eq "$(jcount "$T/to.jsonl" 'r["type"]=="fault" and r["fault"]=="timeout" and r["op"]=="connect"')" 1 "timeout record"

# a short timeout: connect fails with ETIMEDOUT after it
profile "$T/to2.json" <<JSON
{"faultline": 1, "seed": 1, "targets": {"web": {"tcp": "127.0.0.1:$P"}},
 "rules": [{"target": "web", "op": "connect", "fault": "timeout", "ms": 200}]}
JSON
rc=0
"$FL" run -p "$T/to2.json" -o "$T/to2.jsonl" -- "$BB" wget -q -O- "$URL" >"$T/to2.out" 2>&1 || rc=$?
eq "$rc" 1 "wget status after a 200 ms connect timeout"
has "$T/to2.out" "timed out"
say "ok"

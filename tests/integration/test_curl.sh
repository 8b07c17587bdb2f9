#!/usr/bin/env bash
# curl against servers.py http, under faultline: a connect timeout is bounded
# by curl's own --connect-timeout (exit 28 after ~1 s, not the rule's 2 s), a
# recv delay shows in curl's time_total, an injected ECONNREFUSED is exit 7,
# and the timeline holds exactly the faults that were injected.
source "$(dirname "$0")/lib.sh"
need curl "$FL" "$SHIM"

P=$(free_port)
serve web http "$P"
URL=http://127.0.0.1:$P/

# control: without faults curl gets the body quickly
out=$(curl -s -m 5 "$URL")
eq "$out" "hello from faultline tests" "plain curl body"

# 1. connect timeout 2000 ms vs --connect-timeout 1 → 28 after ~1.0 s
profile "$T/ct.json" <<JSON
{"faultline": 1, "seed": 7, "targets": {"web": {"tcp": "127.0.0.1:$P"}},
 "rules": [{"target": "web", "op": "connect", "nth": "1", "fault": "timeout", "ms": 2000}]}
JSON
t0=$(now_ms)
rc=0; "$FL" run -p "$T/ct.json" -o "$T/ct.jsonl" -- curl -s -m 5 --connect-timeout 1 "$URL" >"$T/ct.out" || rc=$?
dt=$(( $(now_ms) - t0 ))
say "connect timeout: rc=$rc after ${dt} ms"
eq "$rc" 28 "curl exit status under connect timeout"
ge "$dt" 900 "elapsed ms (connect timeout)"
le "$dt" 1800 "elapsed ms (connect timeout; the rule's 2 s must not hold)"
eq "$(jcount "$T/ct.jsonl" 'r["type"]=="fault" and r["kind"]=="fault"')" 1 "faults in timeline (ct)"
eq "$(jcount "$T/ct.jsonl" 'r["type"]=="fault" and r["kind"]=="fault" and r["op"]=="connect" and r["fault"]=="timeout" and r["nth"]==1 and r["target"]=="web" and r["rule"]==0')" 1 "connect timeout record"
eq "$(jcount "$T/ct.jsonl" 'r["type"]=="exit" and r["status"]==28')" 1 "exit record (ct)"

# 2. recv delay 400 ms → time_total >= 0.4 (and the body arrives intact)
profile "$T/rd.json" <<JSON
{"faultline": 1, "seed": 7, "targets": {"web": {"tcp": "127.0.0.1:$P"}},
 "rules": [{"target": "web", "op": "recv", "nth": "1", "fault": "delay", "ms": 400}]}
JSON
"$FL" run -p "$T/rd.json" -o "$T/rd.jsonl" -- curl -s -m 5 -o "$T/rd.body" -w '%{time_total}' "$URL" >"$T/rd.out"
tt=$(cat "$T/rd.out")
say "recv delay: time_total=$tt"
ge "$tt" 0.4 "curl time_total (recv delay 400 ms)"
le "$tt" 2.0 "curl time_total (recv delay 400 ms)"
eq "$(cat "$T/rd.body")" "hello from faultline tests" "body under recv delay"
eq "$(jcount "$T/rd.jsonl" 'r["type"]=="fault" and r["kind"]=="fault"')" 1 "faults in timeline (rd)"
eq "$(jcount "$T/rd.jsonl" 'r["type"]=="fault" and r["kind"]=="fault" and r["op"]=="recv" and r["fault"]=="delay" and r["nth"]==1 and abs(r["value_ms"]-400)<0.001')" 1 "recv delay record"

# 3. connect error ECONNREFUSED → exit 7, at once
profile "$T/ce.json" <<JSON
{"faultline": 1, "seed": 7, "targets": {"web": {"tcp": "127.0.0.1:$P"}},
 "rules": [{"target": "web", "op": "connect", "fault": "error", "errno": "ECONNREFUSED"}]}
JSON
t0=$(now_ms)
rc=0; "$FL" run -p "$T/ce.json" -o "$T/ce.jsonl" -- curl -s -m 5 --connect-timeout 1 "$URL" >"$T/ce.out" || rc=$?
dt=$(( $(now_ms) - t0 ))
say "connect refused: rc=$rc after ${dt} ms"
eq "$rc" 7 "curl exit status under injected ECONNREFUSED"
le "$dt" 1500 "elapsed ms (refused is immediate, no 1 s connect timeout)"
eq "$(jcount "$T/ce.jsonl" 'r["type"]=="fault" and r["kind"]=="fault"')" 1 "faults in timeline (ce)"
eq "$(jcount "$T/ce.jsonl" 'r["type"]=="fault" and r["kind"]=="fault" and r["op"]=="connect" and r["fault"]=="error" and r["errno"]=="ECONNREFUSED" and r["ret"]==-1 and r["nth"]==1')" 1 "connect error record"
eq "$(jcount "$T/ce.jsonl" 'r["type"]=="summary" and r["faults"]==1 and [(x["rule"], x["hits"]) for x in r["per_rule"]]==[(0, 1)] and r["dropped"]==0')" 1 "summary (ce)"

# the server was never harmed: a plain curl still works
eq "$(curl -s -m 5 "$URL")" "hello from faultline tests" "plain curl body after"
say "ok"

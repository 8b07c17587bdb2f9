#!/usr/bin/env bash
# A delayed blocking socket call is a call waiting on a late peer, and ends
# as the kernel would end it (signal(7), socket(7)): a SIGALRM handler
# without SA_RESTART interrupts it with EINTR; with SA_RESTART the wait goes
# on; the socket's own SO_RCVTIMEO ends a recv with EAGAIN and SO_SNDTIMEO a
# connect with EINPROGRESS; with a timeout set, even an SA_RESTART handler
# interrupts (EINTR). The outcome records say what really happened.
# Regression: the shim used to sleep through all of these for the whole
# delay (a 1 s SO_RCVTIMEO returned data after the 3 s fault).
source "$(dirname "$0")/lib.sh"
BC=$O/tests/helpers/blockcall
need "$BC" "$FL" "$SHIM"
pf=$(free_port)
serve feed feed "$pf" 100000 50

profile "$T/recv.json" <<EOF
{"faultline": 1, "targets": {"feed": {"tcp": "127.0.0.1:$pf"}},
 "rules": [{"target": "feed", "op": "recv", "fault": "delay", "ms": 3000}]}
EOF
profile "$T/conn.json" <<EOF
{"faultline": 1, "targets": {"feed": {"tcp": "127.0.0.1:$pf"}},
 "rules": [{"target": "feed", "op": "connect", "fault": "delay", "ms": 3000}]}
EOF

# run NAME PROFILE ARGS… — run blockcall under the profile; sets $out
run() {
  local name=$1 prof=$2; shift 2
  "$FL" run -p "$prof" -o "$T/$name.jsonl" -- "$BC" "$@" >"$T/$name.out" || fail "$name: faultline run"
  out=$(cat "$T/$name.out")
  say "$name: $out"
}
field() { sed -n "s/.*$1=\([^ ]*\).*/\1/p" <<<"$out"; }

run eintr "$T/recv.json" recv "$pf" -a 300
eq "$(field errno)" EINTR "recv delayed 3 s, SIGALRM at 300 ms, no SA_RESTART"
le "$(field ms)" 2000 "ms until EINTR"
eq "$(field sigs)" 1 "handler runs"
eq "$(jcount "$T/eintr.jsonl" 'r["type"] == "outcome" and r.get("errno") == "EINTR"')" 1 "outcome records with EINTR"
$PY - "$T/eintr.jsonl" <<'PY' || fail "the outcome record gives the real wait, not the planned one"
import json, sys
o = [r for r in map(json.loads, open(sys.argv[1])) if r["type"] == "outcome"]
assert 200 <= o[0]["waited_ms"] <= 2000, o[0]
PY

run restart "$T/recv.json" recv "$pf" -a 300 -R
ge "$(field rc)" 1 "recv with an SA_RESTART handler: the wait goes on, then data"
ge "$(field ms)" 2900 "ms (the whole delay)"
eq "$(field sigs)" 1 "handler runs"

run rcvtimeo "$T/recv.json" recv "$pf" -t 1000
eq "$(field errno)" EAGAIN "recv with a 1 s SO_RCVTIMEO under a 3 s delay"
ge "$(field ms)" 900 "ms until EAGAIN"
le "$(field ms)" 2500 "ms until EAGAIN"

run timeo_restart "$T/recv.json" recv "$pf" -t 1000 -a 300 -R
eq "$(field errno)" EINTR "SA_RESTART but SO_RCVTIMEO set: never restarted (signal(7))"
le "$(field ms)" 900 "ms until EINTR"

run sndtimeo "$T/conn.json" connect "$pf" -t 1000
eq "$(field errno)" EINPROGRESS "blocking connect with a 1 s SO_SNDTIMEO under a 3 s delay (socket(7))"
ge "$(field ms)" 900 "ms until EINPROGRESS"
le "$(field ms)" 2500 "ms until EINPROGRESS"

run conn_eintr "$T/conn.json" connect "$pf" -a 300
eq "$(field errno)" EINTR "connect delayed, SIGALRM without SA_RESTART"

# abort ends the wait; the outcome gives the real wait and the real call
"$FL" run -p "$T/recv.json" --ctl "$T/ctl" -o "$T/abort.jsonl" -- "$BC" recv "$pf" >"$T/abort.out" &
runp=$!; _pids+=($runp)
for i in $(seq 1 200); do # wait for the fault record (the wait has begun)
  [ -s "$T/abort.jsonl" ] && grep -q '"kind":"fault"' "$T/abort.jsonl" && break
  msleep 25
done
"$FL" abort --ctl "$T/ctl" || fail "faultline abort"
wait "$runp" || true
out=$(cat "$T/abort.out"); say "abort: $out"
ge "$(field rc)" 1 "recv after abort: the real call is made"
le "$(field ms)" 2500 "ms until abort ended the wait"
$PY - "$T/abort.jsonl" <<'PY' || fail "outcome after abort: the real wait"
import json, sys
o = [r for r in map(json.loads, open(sys.argv[1])) if r["type"] == "outcome"]
assert o, "no outcome record"
assert o[0]["waited_ms"] < 2500, ("planned wait recorded, not the real one", o[0])
assert o[0]["ret"] > 0, ("after abort the real call is made", o[0])
PY
say "ok"

#!/usr/bin/env bash
# `faultline exec --ctl PATH -- CMD`, the systemd ExecStart wrapper for the
# seccomp supervisor, with busybox httpd (static, a forked child per
# connection) as the service and curl as its client:
#  - no drill: the service runs untouched (every notification passed);
#  - `faultline drill --ctl PATH` takes the listener (SCM_RIGHTS over
#    PATH.sc.PID) and its faults reach the service (a 700 ms send delay);
#    when the drill ends the service is untouched again;
#  - a drill killed with -9 while a call waits in its delay: the exec keeper
#    answers it and passes the rest (curl completes at once);
#  - a second drill while one serves, a clock rule, a hold on close and a
#    rule on an op outside --ops are refused before the drill starts;
#  - exec killed with -9: its standby keeper passes the service's calls;
#  - exec exits with CMD's status and removes its socket.
source "$(dirname "$0")/lib.sh"
BB=/bin/busybox
need "$BB" curl
if ldd "$BB" >/dev/null 2>&1; then skip "$BB is dynamically linked here (not busybox-static)"; fi

mkdir -p "$T/www"
echo hello >"$T/www/index.html"
P=$(free_port)
CTL=$T/svc.ctl
bg "$FL" exec -v --ctl "$CTL" -- "$BB" httpd -f -p "127.0.0.1:$P" -h "$T/www" 2>"$T/exec.err"
EX=$!
wait_port "$P"
has "$T/exec.err" "faultline: exec: notifying .* system calls .*; drills attach at $CTL.sc.$EX"
eq "$(curl -s "http://127.0.0.1:$P/")" "hello" "untouched without a drill"

ms_curl() { # prints the body and the time in ms
  local t0 t1 b
  t0=$(now_ms)
  b=$(curl -s -m 20 "http://127.0.0.1:$P/")
  t1=$(now_ms)
  echo "$b $((t1 - t0))"
}

# ---- a drill: its delay reaches the service ----------------------------------
profile "$T/d.json" <<JSON
{"faultline": 1, "seed": 1, "targets": {"web": {"tcp": "127.0.0.1:$P"}},
 "rules": [{"target": "web", "op": "send", "fault": "delay", "ms": 700}]}
JSON
bg "$FL" drill -v --ctl "$CTL" -p "$T/d.json" -o "$T/d.jsonl" --no-bpf 2>"$T/d.err"
DR=$!
wait_until 20 grep -q "serving the service of $CTL.sc.$EX" "$T/d.err" || { cat "$T/d.err" >&2; fail "the drill did not attach"; }
read -r body ms < <(ms_curl)
eq "$body" hello "body under the drill"
ge "$ms" 700 "curl under a 700 ms send delay"

# a second drill while the first serves: refused
rc=0
ln -s "$CTL.sc.$EX" "$CTL.2.sc.$EX"
"$FL" drill --ctl "$CTL.2" -p "$T/d.json" --no-bpf --duration 1 2>"$T/d2.err" || rc=$?
[ "$rc" -ne 0 ] || fail "a second drill attached"
has "$T/d2.err" "another drill is serving it"
rm -f "$CTL.2.sc.$EX"

stop_fl "$DR" || true
eq "$(jcount "$T/d.jsonl" 'r["type"]=="fault" and r["op"]=="send" and r["fault"]=="delay" and r["value_ms"]==700')" 1 "the drill's fault record"
eq "$(jcount "$T/d.jsonl" 'r["type"]=="start" and r["layer"]=="seccomp" and "started by faultline exec" in r["layer_reason"]')" 1 "the drill's start record names the exec'd service"
read -r body ms < <(ms_curl)
eq "$body" hello "body after the drill"
le "$ms" 600 "untouched again after the drill (no 700 ms delay)"

# ---- a drill killed with -9 while a call waits in its delay ---------------------
profile "$T/k.json" <<JSON
{"faultline": 1, "seed": 1, "targets": {"web": {"tcp": "127.0.0.1:$P"}},
 "rules": [{"target": "web", "op": "send", "fault": "delay", "ms": 8000}]}
JSON
bg "$FL" drill -v --ctl "$CTL" -p "$T/k.json" -o "$T/k.jsonl" --no-bpf --ticks-every 50 2>"$T/k.err"
DR=$!
wait_until 20 grep -q "serving the service of" "$T/k.err" || fail "the drill did not attach"
ms_curl >"$T/k.curl" &
CU=$!
wait_until 20 grep -qs '"type":"fault"' "$T/k.jsonl" || fail "the 8 s delay never began"
t0=$(now_ms)
kill -9 "$DR"
wait "$CU"
t1=$(now_ms)
eq "$(cut -d' ' -f1 "$T/k.curl")" hello "curl's body after the drill died"
le $((t1 - t0)) 3000 "the delayed send released when the drill died (not 8 s)"
eq "$(curl -s "http://127.0.0.1:$P/")" "hello" "and the next request untouched"

# ---- refused before the drill starts ----------------------------------------------
refused() { # NAME RULE EXPECT
  profile "$T/$1.json" <<JSON
{"faultline": 1, "seed": 1, "targets": {"web": {"tcp": "127.0.0.1:$P"}}, "rules": [$2]}
JSON
  local rc=0
  "$FL" drill --ctl "$CTL" -p "$T/$1.json" --no-bpf --duration 1 2>"$T/$1.err" || rc=$?
  [ "$rc" -ne 0 ] || fail "$1: the drill started"
  has "$T/$1.err" "$3"
}
refused clock '{"clock": "monotonic", "fault": "offset", "ms": 1000}' \
  "rules\[0\]: .*a clock rule cannot reach a service started by .faultline exec."
refused holdclose '{"target": "web", "op": "close", "fault": "hold", "until": {"target": "web", "op": "send", "nth": 1}, "max_ms": 100}' \
  "rules\[0\] (close rule): a hold on close"
eq "$(curl -s "http://127.0.0.1:$P/")" "hello" "untouched after the refused drills"
kill -TERM "$EX"
rc=0
wait "$EX" || rc=$?
eq "$rc" 143 "exec's status: httpd's SIGTERM (forwarded)"
[ ! -e "$CTL.sc.$EX" ] || fail "exec left its socket"

# --ops: a rule on an op outside the filter is refused
bg "$FL" exec --ctl "$CTL" --ops connect,accept -- "$BB" httpd -f -p "127.0.0.1:$P" -h "$T/www"
EX=$!
wait_port "$P"
refused ops '{"target": "web", "op": "send", "fault": "delay", "ms": 10}' \
  "rules\[0\]: .*its op is not in the filter of the .faultline exec."
kill -TERM "$EX"
wait "$EX" || true

# exec itself killed with -9: its standby keeper passes httpd's calls
bg "$FL" exec --ctl "$CTL" -- "$BB" httpd -f -p "127.0.0.1:$P" -h "$T/www"
EX=$!
wait_port "$P"
HT=$(child_of "$EX")
_pids+=("$HT")
kill -9 "$EX"
wait "$EX" 2>/dev/null || true
eq "$(curl -s -m 10 "http://127.0.0.1:$P/")" "hello" "httpd serves after exec was killed (no ENOSYS)"
eq "$(curl -s -m 10 "http://127.0.0.1:$P/")" "hello" "and again"
kill -9 "$HT"

# exit status
rc=0
"$FL" exec --ctl "$CTL" -- "$BB" sh -c 'exit 7' || rc=$?
eq "$rc" 7 "exec's exit status is CMD's"
say "ok"

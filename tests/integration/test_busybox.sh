#!/usr/bin/env bash
# The documented gap of the shim: busybox-static is a static binary, so LD_PRELOAD cannot
# reach it. Under a profile that refuses every connect to the server, curl
# (dynamic) is refused (exit 7), but `busybox wget` still fetches the page,
# and the shim never even attaches (no attach record, no fault). This pins the
# README's claim for --mode preload (auto picks the seccomp supervisor for a static
# binary: test_seccomp_busybox.sh) — if the shim ever reaches it, this
# test must change together with the README.
source "$(dirname "$0")/lib.sh"
need /bin/busybox curl "$FL" "$SHIM"
BB=/bin/busybox
if ldd "$BB" >/dev/null 2>&1; then skip "$BB is dynamically linked here (not busybox-static)"; fi

P=$(free_port)
serve web http "$P" "static body"
URL=http://127.0.0.1:$P/
profile "$T/p.json" <<JSON
{"faultline": 1, "seed": 1, "targets": {"web": {"tcp": "127.0.0.1:$P"}},
 "rules": [{"target": "web", "op": "connect", "fault": "error", "errno": "ECONNREFUSED"}]}
JSON

# the profile works on a dynamic program
rc=0; "$FL" run -p "$T/p.json" -o "$T/curl.jsonl" -- curl -s -m 5 "$URL" >/dev/null || rc=$?
eq "$rc" 7 "curl under the connect error"
eq "$(jcount "$T/curl.jsonl" 'r["type"]=="fault" and r["kind"]=="fault" and r["errno"]=="ECONNREFUSED"')" 1 "curl: fault record"

# busybox wget under the same profile is not intercepted (busybox timeout
# bounds it: Debian's `wget -T` segfaults)
rc=0
"$FL" run --mode preload -p "$T/p.json" -o "$T/bb.jsonl" -- "$BB" timeout 10 "$BB" wget -q -O- "$URL" >"$T/bb.out" 2>"$T/bb.err" || rc=$?
say "busybox wget under the connect error: rc=$rc body='$(cat "$T/bb.out")'"
eq "$rc" 0 "busybox wget exit status (static: not intercepted)"
eq "$(cat "$T/bb.out")" "static body" "busybox wget body"
eq "$(jcount "$T/bb.jsonl" 'r["type"]=="fault"')" 0 "fault records for a static binary"
eq "$(jcount "$T/bb.jsonl" 'r["type"]=="attach" or r.get("kind")=="attach"')" 0 "attach records for a static binary"
eq "$(jcount "$T/bb.jsonl" 'r["type"]=="exit" and r["status"]==0')" 1 "exit record"
eq "$(jcount "$T/bb.jsonl" 'r["type"]=="summary" and r["faults"]==0')" 1 "summary"
say "ok"

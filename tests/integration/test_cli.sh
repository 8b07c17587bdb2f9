#!/usr/bin/env bash
# The faultline command's contract: `run` exits with CMD's status (3 → 3,
# SIGKILL → 137), 127 when CMD is not found, 126 when it cannot be executed,
# 125 for a bad profile — and then CMD never starts. `validate` names the
# file and the JSON path of every error and exits non-zero; truncated JSON
# is an error with its line and column.
source "$(dirname "$0")/lib.sh"
need "$FL" "$SHIM"

rc_of() { local rc=0; "$@" >"$T/out" 2>"$T/err" || rc=$?; echo "$rc"; }

# exit statuses of run
eq "$(rc_of "$FL" run -q -- sh -c 'exit 3')" 3 "run: CMD exit 3"
eq "$(rc_of "$FL" run -q -- sh -c 'exit 0')" 0 "run: CMD exit 0"
eq "$(rc_of "$FL" run -o "$T/kill.jsonl" -- sh -c 'kill -9 $$')" 137 "run: CMD killed by SIGKILL"
eq "$(jcount "$T/kill.jsonl" 'r["type"]=="exit" and r["signal"]==9')" 1 "timeline exit record of a SIGKILLed CMD"
eq "$(rc_of "$FL" run -q -- "$T/no-such-program")" 127 "run: CMD not found (path)"
eq "$(rc_of "$FL" run -q -- faultline-no-such-command-xyz)" 127 "run: CMD not found (PATH)"
has "$T/err" "faultline-no-such-command-xyz" "stderr names the command"
printf '#!/bin/sh\ntouch %s/noexec-ran\n' "$T" >"$T/noexec.sh"
chmod 644 "$T/noexec.sh"
eq "$(rc_of "$FL" run -q -- "$T/noexec.sh")" 126 "run: CMD not executable"
[ ! -e "$T/noexec-ran" ] || fail "a non-executable CMD ran"
eq "$(rc_of "$FL" run -q -- "$T")" 126 "run: CMD is a directory"

# a bad profile: 125, CMD never starts, the error names file and path
cat >"$T/bad.json" <<'JSON'
{"faultline": 1, "targets": {"web": {"tcp": "127.0.0.1:80"}},
 "rules": [{"target": "web", "op": "connect", "fault": "error", "errno": "EIO"}]}
JSON
eq "$(rc_of "$FL" run -p "$T/bad.json" -o "$T/bad.jsonl" -- sh -c "touch $T/marker")" 125 "run: bad profile"
[ ! -e "$T/marker" ] || fail "CMD started although the profile is bad"
has "$T/err" "$T/bad.json: rules\[0\].errno: " "run's error on a bad profile"

# validate: FILE: JSON.PATH: what was expected; every error; non-zero
rc=$(rc_of "$FL" validate "$T/bad.json")
[ "$rc" -ne 0 ] || fail "validate accepted a bad profile"
has "$T/err" "^$T/bad.json: rules\[0\].errno: expected one of ECONNREFUSED" "validate's error"
has "$T/err" 'got "EIO"' "validate's error"
cat >"$T/multi.json" <<'JSON'
{"faultline": 1, "targets": {"web": {"tcp": "127.0.0.1:80"}},
 "rules": [{"target": "web", "op": "connect", "fault": "timeout", "ms": 100},
           {"target": "nope", "op": "recv", "fault": "delay", "ms": 10},
           {"target": "web", "op": "bogus", "fault": "delay", "ms": 10}]}
JSON
rc=$(rc_of "$FL" validate "$T/multi.json")
[ "$rc" -ne 0 ] || fail "validate accepted a profile with two errors"
has "$T/err" "^$T/multi.json: rules\[1\].target: " "validate: 1st of two errors"
has "$T/err" "^$T/multi.json: rules\[2\].op: " "validate: 2nd of two errors"
! grep -q "rules\[0\]" "$T/err" || fail "validate blamed a good rule"

# truncated JSON: an error with line and column, for validate and for run
head -c 60 "$T/bad.json" >"$T/trunc.json"
rc=$(rc_of "$FL" validate "$T/trunc.json")
[ "$rc" -ne 0 ] || fail "validate accepted truncated JSON"
has "$T/err" "^$T/trunc.json: line 1, column [0-9]*: .*truncated" "validate on truncated JSON"
eq "$(rc_of "$FL" run -p "$T/trunc.json" -- sh -c "touch $T/marker2")" 125 "run: truncated profile"
[ ! -e "$T/marker2" ] || fail "CMD started although the profile is truncated"
: >"$T/empty.json"
rc=$(rc_of "$FL" validate "$T/empty.json"); [ "$rc" -ne 0 ] || fail "validate accepted an empty file"
rc=$(rc_of "$FL" validate "$T/missing.json"); [ "$rc" -ne 0 ] || fail "validate accepted a missing file"
has "$T/err" "$T/missing.json" "validate names the missing file"

# and a good profile is ok
eq "$(rc_of "$FL" validate "$FL_ROOT/profiles/recv-delay.json")" 0 "validate on a bundled profile"
has "$T/out" "recv-delay.json: ok" "validate's ok line"
say "ok"

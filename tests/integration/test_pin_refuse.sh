#!/usr/bin/env bash
# test_pin_refuse.sh — `--pin` refuses what it cannot honour, with exit 125,
# "FILE:LINE: what was expected", the command not run and -o untouched: a
# timeline of another profile (unless --pin-force, recorded in the start
# record), a fault record naming a clock rule, a rule the profile lacks or
# another op, /dev/zero, a directory, a file over the size limit, trailing
# garbage, nth 1e300, no start record. A real timeline of the same profile
# is pinned.
source "$(dirname "$0")/lib.sh"
need "$PY" truncate
mkdir "$T/data"
echo hello >"$T/data/x"

profile "$T/p.json" <<EOF
{"faultline": 1, "seed": 3,
 "targets": {"f": {"path": "$T/data/*"}},
 "rules": [{"clock": "realtime", "fault": "offset", "ms": 1000},
           {"target": "f", "op": "open", "nth": "2-3", "fault": "error", "errno": "EIO"}]}
EOF
# the same rules, another file: another sha256
sed 's/"seed": 3/"seed": 4/' "$T/p.json" >"$T/q.json"

opens="for i in 1 2 3 4; do cat $T/data/x >/dev/null 2>&1 || echo failed; done"
"$FL" run -p "$T/p.json" -o "$T/rec.jsonl" -- sh -c "$opens" >"$T/rec.out"
eq "$(jcount "$T/rec.jsonl" 'r["type"] == "fault" and r["rule"] == 1')" 2 "faults recorded"

# a timeline of this profile is pinned, and says so in its start record
"$FL" run -p "$T/p.json" --pin "$T/rec.jsonl" -o "$T/pin.jsonl" -- sh -c "$opens" >"$T/pin.out"
eq "$(jcount "$T/pin.jsonl" 'r["type"] == "fault" and r["rule"] != 0')" 2 "pinned faults"
eq "$(jcount "$T/pin.jsonl" 'r["type"] == "start" and r["pin_force"] is False and r["pin_forced"] is False')" 1 \
  "start record of a pinned run"

# refused FILE EXPECT [ARGS...] — exit 125, the message, nothing ran, -o kept
refused() {
  local file=$1 want=$2 rc=0; shift 2
  rm -f "$T/ran"
  echo "precious" >"$T/out.jsonl"
  "$FL" run -p "${PROF:-$T/p.json}" "$@" --pin "$file" -o "$T/out.jsonl" -- touch "$T/ran" 2>"$T/err" || rc=$?
  say "$(cat "$T/err")"
  eq "$rc" 125 "exit status for --pin $file"
  [ ! -e "$T/ran" ] || fail "the command ran with --pin $file"
  eq "$(cat "$T/out.jsonl")" precious "-o of a refused run"
  has "$T/err" "$want"
}

# edit NAME PYEXPR — a copy of rec.jsonl with the first op fault record r changed
edit() {
  $PY - "$T/rec.jsonl" "$T/$1" "$2" <<'PYEOF'
import json, sys
out, done = [], False
for line in open(sys.argv[1]):
    r = json.loads(line)
    if not done and r["type"] == "fault" and r["rule"] == 1:
        exec(sys.argv[3])
        done = True
        line = r if isinstance(r, str) else json.dumps(r) + "\n"
    out.append(line)
open(sys.argv[2], "w").write("".join(out))
PYEOF
  grep -n '"rule"' "$T/$1" | head -n 1 | cut -d: -f1
}

say "== another profile"
PROF=$T/q.json refused "$T/rec.jsonl" "rec.jsonl:1: recorded under another profile"
rm -f "$T/ran"
"$FL" run -p "$T/q.json" --pin "$T/rec.jsonl" --pin-force -o "$T/forced.jsonl" -- touch "$T/ran" 2>"$T/err"
[ -e "$T/ran" ] || fail "--pin-force did not run the command"
has "$T/err" "pinned anyway (--pin-force)"
eq "$(jcount "$T/forced.jsonl" 'r["type"] == "start" and r["pin_force"] is True and r["pin_forced"] is True')" 1 \
  "--pin-force in the start record"

say "== records the profile cannot honour"
n=$(edit clock.jsonl 'r["rule"] = 0')
refused "$T/clock.jsonl" "clock.jsonl:$n: rule 0 is a clock rule"
n=$(edit norule.jsonl 'r["rule"] = 5')
refused "$T/norule.jsonl" "norule.jsonl:$n: rule: expected a rule of the profile"
n=$(edit op.jsonl 'r["op"] = "read"')
refused "$T/op.jsonl" "op.jsonl:$n: op/fault: expected rule 1's \"open\"/\"error\""
n=$(edit nth.jsonl 'r = json.dumps(r).replace("\"nth\": 2", "\"nth\": 1e300") + "\n"')
refused "$T/nth.jsonl" "nth.jsonl:$n: nth: expected an integer"
n=$(edit garbage.jsonl 'r = json.dumps(r) + " trailing\n"')
refused "$T/garbage.jsonl" "garbage.jsonl:$n: trailing bytes"
grep -v '"type": *"start"' "$T/rec.jsonl" >"$T/nostart.jsonl"
refused "$T/nostart.jsonl" "nostart.jsonl:1: expected the start record"

say "== files that are not timelines"
refused /dev/zero "/dev/zero: not a regular file"
refused "$T/data" "data: not a regular file"
truncate -s 600M "$T/huge.jsonl" # sparse: costs no disk
refused "$T/huge.jsonl" "huge.jsonl: 629145600 bytes, larger than"

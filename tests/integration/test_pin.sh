#!/usr/bin/env bash
# faultline run --pin TIMELINE: the faults of a recorded run, with two
# threads racing on two feeds, happen again at the same (target, op, nth)
# and in the same order across the threads — even under another seed,
# where the profile's probabilities alone would pick other calls.
source "$(dirname "$0")/lib.sh"
need "$PY"
PROG=$FL_ROOT/tests/integration/progs/twofeeds.py
pa=$(free_port); pb=$(free_port)
serve a feed "$pa" 100000 2
serve b feed "$pb" 100000 3

profile "$T/p.json" <<EOF
{"faultline": 1, "seed": 1,
 "targets": {"a": {"tcp": "127.0.0.1:$pa"}, "b": {"tcp": "127.0.0.1:$pb"}},
 "rules": [{"target": "a", "op": "recv", "probability": 0.3, "fault": "delay", "ms": 4, "jitter_ms": 3},
           {"target": "b", "op": "recv", "probability": 0.3, "fault": "delay", "ms": 6}]}
EOF

# the faulted calls of a timeline in the order they were made
order() {
  $PY - "$1" <<'PYEOF'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
f = sorted((r for r in recs if r["type"] == "fault"), key=lambda r: r["t_ms"])
print(" ".join("%s%d" % (r["target"], r["nth"]) for r in f))
PYEOF
}

"$FL" run -p "$T/p.json" -o "$T/rec.jsonl" -- $PY "$PROG" "$pa" "$pb" 60
rec=$(order "$T/rec.jsonl")
n=$(wc -w <<<"$rec")
say "recorded ($n faults): $rec"
ge "$n" 10 "faults recorded"

# another seed alone picks other calls
"$FL" run -p "$T/p.json" --seed 999 -o "$T/other.jsonl" -- $PY "$PROG" "$pa" "$pb" 60
other=$(order "$T/other.jsonl")
[ "$(tr ' ' '\n' <<<"$other" | sort)" != "$(tr ' ' '\n' <<<"$rec" | sort)" ] ||
  fail "seed 999 picked the same calls as seed 1: the test proves nothing"

for i in 1 2 3; do
  "$FL" run -p "$T/p.json" --seed 999 --pin "$T/rec.jsonl" -o "$T/pin$i.jsonl" -- \
    $PY "$PROG" "$pa" "$pb" 60
  eq "$(order "$T/pin$i.jsonl")" "$rec" "pinned run $i: faulted calls and their order"
done

# a timeline that is not one of this profile is refused, and nothing runs
echo '{"type":"fault","kind":"fault","rule":7,"nth":1}' >"$T/bad.jsonl"
set +e
"$FL" run -p "$T/p.json" --pin "$T/bad.jsonl" -- touch "$T/ran" 2>"$T/err"
rc=$?
set -e
eq "$rc" 125 "exit status for a bad --pin timeline"
[ ! -e "$T/ran" ] || fail "the command ran with a bad --pin timeline"
has "$T/err" "bad.jsonl:1"

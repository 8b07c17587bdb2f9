#!/usr/bin/env bash
# Every bundled scenario (scenarios/*.json and scenarios/history/*.json):
# it validates and is listed by `faultline scenarios`; `faultline model` is
# deterministic (the same seed gives the same bytes, the file's seed is the
# default, another seed gives another path); and `faultline run -s S
# --speed 1000 --duration 3 -- true` runs it: exit 0, a timeline with the
# start (seed, speed), the first tick with every signal and an intensity for
# every bound rule, the command's exit and the summary.
source "$(dirname "$0")/lib.sh"
need "$PY" "$FL" "$SHIM"

cd "$FL_ROOT"
mapfile -t all < <(ls scenarios/*.json scenarios/history/*.json)
[ "${#all[@]}" -ge 7 ] || fail "only ${#all[@]} bundled scenarios"
"$FL" scenarios >"$T/list" || fail "faultline scenarios failed"
"$FL" scenarios scenarios/history >>"$T/list" || fail "faultline scenarios scenarios/history failed"
# the signal names a tick record must carry (MKT_SIGNALS in market.h)
signals=$(sed -n 's/^\s*X([A-Z0-9_]*, "\([a-z0-9_]*\)".*/\1/p' controller/market/market.h | tr '\n' ' ')
[ -n "$signals" ] || fail "no signal names found in controller/market/market.h"

for s in "${all[@]}"; do
  name=$(basename "$s" .json)
  say "== $s"
  eq "$("$FL" validate "$s")" "$s: ok" "validate $s"
  grep -q "^$name " "$T/list" || fail "faultline scenarios does not list $name"
  seed=$($PY -c 'import json, sys; print(json.load(open(sys.argv[1]))["seed"])' "$s")

  # determinism: same seed, same bytes; the file's seed is the default
  "$FL" model -s "$s" --format jsonl --ticks-every 60000 >"$T/a.jsonl" || fail "model $s"
  "$FL" model -s "$s" --format jsonl --ticks-every 60000 --seed "$seed" >"$T/b.jsonl" || fail "model $s --seed $seed"
  cmp -s "$T/a.jsonl" "$T/b.jsonl" || fail "$s: two runs of the model with seed $seed differ"
  "$FL" model -s "$s" --format jsonl --ticks-every 60000 --seed 987654321 >"$T/c.jsonl" || fail "model $s --seed 987654321"
  # another seed: another path (the header records the seed; compare the series)
  $PY - "$s" "$T/a.jsonl" "$T/c.jsonl" "$seed" <<'PY' || fail "$s: model output"
import json, sys
name, a, c, seed = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
A = [json.loads(l) for l in open(a)]
C = [json.loads(l) for l in open(c)]
assert A[0]["seed"] == seed and C[0]["seed"] == 987654321, "the header does not record the seed"
dur_ms = A[0]["duration_s"] * 1000
assert A[-1]["t_ms"] == dur_ms and len(A) == dur_ms // 60000 + 2, "series does not cover the scenario"
assert len(A) == len(C)
differ = sum(1 for x, y in zip(A[1:], C[1:]) if x["spot"] != y["spot"])
assert differ >= len(A) // 2, "another seed gave (nearly) the same path: %d of %d rows differ" % (differ, len(A) - 1)
print("model: %d rows, seed %d; seed 987654321 differs in %d" % (len(A) - 1, seed, differ), file=sys.stderr)
PY
  # a short run
  rc=0
  "$FL" run -s "$s" --speed 1000 --duration 3 -o "$T/run.jsonl" -- true 2>"$T/run.err" || rc=$?
  [ "$rc" = 0 ] || { cat "$T/run.err" >&2; fail "$s: faultline run -- true exited $rc"; }
  $PY - "$s" "$T/run.jsonl" "$seed" "$signals" <<'PY' || fail "$s: run timeline"
import json, sys
path, tl, seed, names = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4].split()
rec = [json.loads(l) for l in open(tl)]
scen = json.load(open(path))
bound = {str(i) for i, r in enumerate(scen["rules"]) if "scale" in r or "when_signal" in r}
start = rec[0]
assert start["type"] == "start" and start["mode"] == "run" and start["seed"] == seed and start["speed"] == 1000, start
ticks = [r for r in rec if r["type"] == "tick"]
assert ticks and ticks[0]["tick"] == 0, "no first tick"
for t in ticks:
    assert set(t["signals"]) == set(names), "tick signals %s" % sorted(set(t["signals"]) ^ set(names))
    assert set(t["intensity"]) == bound, "intensities for rules %s, bound rules %s" % (sorted(t["intensity"]), sorted(bound))
    assert all(0.0 <= v <= 1.0 for v in t["intensity"].values())
assert ticks[0]["signals"]["spot"] == scen["market"]["price"]["spot"], "tick 0 is not the scenario's start"
ex = [r for r in rec if r["type"] == "exit"]
assert len(ex) == 1 and ex[0]["status"] == 0, ex
assert rec[-1]["type"] == "summary", rec[-1]
print("run: %d tick records, %d bound rules" % (len(ticks), len(bound)), file=sys.stderr)
PY
done
say "ok: ${#all[@]} scenarios"

#!/usr/bin/env bash
# JSON Schema of profiles and scenarios (schema/, `faultline schema`), checked
# with a real validator, Debian's python3-jsonschema (draft 2020-12):
#  - the checked-in schema files are what `faultline schema` prints (the
#    schema is generated from the loader's own tables, so they cannot drift)
#    and are valid draft 2020-12 schemas;
#  - every bundled profile and scenario (profiles/, scenarios/,
#    scenarios/history/, bench/, examples/) validates against its schema;
#  - bad files that `faultline validate` rejects (unknown keys, wrong types,
#    bad enums, missing or foreign parameters, out of range) are rejected by
#    the schema too: it is not trivially permissive;
#  - differential: ~2000 seeded mutations of the bundled files. Every one
#    `faultline validate` accepts, the schema accepts (an editor never marks
#    a good file red); of those validate rejects, the schema must reject at
#    least 80 % (the rest is what a schema cannot say: target names that do
#    not exist, lo < hi, a market's consistency checks).
source "$(dirname "$0")/lib.sh"
need "$PY" "$FL"
$PY -c 'import jsonschema' 2>/dev/null ||
  skip "python3-jsonschema not installed (scripts/deps.sh test)"
S=$FL_ROOT/schema
for k in profile scenario; do
  "$FL" schema $k >"$T/$k.json" || fail "faultline schema $k"
  cmp -s "$T/$k.json" "$S/$k.schema.json" ||
    fail "schema/$k.schema.json is not what 'faultline schema $k' prints (run make schema)"
done
rc=0; "$FL" schema bogus 2>"$T/usage.err" || rc=$?
eq "$rc" 2 "faultline schema bogus"
has "$T/usage.err" "faultline schema profile|scenario"

# the bundled files, each against the schema of its kind (a "market" key
# makes a file a scenario)
mapfile -t files < <(cd "$FL_ROOT" && ls profiles/*.json scenarios/*.json \
  scenarios/history/*.json bench/profiles/*.json bench/scenarios/*.json 2>/dev/null;
  cd "$FL_ROOT" && find examples -name '*.json' 2>/dev/null)
ge "${#files[@]}" 14 "bundled files"
(cd "$FL_ROOT" && "$FL" validate "${files[@]}" >/dev/null) || fail "a bundled file does not validate"

# "$schema" (for editors that read it from the file) is accepted by both
printf '{"$schema": "%s", "faultline": 1, "rules": []}\n' "$S/profile.schema.json" >"$T/with-schema.json"
"$FL" validate "$T/with-schema.json" >/dev/null || fail "validate rejects a \$schema key"
$PY -c 'import json, sys, jsonschema
jsonschema.Draft202012Validator(json.load(open(sys.argv[1]))).validate(json.load(open(sys.argv[2])))' \
  "$S/profile.schema.json" "$T/with-schema.json" || fail "the schema rejects a \$schema key"

mkdir "$T/bad"
bad() { # NAME JSON — a file validate must reject
  printf '%s\n' "$2" >"$T/bad/$1.json"
  if "$FL" validate "$T/bad/$1.json" >/dev/null 2>"$T/bad/$1.err"; then
    fail "faultline validate accepts bad file $1"
  fi
}
TG='"targets": {"db": {"tcp": "127.0.0.1:5432"}, "f": {"path": "/var/x"}}'
bad top-unknown-key   '{"faultline": 1, "rules": [], "color": "red"}'
bad version           '{"faultline": 2, "rules": []}'
bad no-rules          '{"faultline": 1}'
bad schema-type       '{"$schema": 3, "faultline": 1, "rules": []}'
bad seed-type         '{"faultline": 1, "rules": [], "seed": true}'
bad target-two-kinds  '{"faultline": 1, "targets": {"x": {"tcp": "127.0.0.1:1", "unix": "/s"}}, "rules": []}'
bad target-name       '{"faultline": 1, "targets": {"no spaces": {"unix": "/s"}}, "rules": []}'
bad target-hostport   '{"faultline": 1, "targets": {"x": {"tcp": "localhost"}}, "rules": []}'
bad target-relpath    '{"faultline": 1, "targets": {"x": {"path": "rel/x"}}, "rules": []}'
bad rule-unknown-key  '{"faultline": 1, '"$TG"', "rules": [{"target": "db", "op": "connect", "fault": "delay", "ms": 5, "colour": 1}]}'
bad op-enum           '{"faultline": 1, '"$TG"', "rules": [{"target": "db", "op": "frobnicate", "fault": "delay", "ms": 5}]}'
bad fault-enum        '{"faultline": 1, '"$TG"', "rules": [{"target": "db", "op": "connect", "fault": "explode"}]}'
bad fault-for-op      '{"faultline": 1, '"$TG"', "rules": [{"target": "db", "op": "connect", "fault": "reset"}]}'
bad errno-enum        '{"faultline": 1, '"$TG"', "rules": [{"target": "db", "op": "connect", "fault": "error", "errno": "EFOO"}]}'
bad errno-for-op      '{"faultline": 1, '"$TG"', "rules": [{"target": "f", "op": "fsync", "fault": "error", "errno": "ECONNREFUSED"}]}'
bad ms-type           '{"faultline": 1, '"$TG"', "rules": [{"target": "db", "op": "connect", "fault": "delay", "ms": "5"}]}'
bad ms-missing        '{"faultline": 1, '"$TG"', "rules": [{"target": "db", "op": "connect", "fault": "delay"}]}'
bad foreign-param     '{"faultline": 1, '"$TG"', "rules": [{"target": "db", "op": "connect", "fault": "delay", "ms": 5, "bytes": 3}]}'
bad probability-range '{"faultline": 1, '"$TG"', "rules": [{"target": "db", "op": "connect", "fault": "delay", "ms": 5, "probability": 1.5}]}'
bad nth-zero          '{"faultline": 1, '"$TG"', "rules": [{"target": "db", "op": "connect", "fault": "delay", "ms": 5, "nth": "0"}]}'
bad window-shape      '{"faultline": 1, '"$TG"', "rules": [{"target": "db", "op": "connect", "fault": "delay", "ms": 5, "window_ms": [1]}]}'
bad layer-enum        '{"faultline": 1, '"$TG"', "rules": [{"target": "db", "op": "connect", "fault": "error", "errno": "ECONNREFUSED", "layer": "xdp"}]}'
bad layer-fault       '{"faultline": 1, '"$TG"', "rules": [{"target": "db", "op": "connect", "fault": "delay", "ms": 5, "layer": "bpf"}]}'
bad scale-in-profile  '{"faultline": 1, '"$TG"', "rules": [{"target": "db", "op": "connect", "fault": "delay", "ms": 5, "scale": {"signal": "stress", "lo": 0, "hi": 1}}]}'
bad clock-enum        '{"faultline": 1, "rules": [{"clock": "sundial", "fault": "offset", "ms": 5}]}'
bad clock-op-fault    '{"faultline": 1, "rules": [{"clock": "realtime", "fault": "delay", "ms": 5}]}'
bad mono-backwards    '{"faultline": 1, "rules": [{"clock": "monotonic", "fault": "offset", "ms": -5}]}'
bad freeze-no-window  '{"faultline": 1, "rules": [{"clock": "realtime", "fault": "freeze"}]}'
bad budget-unknown    '{"faultline": 1, "rules": [], "budgets": {"p99": 5}}'
bad budget-type       '{"faultline": 1, "rules": [], "budgets": {"probe_error_rate": "2%"}}'
bad budget-range      '{"faultline": 1, "rules": [], "budgets": {"probe_error_rate": 2}}'
bad metric-max-type   '{"faultline": 1, "rules": [], "budgets": {"metric_max": {"lag": "high"}}}'
M='"faultline": 1, "rules": []'
bad market-unknown    '{'"$M"', "market": {"weather": 1}}'
bad market-group-key  '{'"$M"', "market": {"price": {"spot": 100, "colour": 1}}}'
bad market-type       '{'"$M"', "market": {"price": {"spot": "100"}}}'
bad market-range      '{'"$M"', "market": {"jumps": {"branching": 1.5}}}'
bad market-int        '{'"$M"', "market": {"ladder": {"positions": 2.5}}}'
bad market-enum       '{'"$M"', "market": {"dealers": {"mode": "magic"}}}'
bad shock-kind        '{'"$M"', "market": {"shocks": [{"kind": "meteor", "at_s": 1}]}}'
bad shock-foreign-key '{'"$M"', "market": {"shocks": [{"kind": "jump", "at_s": 1, "return": -0.1, "usd": 5}]}}'
bad shock-missing     '{'"$M"', "market": {"shocks": [{"kind": "jump", "at_s": 1}]}}'
bad venues-two-perps  '{'"$M"', "market": {"venues": [{"name": "a", "perp": true}, {"name": "b", "perp": true}]}}'
bad option-type       '{'"$M"', "market": {"book": [{"strike": 1, "expiry_h": 1, "type": "straddle", "dealer": 1}]}}'
bad notes-type        '{'"$M"', "market": {"sources": {"spot": [1, 2]}}}'
nbad=$(ls "$T/bad" | grep -c '\.json$')

FL="$FL" $PY - "$S" "$T/bad" "$T/mut" "$FL_ROOT" "${files[@]}" <<'PY' >"$T/check.out" 2>&1 || { cat "$T/check.out" >&2; fail "schema checks"; }
import copy, json, os, random, subprocess, sys
from jsonschema import Draft202012Validator

sdir, bad, mut, root, files = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
V = {}
for k in ("profile", "scenario"):
    s = json.load(open(os.path.join(sdir, k + ".schema.json")))
    Draft202012Validator.check_schema(s)
    V[k] = Draft202012Validator(s)

def kind(doc):
    return "scenario" if isinstance(doc, dict) and "market" in doc else "profile"

def errors(doc):
    return list(V[kind(doc)].iter_errors(doc))

# 1. every bundled file
for f in files:
    doc = json.load(open(os.path.join(root, f)))
    e = errors(doc)
    assert not e, f"{f}: rejected by the {kind(doc)} schema: {e[0].json_path}: {e[0].message}"
print(f"bundled: {len(files)} files valid")

# 2. the bad files (validate rejects each)
for n in sorted(os.listdir(bad)):
    if not n.endswith(".json"):
        continue
    doc = json.load(open(os.path.join(bad, n)))
    assert errors(doc), f"bad file {n}: the schema accepts what validate rejects"
print("bad: every one rejected")

# 3. differential: mutations of the bundled files
rng = random.Random(10)
strings = set()
def walk(v):
    if isinstance(v, dict):
        for k, x in v.items():
            strings.add(k); walk(x)
    elif isinstance(v, list):
        for x in v: walk(x)
    elif isinstance(v, str) and len(v) < 40:
        strings.add(v)
docs = [json.load(open(os.path.join(root, f))) for f in files]
for d in docs: walk(d)
strings = sorted(strings)

def nodes(v, path=()):
    yield path
    if isinstance(v, dict):
        for k, x in v.items(): yield from nodes(x, path + (k,))
    elif isinstance(v, list):
        for i, x in enumerate(v): yield from nodes(x, path + (i,))

def get(v, path):
    for p in path: v = v[p]
    return v

def mutate(doc):
    d = copy.deepcopy(doc)
    path = rng.choice(list(nodes(d))[1:])
    parent, key = get(d, path[:-1]), path[-1]
    v = parent[key]
    r = rng.random()
    if r < 0.12 and isinstance(parent, dict):
        del parent[key]
    elif r < 0.2 and isinstance(parent, dict):
        parent[rng.choice(strings)] = copy.deepcopy(v)
    elif isinstance(v, bool) or r < 0.28:
        parent[key] = rng.choice([True, False, None, "x", 0, [], {}, 1.5])
    elif isinstance(v, (int, float)):
        parent[key] = rng.choice([0, 1, -1, 0.5, 2, 3, 100, 1e6, 1e13, -1e6,
                                  v * 2, v / 2, -v, v + 1, int(v) + 0.5])
    elif isinstance(v, str):
        parent[key] = rng.choice(strings)
    elif isinstance(v, list) and v:
        if rng.random() < 0.5: v.pop(rng.randrange(len(v)))
        else: v.append(copy.deepcopy(rng.choice(v)))
    else:
        parent[key] = rng.choice(strings)
    return d

os.makedirs(mut)
names = []
for i in range(2000):
    d = mutate(rng.choice(docs))
    n = os.path.join(mut, f"m{i:04d}.json")
    json.dump(d, open(n, "w"))
    names.append(n)
out = subprocess.run([os.environ["FL"], "validate"] + names, capture_output=True, text=True).stdout
ok = {l.rsplit(": ", 1)[0] for l in out.splitlines() if l.endswith(": ok")}
acc = rej = caught = 0
for n in names:
    doc = json.load(open(n))
    e = errors(doc)
    if n in ok:
        acc += 1
        assert not e, f"{n}: validate accepts, the schema rejects: {e[0].json_path}: {e[0].message}\n{json.dumps(doc)[:2000]}"
    else:
        rej += 1
        caught += bool(e)
print(f"mutations: {acc} accepted by validate (all by the schema), "
      f"{rej} rejected, of them {caught} by the schema ({100 * caught / max(rej, 1):.0f} %)")
assert acc >= 100 and rej >= 100, (acc, rej)
assert caught >= 0.8 * rej, f"the schema rejects only {caught} of the {rej} files validate rejects"
PY
cat "$T/check.out" >&2
has "$T/check.out" "bundled: ${#files[@]} files valid"
has "$T/check.out" "bad: every one rejected"
ge "$nbad" 40 "bad files"
say "PASS: schema matches the loader ($nbad bad files, mutations: $(grep mutations "$T/check.out"))"

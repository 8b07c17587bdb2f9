# wallet_lib.sh — shared by tests/integration/test_wallet_*.sh (source it
# after lib.sh): the example wallet stack under a bundled scenario, on free
# loopback ports, with the scenario's targets moved to them.

WB=$O/examples/wallet
FL=${WALLET_FL:-$FL} # another controller build to drive the stack with
[ -x "$WB/wallet" ] || fail "the example wallet is not built ($WB/wallet): run make"

# wallet_port — a free port below the ephemeral range: the stack makes many
# outgoing connections (one per settlement attempt), and a listener port
# taken from the ephemeral range can be taken by one of them before the
# server binds it.
wallet_port() {
  $PY -c '
import random, socket
lo, hi = (int(x) for x in open("/proc/sys/net/ipv4/ip_local_port_range").read().split())
for _ in range(1000):
    p = random.randrange(10000, lo if lo > 12000 else 30000)
    if lo <= p <= hi:
        continue
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        continue
    print(p)
    break
'
}

# wallet_scenario SRC DST PORTS_PREFIX — SRC with its tcp targets moved to
# the ports in ${PREFIX}_{VENUE,CUSTODIAN,FEED} and its ledger to $T/PREFIX/.
wallet_scenario() {
  local src=$1 dst=$2 p=$3
  local v=${p}_VENUE c=${p}_CUSTODIAN f=${p}_FEED
  $PY - "$src" "$dst" "${!v}" "${!c}" "${!f}" "$T/$p" <<'PYEOF'
import json, sys
src, dst, venue, cust, feed, d = sys.argv[1:]
s = json.load(open(src))
ports = {"venue": venue, "custodian": cust, "feed": feed}
for name, t in s["targets"].items():
    if "tcp" in t:
        t["tcp"] = "127.0.0.1:%s" % ports[name]
    elif "path" in t:
        t["path"] = d + "/ledger*"
json.dump(s, open(dst, "w"), indent=1)
PYEOF
  "$FL" validate "$dst" >/dev/null || fail "$dst invalid"
}

# wallet_drill NAME SCENARIO SPEED SECONDS [WALLET_FLAGS…] — start the stack
# under `faultline run -s SCENARIO --speed SPEED` in the background, the
# probe's users running SECONDS. Leaves the controller's pid in
# WPID_<NAME>; wallet_wait NAME waits for it. Files: $T/NAME.tl (timeline),
# $T/NAME.out (probe records printed to stdout), $T/NAME.err, $T/NAME.rc.
wallet_drill() {
  local name=$1 spec=$2 speed=$3 secs=$4; shift 4
  local port
  for port in WALLET VENUE CUSTODIAN FEED; do
    printf -v "${name}_${port}" '%s' "$(wallet_port)"
  done
  mkdir -p "$T/$name"
  wallet_scenario "$spec" "$T/$name.json" "$name"
  local w=${name}_WALLET v=${name}_VENUE c=${name}_CUSTODIAN f=${name}_FEED
  WALLET_PORT=${!w} VENUE_PORT=${!v} CUSTODIAN_PORT=${!c} FEED_PORT=${!f} \
    bg_fl sh -c 'exec "$@" >"$0.out" 2>"$0.err"; ' "$T/$name" \
      "$FL" run -s "$T/$name.json" --speed "$speed" -o "$T/$name.tl" -- \
      "$FL_ROOT/examples/wallet/stack.sh" --bin "$WB" --seconds "$secs" --drain-s "${WALLET_DRAIN_S:-45}" \
      --rate "${WALLET_RATE:-40}" --accounts "${WALLET_ACCOUNTS:-8}" \
      --ledger "$T/$name/ledger.log" -- "$@"
  printf -v "WPID_$name" '%s' "$!"
}

wallet_wait() {
  local pid=WPID_$1 rc=0
  wait "${!pid}" || rc=$?
  echo "$rc" >"$T/$1.rc"
  say "$1: faultline run exited $rc; $(tail -n 1 "$T/$1.err")"
}

# wallet_records NAME — every probe/metric/invariant record of the run, one
# JSON object a line: the timeline's (from FAULTLINE_EVENTS) and any the
# probe printed to stdout (FAULTLINE_EVENTS unset).
wallet_records() {
  $PY - "$T/$1.tl" "$T/$1.out" <<'PYEOF'
import json, sys
for path in sys.argv[1:]:
    try:
        for line in open(path):
            if line.startswith("{"):
                r = json.loads(line)
                if r.get("type") in ("probe", "metric", "invariant"):
                    print(json.dumps(r))
    except OSError:
        pass
PYEOF
}

# broken NAME INVARIANT — how many times the invariant was reported broken.
broken() {
  wallet_records "$1" | $PY -c '
import json, sys
print(sum(1 for l in sys.stdin for r in [json.loads(l)]
          if r["type"] == "invariant" and r["name"] == sys.argv[1] and not r["ok"]))' "$2"
}

# held NAME INVARIANT — 1 when the probe's end-of-drill record says it held.
held() {
  wallet_records "$1" | $PY -c '
import json, sys
print(sum(1 for l in sys.stdin for r in [json.loads(l)]
          if r["type"] == "invariant" and r["name"] == sys.argv[1] and r["ok"]))' "$2"
}

# probe_stat NAME STAT — over the probe records: count, error_rate, p99_ms.
probe_stat() {
  wallet_records "$1" | $PY -c '
import json, sys
p = [r for l in sys.stdin for r in [json.loads(l)] if r["type"] == "probe"]
lat = sorted(r["latency_ms"] for r in p) or [0]
print({"count": len(p), "error_rate": sum(not r["ok"] for r in p) / max(len(p), 1),
       "p99_ms": lat[min(len(lat) - 1, int(len(lat) * 0.99))]}[sys.argv[1]])' "$2"
}

# budget NAME KEY DEFAULT — the scenario's budgets.KEY (metric_max.X as
# "metric_max.X"), or DEFAULT when it has none.
budget() {
  $PY - "$T/$1.json" "$2" "$3" <<'PYEOF'
import json, sys
b = json.load(open(sys.argv[1])).get("budgets", {})
for k in sys.argv[2].split("."):
    b = b.get(k) if isinstance(b, dict) else None
print(sys.argv[3] if b is None else b)
PYEOF
}

# gated NAME — 1 when the controller evaluated the probe's budgets (its
# summary names invariant_violations), else 0.
gated() {
  $PY - "$T/$1.tl" <<'PYEOF'
import json, sys
s = [json.loads(l) for l in open(sys.argv[1]) if '"summary"' in l]
print(int(any(b.get("budget") == "invariant_violations" for b in (s[-1].get("budgets") or []))) if s else 0)
PYEOF
}

INVARIANTS="no_funds_before_finality no_double_settlement fill_within_quote nothing_pending ledger_reconciles"

# check_safe NAME — the safe wallet: every invariant held, the scenario's
# probe budgets held, exit status 0.
check_safe() {
  local n=$1 inv
  ge "$(probe_stat "$n" count)" 50 "$n: probe requests"
  # what broke first, before the exit status that only says something did
  for inv in $INVARIANTS; do
    [ "$(held "$n" "$inv")" = 1 ] ||
      say "$n: $inv: $(wallet_records "$n" | grep "\"$inv\"" | tail -n 1)"
    eq "$(broken "$n" "$inv")" 0 "$n: $inv violations"
    eq "$(held "$n" "$inv")" 1 "$n: $inv held at the end"
  done
  eq "$(cat "$T/$n.rc")" 0 "$n: faultline run's exit status"
  le "$(probe_stat "$n" error_rate)" "$(budget "$n" probe_error_rate 0.4)" "$n: probe error rate"
  le "$(probe_stat "$n" p99_ms)" "$(budget "$n" probe_p99_ms 3000)" "$n: probe p99 ms"
}

# check_weak NAME INVARIANT — the weak flag's violation shows; with the
# controller's budgets (invariant_violations: 0) the run exits 3.
check_weak() {
  local n=$1 inv=$2
  # A stale quote costs something only when prices move: the simulators
  # follow the market only where the controller serves FAULTLINE_MARKET.
  if [ "$inv" = fill_within_quote ] && ! grep -q FAULTLINE_MARKET "$FL"; then
    say "$n: $FL serves no FAULTLINE_MARKET: the feed is calm, $inv not asserted"
    return 0
  fi
  ge "$(broken "$n" "$inv")" 1 "$n: $inv violations"
  if [ "$(gated "$n")" = 1 ]; then
    eq "$(cat "$T/$n.rc")" 3 "$n: exit status with a broken budget"
  else
    eq "$(cat "$T/$n.rc")" 0 "$n: faultline run's exit status"
  fi
}

# scenario_test SCENARIO SPEED SECONDS [FLAG:INVARIANT…] — the safe wallet
# and each weak flag, side by side under the same scenario: the safe one
# holds every invariant and budget; each weak flag breaks its invariant
# (the fix — dropping the flag — is what removes it).
scenario_test() {
  local sc=$1 speed=$2 secs=$3 pair flag n; shift 3
  wallet_drill safe "$FL_ROOT/scenarios/$sc.json" "$speed" "$secs"
  for pair in "$@"; do
    flag=${pair%%:*}
    wallet_drill "${flag//-/_}" "$FL_ROOT/scenarios/$sc.json" "$speed" "$secs" "--unsafe-$flag"
  done
  wallet_wait safe
  for pair in "$@"; do flag=${pair%%:*}; wallet_wait "${flag//-/_}"; done
  if [ -n "${WALLET_SURVEY:-}" ]; then
    for n in safe early_credit retry stale_quote; do
      [ -f "$T/$n.rc" ] || continue
      $PY -c '
import json, sys
s = [json.loads(l) for l in open(sys.argv[1]) if "\"summary\"" in l]
for b in (s[-1].get("budgets") or []) if s else []:
    print("   budget", b.get("budget"), b.get("limit"), b.get("measured"), b.get("state"), b.get("broke_ms"))' "$T/$n.tl"
      echo "SURVEY $n rc=$(cat $T/$n.rc) n=$(probe_stat $n count) err=$(probe_stat $n error_rate) p99=$(probe_stat $n p99_ms) $(for i in $INVARIANTS; do printf '%s=%s ' ${i:0:12} $(broken $n $i); done)"
    done
    return 0
  fi
  check_safe safe
  say "safe: every invariant held; errors $(probe_stat safe error_rate), p99 $(probe_stat safe p99_ms) ms"
  for pair in "$@"; do
    flag=${pair%%:*} n=${pair%%:*}; n=${n//-/_}
    check_weak "$n" "${pair#*:}"
    say "--unsafe-$flag: ${pair#*:} broken $(broken "$n" "${pair#*:}") times"
  done
}

# wallet_lib.sh — shared by tests/integration/test_wallet_*.sh (source it
# after lib.sh): the example wallet stack under a bundled scenario, on free
# loopback ports, with the scenario's targets moved to them.

WB=$O/examples/wallet
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
      "$FL_ROOT/examples/wallet/stack.sh" --bin "$WB" --seconds "$secs" --drain-s 15 \
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

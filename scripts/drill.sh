#!/usr/bin/env bash
# drill.sh BUILD_DIR [SCENARIO_OR_PROFILE] — the bundled drill: start the
# example wallet's dependencies on loopback, run the unmodified wallet under
# faultline, and say what happened.
#
# The default is the market-shock drill: scenarios/gap-down.json, its whole
# 3 h of market time compressed into 45 s (--speed 240), the wallet running
# for as long. Another scenario gets a speed that fits it into 45 s; a
# profile (make drill DRILL=profiles/custodian-timeout.json) runs 15 s.
# Override with DRILL_SPEED and DRILL_SECONDS.
set -euo pipefail
cd "$(dirname "$0")/.."
O=${1:-build}
SPEC=${2:-${DRILL:-scenarios/gap-down.json}}
FL=${FL_BIN:-$O/faultline}
PY=/usr/bin/python3
[ -x "$PY" ] || { echo "drill: needs /usr/bin/python3 (apt-get install python3)" >&2; exit 1; }
[ -f "$SPEC" ] || { echo "drill: no such scenario or profile: $SPEC" >&2; exit 1; }
out=$O/drill
mkdir -p "$out"
rm -f /tmp/faultline-wallet/ledger.log

if $PY -c 'import json, sys; sys.exit(0 if "market" in json.load(open(sys.argv[1])) else 1)' "$SPEC"; then
  # a scenario: its market duration (from the model's header) sets the pace
  dur=$("$FL" model -s "$SPEC" --format jsonl --ticks-every 3600000 | head -n 1 |
        $PY -c 'import json, sys; print(json.loads(sys.stdin.readline())["duration_s"])')
  SPEED=${DRILL_SPEED:-$($PY -c 'import math, sys; print(max(1, math.ceil(float(sys.argv[1]) / 45)))' "$dur")}
  SECONDS_RUN=${DRILL_SECONDS:-$($PY -c 'import math, sys; print(math.ceil(float(sys.argv[1]) / float(sys.argv[2])))' "$dur" "$SPEED")}
  specopt=(-s "$SPEC" --speed "$SPEED")
  pace=", --speed $SPEED: 1 s of drill = $($PY -c 'import sys; s = float(sys.argv[1]); print("%g min" % (s / 60) if s >= 60 else "%g s" % s)' "$SPEED") of market"
else
  SECONDS_RUN=${DRILL_SECONDS:-15}
  specopt=(-p "$SPEC")
  pace=""
fi

fifo=$(mktemp -u /tmp/faultline-drill.XXXXXX)
mkfifo "$fifo"
$PY examples/wallet/deps.py >"$fifo" 2>"$out/deps.err" &
deps=$!
trap 'kill $deps 2>/dev/null; rm -f "$fifo"' EXIT
read -r -t 20 ready <"$fifo" || true
if [ "${ready:-}" != READY ]; then
  echo "drill: the wallet's dependencies did not start (ports 9101, 9201, 9301 busy?):" >&2
  cat "$out/deps.err" >&2
  exit 1
fi

echo "== faultline drill: ${SPEC} against examples/wallet/wallet.py (${SECONDS_RUN} s${pace})"
echo "   $FL run ${specopt[*]} -o $out/timeline.jsonl -- $PY examples/wallet/wallet.py --seconds $SECONDS_RUN"
set +e
"$FL" run "${specopt[@]}" -o "$out/timeline.jsonl" -- \
  $PY examples/wallet/wallet.py --seconds "$SECONDS_RUN" >"$out/wallet.json"
rc=$?
set -e
$PY scripts/drill_report.py "$out/timeline.jsonl" "$out/wallet.json" "$rc" "$FL"
exit $rc

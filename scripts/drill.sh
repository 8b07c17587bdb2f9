#!/usr/bin/env bash
# drill.sh BUILD_DIR [SCENARIO_OR_PROFILE] — the bundled drill: run the
# example wallet stack (examples/wallet/stack.sh: custodian, venue and feed
# simulators, the unmodified wallet, the probe playing its users) under
# faultline on loopback, and say what happened.
#
# The default is the market-shock drill: scenarios/gap-down.json, its whole
# 3 h of market time compressed into 45 s (--speed 240), the probe's users
# running for as long. Another scenario gets a speed that fits it into 45 s;
# a profile (make drill DRILL=profiles/custodian-timeout.json) runs 15 s.
# Override with DRILL_SPEED and DRILL_SECONDS.
#
# The wallet runs as a release candidate with its three weak spots switched
# on (WALLET_FLAGS, default "--unsafe-early-credit --unsafe-retry
# --unsafe-stale-quote"): the report says what broke first; fix it by
# dropping that flag (make drill WALLET_FLAGS="--unsafe-retry
# --unsafe-stale-quote"), run again. WALLET_FLAGS= runs the safe wallet.
#
# Exit status: 0 when the drill ran and gave its verdict (held or not),
# non-zero when it could not run. DRILL_GATE=1 exits with faultline's own
# status instead (3 when the command succeeded but a budget broke).
set -euo pipefail
cd "$(dirname "$0")/.."
O=${1:-build}
SPEC=${2:-${DRILL:-scenarios/gap-down.json}}
FL=${FL_BIN:-$O/faultline}
PY=/usr/bin/python3
WALLET_FLAGS=${WALLET_FLAGS---unsafe-early-credit --unsafe-retry --unsafe-stale-quote}
[ -x "$PY" ] || { echo "drill: needs /usr/bin/python3 (apt-get install python3)" >&2; exit 1; }
[ -f "$SPEC" ] || { echo "drill: no such scenario or profile: $SPEC" >&2; exit 1; }
out=$O/drill
mkdir -p "$out"

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

# The stack's ports are the ones the bundled scenarios and profiles target.
stack=(examples/wallet/stack.sh --bin "$O/examples/wallet" --seconds "$SECONDS_RUN"
       --ledger /tmp/faultline-wallet/ledger.log -- $WALLET_FLAGS)
echo "== faultline drill: ${SPEC} against the example wallet stack (${SECONDS_RUN} s${pace})"
echo "   $FL run ${specopt[*]} -o $out/timeline.jsonl -- ${stack[*]}"
set +e
"$FL" run "${specopt[@]}" -o "$out/timeline.jsonl" -- "${stack[@]}" \
  >"$out/probe.jsonl" 2>"$out/stack.err"
rc=$?
set -e
if [ $rc -ne 0 ] && [ $rc -ne 3 ]; then
  echo "drill: the stack failed (exit status $rc); its stderr ($out/stack.err):" >&2
  tail -n 20 "$out/stack.err" >&2
fi
# The report, from the timeline alone: text here, one HTML file beside it.
# Its exit status is the verdict (3: a budget broke); 1 means the timeline
# could not be read.
set +e
"$FL" report "$out/timeline.jsonl" -o "$out/report.html"
rrc=$?
set -e
if [ $rrc -ne 0 ] && [ $rrc -ne 3 ]; then
  echo "drill: faultline report failed (exit status $rrc)" >&2
  exit 1
fi
echo "   report: $out/report.html"
if [ "${DRILL_GATE:-0}" = 1 ] || { [ $rc -ne 0 ] && [ $rc -ne 3 ]; }; then
  exit $rc
fi

#!/usr/bin/env bash
# drill.sh BUILD_DIR [PROFILE_OR_SCENARIO] — the bundled drill: start the
# example wallet's dependencies on loopback, run the unmodified wallet under
# faultline with the bundled profile, and say what happened.
set -euo pipefail
cd "$(dirname "$0")/.."
O=${1:-build}
SPEC=${2:-${DRILL:-profiles/custodian-timeout.json}}
SECONDS_RUN=${DRILL_SECONDS:-15}
PY=/usr/bin/python3
[ -x "$PY" ] || { echo "drill: needs /usr/bin/python3 (apt-get install python3)" >&2; exit 1; }
out=$O/drill
mkdir -p "$out"
rm -f /tmp/faultline-wallet/ledger.log

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

case $SPEC in
  scenarios/*) specopt=(-s "$SPEC" --speed "${DRILL_SPEED:-60}") ;;
  *) specopt=(-p "$SPEC") ;;
esac
echo "== faultline drill: ${SPEC} against examples/wallet/wallet.py (${SECONDS_RUN}s)"
echo "   $O/faultline run ${specopt[*]} -o $out/timeline.jsonl -- $PY examples/wallet/wallet.py"
set +e
"${FL_BIN:-$O/faultline}" run "${specopt[@]}" -o "$out/timeline.jsonl" -- \
  $PY examples/wallet/wallet.py --seconds "$SECONDS_RUN" >"$out/wallet.json"
rc=$?
set -e
$PY scripts/drill_report.py "$out/timeline.jsonl" "$out/wallet.json" "$rc"
exit $rc

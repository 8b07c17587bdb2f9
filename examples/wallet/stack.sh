#!/usr/bin/env bash
# stack.sh — the whole example wallet stack on loopback, for a drill:
#
#   faultline run -s SCENARIO -- examples/wallet/stack.sh [OPTIONS] [-- WALLET_FLAGS...]
#
# starts the dependency simulators (custodian, venue, feed), then the wallet,
# then the probe (the users); when the probe is done it stops them all and
# exits with the probe's status (0: the drill ran; the verdict is the
# budgets'). Only the wallet is under test: the simulators and the probe are
# started without libfaultline.so in LD_PRELOAD, so faults reach the wallet's
# own calls and nothing else — as in production, where the custodian is
# somebody else's service. The simulators and the probe keep FAULTLINE_MARKET
# and FAULTLINE_EVENTS: the market drives the simulators, the probe writes
# its records to the drill.
#
# Options: --bin DIR (the built programs; default build/examples/wallet),
#   --seconds S (the probe's load, default 30), --rate R (requests/s, 20),
#   --accounts N (4), --drain-s S (20), --ledger PATH
#   (/tmp/faultline-wallet/ledger.log; its directory is created, the file
#   truncated). Ports: WALLET_PORT (9401), VENUE_PORT (9101),
#   CUSTODIAN_PORT (9201), FEED_PORT (9301) in the environment.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=$here/../../build/examples/wallet
seconds=30 rate=20 accounts=4 drain=20 ledger=/tmp/faultline-wallet/ledger.log
while [ $# -gt 0 ]; do
  case $1 in
    --bin) bin=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --accounts) accounts=$2; shift 2 ;;
    --drain-s) drain=$2; shift 2 ;;
    --ledger) ledger=$2; shift 2 ;;
    --) shift; break ;;
    *) echo "stack.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
: "${WALLET_PORT:=9401}" "${VENUE_PORT:=9101}" "${CUSTODIAN_PORT:=9201}" "${FEED_PORT:=9301}"
for p in wallet venue custodian feed probe; do
  [ -x "$bin/$p" ] || { echo "stack.sh: $bin/$p not built (run make)" >&2; exit 2; }
done
mkdir -p "$(dirname "$ledger")"
: >"$ledger"

# LD_PRELOAD without the shim, for everything that is not under test.
keep=()
IFS=': ' read -r -a pre <<<"${LD_PRELOAD:-}"
for l in "${pre[@]}"; do
  case $l in ''|*/libfaultline.so) ;; *) keep+=("$l") ;; esac
done
world=(env -u FAULTLINE_CTL)
if [ ${#keep[@]} -eq 0 ]; then world+=(-u LD_PRELOAD); else world+=("LD_PRELOAD=${keep[*]}"); fi

dir=$(mktemp -d /tmp/faultline-stack.XXXXXX)
pids=()
stop_all() {
  local p
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$dir"
}
trap stop_all EXIT
trap 'exit 143' TERM INT

# start NAME CMD… — start a server, wait for its READY line (it prints it
# once bound: no sleeps, no retries).
start() {
  local name=$1 line=""; shift
  mkfifo "$dir/$name"
  "$@" >"$dir/$name" &
  pids+=($!)
  read -r -t 20 line <"$dir/$name" || true
  [ "$line" = READY ] || { echo "stack.sh: $name did not start" >&2; exit 1; }
}

start custodian "${world[@]}" "$bin/custodian" --port "$CUSTODIAN_PORT"
start venue "${world[@]}" "$bin/venue" --port "$VENUE_PORT"
start feed "${world[@]}" "$bin/feed" --port "$FEED_PORT"
start wallet "$bin/wallet" --port "$WALLET_PORT" --venue-port "$VENUE_PORT" \
  --custodian-port "$CUSTODIAN_PORT" --feed-port "$FEED_PORT" --ledger "$ledger" "$@"
set +e
"${world[@]}" "$bin/probe" --wallet-port "$WALLET_PORT" --custodian-port "$CUSTODIAN_PORT" \
  --ledger "$ledger" --seconds "$seconds" --rate "$rate" --accounts "$accounts" --drain-s "$drain"
rc=$?
exit $rc

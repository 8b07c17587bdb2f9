#!/usr/bin/env bash
# The example wallet stack under scenarios/wick-recover.json at --speed 1200 (15 s):
# faults peak at the trough and decay as the market heals: the safe wallet
# holds (its attempt timeouts grow past the custodian's late acks, its ledger
# commits in groups); each weak flag breaks its invariant.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/wallet_lib.sh"
scenario_test wick-recover 1200 15 early-credit:no_funds_before_finality retry:no_double_settlement stale-quote:fill_within_quote

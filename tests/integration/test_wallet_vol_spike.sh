#!/usr/bin/env bash
# The example wallet stack under scenarios/vol-spike.json at --speed 960 (15 s):
# jittery, not broken: the safe wallet holds; early credit shows under the
# settlement congestion of the spike's liquidations, the stale quote while
# quotes lag a fast market.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/wallet_lib.sh"
scenario_test vol-spike 960 15 early-credit:no_funds_before_finality stale-quote:fill_within_quote

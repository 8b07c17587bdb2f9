#!/usr/bin/env bash
# The example wallet stack under scenarios/slow-bleed.json at --speed 1440 (15 s):
# patience, not panic: nothing in this market is violent enough to expose a
# weak spot; the safe wallet holds every invariant and the budgets (a drill
# that finds nothing is a result too).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/wallet_lib.sh"
scenario_test slow-bleed 1440 15 

#!/usr/bin/env bash
# The example wallet stack under scenarios/venue-outage-crash.json at
# --speed 720 (15 s): the venue is down, the feed silent, and alpha returns
# with a gap and a burst of liquidations: the safe wallet holds every
# invariant and the budgets; early credit and non-idempotent retries each
# break their invariant. (The feed resumes with the venue, so a stale quote
# is rarely traded on here.)
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/wallet_lib.sh"
scenario_test venue-outage-crash 720 15 early-credit:no_funds_before_finality retry:no_double_settlement

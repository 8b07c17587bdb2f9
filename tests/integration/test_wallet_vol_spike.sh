#!/usr/bin/env bash
# The example wallet stack under scenarios/vol-spike.json at --speed 960 (15 s):
# jittery, not broken: the safe wallet holds; early credit shows under the
# settlement congestion of the spike's liquidations.
# Not asserted here: --unsafe-stale-quote. In this scenario spot stays
# within a few % (range 4.1 %), so a stale quote costs more than the
# probe's 120 bps only for sales queued across a venue outage and filled at
# the venue's return: one event per run, which the machine's load decides
# (measured beside two busy loops: 13, 0, 0, 0, 0 violations in 5 runs; 6
# and 9 without them). test_wallet_wick_recover asserts fill_within_quote, where the
# wick makes it robust (11-12 violations a run under the same load).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/wallet_lib.sh"
scenario_test vol-spike 960 15 early-credit:no_funds_before_finality

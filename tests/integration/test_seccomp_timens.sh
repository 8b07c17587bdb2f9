#!/usr/bin/env bash
# Clocks of static programs (seccomp mode): monotonic/boottime offset rules
# are carried by a time namespace made for the program before exec
# (automatically, or with --timens); what a namespace cannot do is refused
# before CMD starts:
#  - busybox cat /proc/uptime (and a child shell's) shows the boottime offset;
#  - tests/helpers/scstatic reads CLOCK_MONOTONIC with the monotonic offset;
#  - --timens alone: the program is in its own time namespace;
#  - a realtime rule (read through the vDSO, never offset by a namespace),
#    a monotonic drift, and --timens with the shim are errors, CMD never runs.
source "$(dirname "$0")/lib.sh"
BB=/bin/busybox
SC=$O/tests/helpers/scstatic
need "$BB" "$SC"
[ -e /proc/self/ns/time ] || skip "no time namespaces (CONFIG_TIME_NS) in this kernel"

DAY=86400
profile "$T/boot.json" <<JSON
{"faultline": 1, "seed": 1, "targets": {},
 "rules": [{"clock": "boottime", "fault": "offset", "ms": $((DAY * 1000))}]}
JSON
"$FL" run -v -p "$T/boot.json" -o "$T/boot.jsonl" -- "$BB" sh -c "$BB cat /proc/uptime; $BB sh -c '$BB cat /proc/uptime'" >"$T/boot.out" 2>"$T/boot.err"
out=$(cut -d' ' -f1 /proc/uptime)
has "$T/boot.err" "faultline: time namespace: monotonic +0.000 s, boottime +86400.000 s"
for inside in $(cut -d' ' -f1 "$T/boot.out"); do
  d=$(awk -v a="$inside" -v b="$out" 'BEGIN{printf "%d", a - b}')
  ge "$d" $((DAY - 30)) "uptime inside - outside (boottime offset one day)"
  le "$d" $((DAY + 30)) "uptime inside - outside (boottime offset one day)"
done
eq "$(wc -l <"$T/boot.out")" 2 "the program and its child"

profile "$T/mono.json" <<JSON
{"faultline": 1, "seed": 1, "targets": {},
 "rules": [{"clock": "monotonic", "fault": "offset", "ms": 3600000},
           {"clock": "monotonic", "fault": "offset", "ms": 1800000}]}
JSON
"$FL" run -p "$T/mono.json" -o "$T/mono.jsonl" -- "$SC" clocks - >"$T/mono.out"
outm=$($PY -c 'import time; print(int(time.monotonic()))')
inm=$(sed -n 's/^monotonic=\([0-9]*\) .*/\1/p' "$T/mono.out")
ge $((inm - outm)) $((5400 - 30)) "CLOCK_MONOTONIC inside - outside (1 h + 30 min: offsets add up)"
le $((inm - outm)) $((5400 + 30)) "CLOCK_MONOTONIC inside - outside"

# --timens without a clock rule: its own namespace all the same
"$FL" run --mode seccomp --timens -p "$T/mono.json" -o "$T/ns.jsonl" -- "$BB" readlink /proc/self/ns/time >"$T/ns.out"
[ "$(cat "$T/ns.out")" != "$(readlink /proc/self/ns/time)" ] || fail "--timens: the program shares our time namespace"
profile "$T/empty.json" <<JSON
{"faultline": 1, "seed": 1, "targets": {}, "rules": []}
JSON
"$FL" run --mode seccomp --timens -p "$T/empty.json" -o "$T/ns2.jsonl" -- "$BB" readlink /proc/self/ns/time >"$T/ns2.out"
[ "$(cat "$T/ns2.out")" != "$(readlink /proc/self/ns/time)" ] || fail "--timens with no rule: no namespace"
"$FL" run --mode seccomp -p "$T/empty.json" -o "$T/ns3.jsonl" -- "$BB" readlink /proc/self/ns/time >"$T/ns3.out"
eq "$(cat "$T/ns3.out")" "$(readlink /proc/self/ns/time)" "no clock rule, no --timens: our namespace"

# refused before CMD starts
refused() { # NAME PROFILE_RULE EXPECT [faultline options]
  local name=$1 rule=$2 expect=$3; shift 3
  profile "$T/$name.json" <<JSON
{"faultline": 1, "seed": 1, "targets": {}, "rules": [$rule]}
JSON
  local rc=0
  "$FL" run "$@" -p "$T/$name.json" -o "$T/$name.jsonl" -- "$BB" touch "$T/$name.ran" 2>"$T/$name.err" || rc=$?
  [ "$rc" -ne 0 ] || fail "$name: faultline run succeeded"
  [ ! -e "$T/$name.ran" ] || fail "$name: CMD ran"
  has "$T/$name.err" "$expect"
}
refused real '{"clock": "realtime", "fault": "offset", "ms": 3600000}' \
  "rules\[0\].*realtime clock rule cannot reach a program in seccomp mode.*vDSO"
refused drift '{"clock": "monotonic", "fault": "drift", "ppm": 500}' \
  "rules\[0\].*constant \"offset\""
refused shim '{"clock": "monotonic", "fault": "offset", "ms": 1000}' \
  "--timens needs --mode seccomp" --mode preload --timens
say "ok"

#!/usr/bin/env bash
# bench/bench_bpf.sh — the eBPF observer's cost, side by side, as a markdown
# section (bench/run.sh pastes it into RESULTS.md; runs alone too).
#
# Workload: `dd if=/dev/zero of=/dev/null bs=1 count=N` (1 read + 1 write
# system call per block; N = 1 M). Time: dd's own "copied, X s" (the
# controller's start-up and BPF loading are not in it). Configurations,
# interleaved round by round (the machine is shared: a slow moment hits all
# of them alike), median of the rounds:
#   native          dd alone
#   run --no-bpf    under `faultline run --mode preload --no-bpf`
#   run (observer)  under `faultline run --mode preload`: dd in its cgroup,
#                   every call through sys_enter + sys_exit programs
#   bystander       dd alone while another `faultline run` observes its own
#                   cgroup: what the rest of the machine pays (the
#                   programs run for every task and return at the cgroup
#                   compare)
# Cost per observed call = (observer - no-bpf) / (2 N).
# Needs root (CAP_BPF) and BTF. Knobs: O, BENCH_BPF_ROUNDS (7), BENCH_BPF_N.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
O=${O:-build}
case $O in /*) ;; *) O=$ROOT/$O ;; esac
FL=$O/faultline
ROUNDS=${BENCH_BPF_ROUNDS:-7}
N=${BENCH_BPF_N:-1048576}
[ "${BENCH_QUICK:-0}" = 1 ] && { ROUNDS=3; N=131072; }
[ -x "$FL" ] || { echo "bench_bpf: $FL missing (run make)" >&2; exit 1; }
T=$(mktemp -d /tmp/flbenchbpf.XXXXXX)
BYST=
cleanup() { [ -n "$BYST" ] && kill "$BYST" 2>/dev/null; wait 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT

echo "## 7. The eBPF observer (issue 9)"
echo
if [ "$(id -u)" -ne 0 ] || [ ! -r /sys/kernel/btf/vmlinux ]; then
  echo "Not measured: needs root and /sys/kernel/btf/vmlinux."
  exit 0
fi

# dd's own elapsed seconds, from its last stderr line
dd_s() { "$@" dd if=/dev/zero of=/dev/null bs=1 count="$N" 2>&1 >/dev/null |
           sed -n 's/.*copied, \([0-9.e-]*\) s.*/\1/p'; }

declare -A R
for cfg in native nobpf bpf bystander; do R[$cfg]=""; done
for r in $(seq 1 "$ROUNDS"); do
  R[native]+=" $(dd_s env)"
  R[nobpf]+=" $(dd_s "$FL" run -q --mode preload --no-bpf --)"
  R[bpf]+=" $(dd_s "$FL" run -q --mode preload --)"
  # a live observer elsewhere: its command waits on a fifo until we are done
  mkfifo "$T/up$r" "$T/go$r"
  "$FL" run -q --mode preload -- sh -c "echo up >$T/up$r; read x <$T/go$r" &
  BYST=$!
  read -r _ <"$T/up$r"
  R[bystander]+=" $(dd_s env)"
  echo go >"$T/go$r"
  wait "$BYST" || true
  BYST=
done

export N ROUNDS R_native="${R[native]}" R_nobpf="${R[nobpf]}" R_bpf="${R[bpf]}" \
  R_bystander="${R[bystander]}" LOAD="$(cut -d' ' -f1-3 /proc/loadavg)"
python3 - <<'PY'
import os, statistics as st
E = os.environ
n = int(E["N"])
med = {k: st.median(float(x) for x in E["R_" + k].split()) for k in
       ("native", "nobpf", "bpf", "bystander")}
calls = 2 * n
print(f"`dd if=/dev/zero of=/dev/null bs=1 count={n}` ({calls} system calls), "
      f"median of {E['ROUNDS']} interleaved rounds, dd's own elapsed time; "
      f"load at the end {E['LOAD']}. Goals: <= 150 ns per observed call, "
      f"<= 5 % on this loop.")
print()
print("| configuration | dd s | ns per call | vs run --no-bpf |")
print("|---|---:|---:|---:|")
names = {"native": "native (no faultline)", "nobpf": "run --no-bpf",
         "bpf": "run, observer on (dd in the observed cgroup)",
         "bystander": "native, while another run observes its cgroup"}
for k in ("native", "nobpf", "bpf", "bystander"):
    base = med["nobpf"] if k in ("nobpf", "bpf") else med["native"]
    print(f"| {names[k]} | {med[k]:.3f} | {med[k] / calls * 1e9:.0f} | "
          f"{(med[k] / base - 1) * 100:+.1f} %{'' if k in ('nobpf', 'bpf') else ' (vs native)'} |")
per = (med["bpf"] - med["nobpf"]) / calls * 1e9
by = (med["bystander"] - med["native"]) / calls * 1e9
print()
print(f"Observer cost per observed call: **{per:.0f} ns** "
      f"({(med['bpf'] / med['nobpf'] - 1) * 100:+.1f} % on the loop); "
      f"a process outside the cgroup pays {by:.0f} ns per call while an observer runs.")
PY

#!/usr/bin/env bash
# The eBPF observer: the kernel's own account of the command's cgroup, set
# beside what the shim injected. "Match" means, for an unconditional connect
# error rule on a target:
#   - every call the shim intercepted was failed by it and never reached the
#     kernel: the kernel saw 0 connects to the target returning the injected
#     errno, and summary hits = the calls the program saw refused;
#   - every connect that went around the shim (a raw syscall, a static
#     binary) reached the kernel and is counted there: kernel.escaped =
#     kernel.target.calls = the connects the program saw succeed;
#   - hits + escaped = the connects the program made.
# Also: a static program's real system calls are seen (busybox dd), io_uring
# submissions are counted, and
# --no-bpf turns it all off (one kernel record says so).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/bpf_lib.sh"
need /bin/busybox curl "$SHIM"
BB=/bin/busybox

P=$(free_port)
serve web http "$P" "body"
profile "$T/p.json" <<JSON
{"faultline": 1, "targets": {"web": {"tcp": "127.0.0.1:$P"}},
 "rules": [{"target": "web", "op": "connect", "fault": "error", "errno": "ECONNREFUSED"}]}
JSON

# 1. dynamic: 4 connects through libc (the shim fails them), 3 by raw
# syscall(SYS_connect) (invisible to the shim, made for real).
cat >"$T/client.py" <<PYEOF
import ctypes, errno, socket, struct
libc = ctypes.CDLL(None, use_errno=True)
SYS_connect = 42
refused = ok = 0
for i in range(4):
    s = socket.socket()
    try:
        s.connect(("127.0.0.1", $P)); ok += 1
    except ConnectionRefusedError:
        refused += 1
    s.close()
sa = struct.pack("<HH4s8x", socket.AF_INET, socket.htons($P), socket.inet_aton("127.0.0.1"))
for i in range(3):
    s = socket.socket()
    r = libc.syscall(SYS_connect, s.fileno(), sa, len(sa))
    if r == 0: ok += 1
    elif ctypes.get_errno() == errno.ECONNREFUSED: refused += 1
    s.close()
print(refused, ok)
PYEOF
"$FL" run -p "$T/p.json" -o "$T/dyn.jsonl" -- $PY "$T/client.py" >"$T/dyn.out"
read -r refused ok <"$T/dyn.out"
say "python: refused=$refused ok=$ok; summary: $(jget "$T/dyn.jsonl" 's["per_rule"][0]')"
eq "$refused" 4 "connects the program saw refused"
eq "$ok" 3 "connects the program saw succeed"
eq "$(jget "$T/dyn.jsonl" 'k[0]["observer"]')" True "observer on"
eq "$(jget "$T/dyn.jsonl" 's["per_rule"][0]["hits"]')" "$refused" "hits = refused"
eq "$(jget "$T/dyn.jsonl" 's["per_rule"][0]["kernel"]["escaped"]')" "$ok" "escaped = the raw syscalls"
eq "$(jget "$T/dyn.jsonl" 's["per_rule"][0]["kernel"]["target"]["results"].get("ok", 0)')" "$ok" "kernel: target connects ok"
eq "$(jget "$T/dyn.jsonl" 's["per_rule"][0]["kernel"]["target"]["results"].get("ECONNREFUSED", 0)')" 0 \
  "kernel: injected errors never reached the kernel"
eq "$(jget "$T/dyn.jsonl" 'sum(c["n"] for r in k for c in r.get("connects", []) if c["dst"] == "127.0.0.1:'"$P"'")')" "$ok" \
  "kernel records: connects to the target"

# 2. curl, twice, the first connect refused (nth 1): the kernel sees only
# the second.
profile "$T/nth.json" <<JSON
{"faultline": 1, "targets": {"web": {"tcp": "127.0.0.1:$P"}},
 "rules": [{"target": "web", "op": "connect", "nth": 1, "fault": "error", "errno": "ECONNREFUSED"}]}
JSON
"$FL" run -p "$T/nth.json" -o "$T/curl.jsonl" -- sh -c \
  "curl -s -o /dev/null http://127.0.0.1:$P/; echo \$?; curl -s -o /dev/null http://127.0.0.1:$P/; echo \$?" >"$T/curl.out"
eq "$(tr '\n' ' ' <"$T/curl.out")" "7 0 " "curl exits"
eq "$(jget "$T/curl.jsonl" 's["per_rule"][0]["hits"]')" 1 "curl: hits"
eq "$(jget "$T/curl.jsonl" 's["per_rule"][0]["kernel"]["target"]["calls"]')" 1 "curl: the kernel saw the connect the shim let through"
eq "$(jget "$T/curl.jsonl" '"escaped" in s["per_rule"][0]["kernel"]')" False "no 'escaped' for a conditional rule"

# 3. static: busybox wget under the same error rule. In preload mode the
# shim cannot reach it; whichever layer handles it, every connect is either
# injected or counted as escaped.
rc=0
"$FL" run -p "$T/p.json" -o "$T/bb.jsonl" -- "$BB" timeout 10 "$BB" wget -q -O /dev/null "http://127.0.0.1:$P/" || rc=$?
hits=$(jget "$T/bb.jsonl" 's["per_rule"][0]["hits"]')
esc=$(jget "$T/bb.jsonl" 's["per_rule"][0]["kernel"]["escaped"]')
say "busybox wget: rc=$rc hits=$hits escaped=$esc"
eq "$((hits + esc))" 1 "static: hits + escaped = its one connect"
if [ "$hits" = 0 ]; then
  eq "$rc" 0 "static, not intercepted: wget succeeded"
  eq "$(jget "$T/bb.jsonl" 's["per_rule"][0]["kernel"]["target"]["results"]')" "{'ok': 1}" "static: the kernel saw it connect"
fi

# 4. a static program's real system calls: busybox dd bs=1 makes one read
# and one write per byte.
"$FL" run -o "$T/dd.jsonl" -- "$BB" dd if=/dev/zero of=/dev/null bs=1 count=5000 2>/dev/null
ge "$(ksum "$T/dd.jsonl" read n)" 5000 "kernel: dd's reads"
ge "$(ksum "$T/dd.jsonl" write n)" 5000 "kernel: dd's writes"
eq "$(ksum "$T/dd.jsonl" read errors)" 0 "kernel: dd's read errors"
# latency is sampled: one call in latency_sample (per CPU) is timed
eq "$(jget "$T/dd.jsonl" '(lambda S, h, n: 0.8 * n / S <= h <= 1.2 * n / S + 4)(k[0]["latency_sample"],
   sum(sum(r["syscalls"][c]["log2_ns"].values()) for r in k for c in ("read", "write") if c in r.get("syscalls", {})),
   sum(r["syscalls"].get(c, {}).get("n", 0) for r in k if "syscalls" in r for c in ("read", "write")))')" True \
  "kernel: dd's calls in the latency histogram, one in latency_sample"
# ... at random gaps: dd alternates read and write, and a fixed one in S
# (S even) timed only one of the two, every time
for c in read write; do
  eq "$(jget "$T/dd.jsonl" "(lambda S, h, n: h >= 0.5 * n / S)(k[0][\"latency_sample\"],
     sum(sum(r[\"syscalls\"][\"$c\"][\"log2_ns\"].values()) for r in k if \"$c\" in r.get(\"syscalls\", {})),
     sum(r[\"syscalls\"].get(\"$c\", {}).get(\"n\", 0) for r in k if \"syscalls\" in r))")" True \
    "kernel: dd's ${c}s are timed too (a sample of each call, not of one)"
done

# 5. errors by errno: openat of a missing file, 3 times, ENOENT.
"$FL" run -o "$T/enoent.jsonl" -- "$BB" sh -c 'for i in 1 2 3; do cat /nonexistent.$$ 2>/dev/null; done; true'
ge "$(jget "$T/enoent.jsonl" 'sum(r.get("syscalls", {}).get(n, {}).get("errno", {}).get("ENOENT", 0) for r in k for n in ("open", "openat"))')" 3 \
  "kernel: ENOENT from open/openat"

# 5b. io_uring, which no interposer sees: faultline's own controller (an
# io_uring event loop) as the observed program
# (a sanitizer build of faultline refuses to start behind a preloaded shim
# unless told that the link order is as intended)
"$FL" run -o "$T/uring.jsonl" -- env ASAN_OPTIONS=verify_asan_link_order=0 "$FL" run -q --no-bpf -- true
ge "$(jget "$T/uring.jsonl" 'sum(r.get("io_uring", {}).get("sqes", 0) for r in k)')" 1 "kernel: io_uring submissions"
ge "$(jget "$T/uring.jsonl" 'sum(r.get("io_uring", {}).get("ops", {}).get("POLL_ADD", 0) for r in k)')" 1 "kernel: io_uring POLL_ADD"

# 5c. only the calls the profile needs: with fentry/fexit, a profile on a
# socket's connect puts nothing on read/write (dd's reads are not seen),
# one on a file's read does; where the kernel refuses trampolines the
# record says so, and why, and every call is seen.
profile "$T/rd.json" <<JSON
{"faultline": 1, "targets": {"f": {"path": "$T/never/*"}},
 "rules": [{"target": "f", "op": "read", "fault": "error", "errno": "EIO"}]}
JSON
"$FL" run -p "$T/p.json" -o "$T/sel_sock.jsonl" -- "$BB" dd if=/dev/zero of=/dev/null bs=1 count=300 2>"$T/sel_sock.err"
"$FL" run -q -p "$T/p.json" -o "$T/sel_q.jsonl" -- "$BB" dd if=/dev/zero of=/dev/null bs=1 count=300 2>"$T/sel_q.err"
"$FL" run -p "$T/rd.json" -o "$T/sel_rd.jsonl" -- "$BB" dd if=/dev/zero of=/dev/null bs=1 count=300 2>/dev/null
hook=$(jget "$T/sel_sock.jsonl" 'k[0]["hook"]')
say "observer hook: $hook ($(jget "$T/sel_sock.jsonl" 'k[0].get("hook_why", "")'))"
if [ "$hook" = fentry/fexit ]; then
  eq "$(jget "$T/sel_sock.jsonl" 'sorted(k[0]["syscalls_observed"])')" "['connect', 'io_uring_enter']" \
    "connect-only profile: connect and io_uring_enter observed"
  eq "$(ksum "$T/sel_sock.jsonl" read n)" 0 "connect-only profile: dd's reads not observed"
  eq "$(jget "$T/sel_rd.jsonl" '"read" in k[0]["syscalls_observed"] and "fsync" not in k[0]["syscalls_observed"]')" True \
    "read profile: read observed, fsync not"
  ge "$(ksum "$T/sel_rd.jsonl" read n)" 300 "read profile: dd's reads observed"
  eq "$(ksum "$T/sel_rd.jsonl" fsync n)" 0 "read profile: no fsync account"
  eq "$(grep -c 'every process on this host' "$T/sel_sock.err")" 0 "fentry/fexit: no host-wide cost notice"
else
  eq "$hook" sys_enter/sys_exit "hook: the fallback"
  eq "$(jget "$T/sel_sock.jsonl" 'bool(k[0]["hook_why"]) and k[0]["syscalls_observed"] is None')" True \
    "fallback: says why, every call observed"
  ge "$(ksum "$T/sel_sock.jsonl" read n)" 300 "fallback: dd's reads seen under any profile"
  # the host pays for the fallback: faultline says so on its stderr (once,
  # with the reason and --no-bpf), and -q keeps it quiet
  eq "$(grep -c 'every system call of every process on this host.*--no-bpf' "$T/sel_sock.err")" 1 \
    "fallback: one notice of the host-wide cost"
  eq "$(grep -cF "$(jget "$T/sel_sock.jsonl" 'k[0]["hook_why"]')" "$T/sel_sock.err")" 1 "fallback: the notice gives the reason"
fi
eq "$(grep -c 'every process on this host' "$T/sel_q.err")" 0 "-q: no notice"

# 6. --no-bpf: no kernel records, no per-rule kernel account
"$FL" run --no-bpf -p "$T/p.json" -o "$T/off.jsonl" -- true
eq "$(jget "$T/off.jsonl" '[(r["observer"], r["why"]) for r in k]')" "[(False, '--no-bpf')]" "--no-bpf: one kernel record, saying so"
eq "$(jget "$T/off.jsonl" '"kernel" in s["per_rule"][0]')" False "--no-bpf: summary"
say "ok"

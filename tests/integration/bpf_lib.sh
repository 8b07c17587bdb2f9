# bpf_lib.sh — shared by tests/integration/test_bpf_*.sh (source after lib.sh).
# The eBPF layer needs root (CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN, and write
# access to the cgroup v2 tree) and a kernel with BTF: without them the test
# exits 77 saying which is missing (CI runs as root on such a kernel).
need bpftool "$FL"
[ "$(id -u)" -eq 0 ] || skip "the eBPF layer needs root (CAP_BPF and a writable cgroup v2)"
[ -r /sys/kernel/btf/vmlinux ] || skip "this kernel has no BTF (/sys/kernel/btf/vmlinux)"
grep -q ' - cgroup2 ' /proc/self/mountinfo || skip "no cgroup v2 hierarchy mounted"

# jget TIMELINE PYEXPR — evaluate PYEXPR with s = the summary record, k =
# the list of kernel records; print the result.
jget() {
  $PY - "$1" "$2" <<'PYEOF'
import json, sys
s, k = None, []
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["type"] == "summary": s = r
    if r["type"] == "kernel": k.append(r)
print(eval(sys.argv[2], {"json": json}, {"s": s, "k": k}))
PYEOF
}

# ksum TIMELINE SYSCALL FIELD — FIELD ("n" or "errors") of SYSCALL summed
# over every kernel record.
ksum() {
  jget "$1" "sum(r.get('syscalls', {}).get('$2', {}).get('$3', 0) for r in k)"
}

# prog_ids PID — the ids of the BPF programs process PID holds (its fds).
prog_ids() {
  grep -h '^prog_id:' /proc/"$1"/fdinfo/* 2>/dev/null | awk '{print $2}' | sort -un
}

# gone_within ID... — wait (at most 10 s) until none of these program ids
# is loaded: the kernel frees a program after an RCU grace period once its
# last link and fd are gone, and tells nobody.
gone_within() {
  local i id left
  for i in $(seq 1 200); do
    left=""
    for id in "$@"; do bpftool prog show id "$id" >/dev/null 2>&1 && left="$left $id"; done
    [ -z "$left" ] && return 0
    $PY -c 'import time; time.sleep(0.05)'
  done
  fail "BPF programs still loaded:$left"
}

# own_cgdir — the cgroup v2 directory this shell is in (where `faultline
# run` makes faultline.<pid>).
own_cgdir() {
  local mnt rel
  mnt=$(awk '$0 ~ / - cgroup2 / {print $5; exit}' /proc/self/mountinfo)
  rel=$(sed -n 's/^0:://p' /proc/self/cgroup)
  [ "$rel" = / ] && rel=""
  echo "$mnt$rel"
}

# attached NAME — true when `bpftool cgroup tree` lists programs on a cgroup
# whose path contains NAME.
attached() {
  bpftool cgroup tree >"$T/cgtree" 2>&1 || true
  grep -q -- "$1" "$T/cgtree"
}

# udp_serve HOST — a UDP echo server on HOST (IPv4 or IPv6), outside the
# run's cgroup; its port in $PORT. Not in a subshell: cleanup kills what
# _pids holds.
udp_serve() {
  rm -f "$T/udp.port"; mkfifo "$T/udp.port"
  $PY -c '
import socket, sys
fam = socket.AF_INET6 if ":" in sys.argv[1] else socket.AF_INET
s = socket.socket(fam, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 0))
print(s.getsockname()[1], flush=True)
while True:
    d, a = s.recvfrom(2048)
    s.sendto(d, a)' "$1" >"$T/udp.port" &
  _pids+=($!)
  read -r -t 10 PORT <"$T/udp.port" || fail "udp echo server on $1 did not start"
}

#!/usr/bin/env bash
# The seccomp supervisor keeps a pidfd per thread id (opening one costs as
# much as the rest of a classification). A thread id comes back when its
# task is gone: the kept pidfd then names the dead task, and the fd must
# still be classified through the new one. Here every child gets the same
# pid (ns_last_pid, in a pid namespace of the test's own), one after the
# other (ns_last_pid of the host's pid namespace — the supervisor sees
# pids there; a child pid namespace would not reuse them outside), and each
# one's send to the target must fail with the rule's ECONNRESET — a
# supervisor that trusted its kept pidfd would classify nothing after the
# first child and let every later send through.
source "$(dirname "$0")/lib.sh"
need "$PY"
[ "$(id -u)" -eq 0 ] || skip "writing ns_last_pid needs root"
P=$(free_port)
serve web echo "$P"
profile "$T/p.json" <<JSON
{"faultline": 1, "targets": {"web": {"tcp": "127.0.0.1:$P"}},
 "rules": [{"target": "web", "op": "send", "fault": "error", "errno": "ECONNRESET"}]}
JSON
cat >"$T/kids.py" <<'PY'
import errno, os, socket, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
pids, res = set(), {}
last = int(open("/proc/sys/kernel/ns_last_pid").read())
pmax = int(open("/proc/sys/kernel/pid_max").read())
base = last + 1000 if last + 1000 < pmax else 1000   # a pid nobody holds, most likely
for i in range(n):
    with open("/proc/sys/kernel/ns_last_pid", "w") as f:
        f.write(str(base - 1))
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        s = socket.create_connection(("127.0.0.1", port))
        try:
            s.send(b"x\n"); out = "ok"
        except OSError as x:
            out = errno.errorcode[x.errno]
        os.write(w, out.encode()); os._exit(0)
    os.close(w)
    out = os.read(r, 64).decode(); os.close(r)
    os.waitpid(pid, 0)
    pids.add(pid); res[out] = res.get(out, 0) + 1
print(len(pids), " ".join("%s=%d" % kv for kv in sorted(res.items())))
PY
out=$("$FL" run --mode seccomp --no-bpf -p "$T/p.json" -o "$T/t.jsonl" -- \
      "$PY" "$T/kids.py" "$P" 40) || fail "run failed"
say "children: $out"
read -r npids results <<<"$out"
# another process forking meanwhile takes the pid now and then
le "$npids" 10 "distinct child pids (ns_last_pid reuses one)"
eq "$results" "ECONNRESET=40" "every child's send failed with the rule's errno"
eq "$(jfaults "$T/t.jsonl" | wc -l)" 40 "fault records"
say "ok"

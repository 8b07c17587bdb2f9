#!/usr/bin/env bash
# Every fault kind of the seccomp supervisor on static programs (Debian
# busybox-static and tests/helpers/scstatic, a static multi-threaded C
# program), as the shim's tests put them to dynamic ones:
#  - a delayed call in one thread never stalls the other threads' calls;
#  - nth counts across threads, across forked processes, and across
#    programs a shell forks and execs (children and exec are covered);
#  - late_ack: busybox dd conv=fsync's fsync and busybox sync -d's
#    fdatasync are made, answered late; a write is written, answered late;
#  - error EIO on fsync: dd fails with "Input/output error" (the data is synced);
#  - short write and short recv; reset on recv; timeout on recv;
#  - a non-blocking recv that would find nothing is not counted;
#  - abort makes a call waiting in a timeout for real;
#  - hold: a gate opens when the named call has happened, after its own
#    delay (faulted calls happen when answered); gate_timeout at max_ms; a
#    held send is made first.
source "$(dirname "$0")/lib.sh"
BB=/bin/busybox
SC=$O/tests/helpers/scstatic
need "$BB" "$SC"
if ldd "$BB" >/dev/null 2>&1; then skip "$BB is dynamically linked here (not busybox-static)"; fi

P=$(free_port)
serve echo echo "$P"
H=$(free_port)
serve web http "$H" "static body"

# ---- delay in one thread, the others go on ----------------------------------
profile "$T/thr.json" <<JSON
{"faultline": 1, "seed": 1, "targets": {"echo": {"tcp": "127.0.0.1:$P"}},
 "rules": [{"target": "echo", "op": "connect", "nth": "1", "fault": "delay", "ms": 4000}]}
JSON
"$FL" run -v -p "$T/thr.json" -o "$T/thr.jsonl" -- "$SC" threads "$P" 6 >"$T/thr.out" 2>"$T/thr.err"
has "$T/thr.err" "faultline: layer seccomp: .*static binary"
eq "$(grep -c 'rc=0 errno=0' "$T/thr.out")" 6 "every thread's exchange succeeds"
# the five undelayed threads end long before the delayed one (generous bound)
fast=$(awk -F'ms=' '$2 < 2500' "$T/thr.out" | wc -l)
slow=$(awk -F'ms=' '$2 >= 4000' "$T/thr.out" | wc -l)
eq "$fast" 5 "threads not stalled by the delayed connect (ms < 2500): $(tr '\n' ' ' <"$T/thr.out")"
eq "$slow" 1 "the delayed thread"
eq "$(jcount "$T/thr.jsonl" 'r["type"]=="fault" and r["fault"]=="delay" and r["op"]=="connect" and r["nth"]==1')" 1 "delay record"
eq "$(jcount "$T/thr.jsonl" 'r["type"]=="fault" and r["tid"]!=r["pid"]')" 1 "the fault is in a thread (tid != pid)"

# ---- nth across threads -------------------------------------------------------
profile "$T/nth.json" <<JSON
{"faultline": 1, "seed": 1, "targets": {"echo": {"tcp": "127.0.0.1:$P"}},
 "rules": [{"target": "echo", "op": "connect", "nth": "3", "fault": "error", "errno": "ECONNREFUSED"}]}
JSON
"$FL" run -p "$T/nth.json" -o "$T/nth.jsonl" -- "$SC" threads "$P" 6 >"$T/nth.out"
eq "$(grep -c 'errno=ECONNREFUSED' "$T/nth.out")" 1 "exactly the 3rd connect of 6 threads refused"
eq "$(grep -c 'rc=0 errno=0' "$T/nth.out")" 5 "the other threads"
eq "$(jcount "$T/nth.jsonl" 'r["type"]=="fault" and r["nth"]==3 and r["errno"]=="ECONNREFUSED"')" 1 "nth 3 record"

# ---- nth across processes (fork) -----------------------------------------------
profile "$T/fork.json" <<JSON
{"faultline": 1, "seed": 1, "targets": {"echo": {"tcp": "127.0.0.1:$P"}},
 "rules": [{"target": "echo", "op": "connect", "nth": "2-3", "fault": "error", "errno": "ECONNREFUSED"}]}
JSON
"$FL" run -p "$T/fork.json" -o "$T/fork.jsonl" -- "$SC" forks "$P" 5 >"$T/fork.out"
eq "$(grep -c 'errno=ECONNREFUSED' "$T/fork.out")" 2 "connects 2 and 3 of 5 processes refused"
eq "$(jcount "$T/fork.jsonl" 'r["type"]=="fault" and r["nth"] in (2, 3)')" 2 "nth 2, 3 records"
eq "$($PY -c 'import json,sys; print(len({r["pid"] for r in map(json.loads, open(sys.argv[1])) if r["type"]=="fault"}))' "$T/fork.jsonl")" 2 "in two different processes"

# ---- children and exec: a shell runs busybox wget three times --------------------
profile "$T/exec.json" <<JSON
{"faultline": 1, "seed": 1, "targets": {"web": {"tcp": "127.0.0.1:$H"}},
 "rules": [{"target": "web", "op": "connect", "nth": "2", "fault": "error", "errno": "ECONNREFUSED"}]}
JSON
"$FL" run -p "$T/exec.json" -o "$T/exec.jsonl" -- "$BB" sh -c \
  "for i in 1 2 3; do $BB wget -q -O- http://127.0.0.1:$H/ 2>/dev/null || echo refused; echo; done" >"$T/exec.out"
eq "$(tr '\n' ' ' <"$T/exec.out")" "static body refused  static body " "the second of three exec'd wgets refused"

# ---- late_ack: dd conv=fsync's fsync, sync -d's fdatasync -------------------------
mkdir -p "$T/data"
profile "$T/late.json" <<JSON
{"faultline": 1, "seed": 1, "targets": {"data": {"path": "$T/data/*"}},
 "rules": [{"target": "data", "op": "fsync", "fault": "late_ack", "ms": 800}]}
JSON
t0=$(now_ms)
"$FL" run -p "$T/late.json" -o "$T/late.jsonl" -- "$BB" dd if=/dev/zero of="$T/data/f" bs=4k count=2 conv=fsync 2>"$T/late.err"
t1=$(now_ms)
ge $((t1 - t0)) 800 "dd's wall time under an 800 ms late fsync"
eq "$(stat -c %s "$T/data/f")" 8192 "dd's data written"
eq "$(jcount "$T/late.jsonl" 'r["type"]=="fault" and r["op"]=="fsync" and r["fault"]=="late_ack" and r["value_ms"]==800 and r["ret"]==0')" 1 "late_ack fault record (fsync made: ret 0)"
eq "$(jcount "$T/late.jsonl" 'r["type"]=="outcome" and r["rule"]==0 and r["ret"]==0 and r["waited_ms"] >= 800')" 1 "late_ack outcome record (real time waited)"

t0=$(now_ms)
"$FL" run -p "$T/late.json" -o "$T/sync.jsonl" -- "$BB" sync -d "$T/data/f"
t1=$(now_ms)
ge $((t1 - t0)) 800 "sync -d's wall time under an 800 ms late fdatasync"
eq "$(jcount "$T/sync.jsonl" 'r["type"]=="fault" and r["op"]=="fsync" and r["fault"]=="late_ack"')" 1 "fdatasync late_ack record"

# ---- error EIO on fsync: dd fails, the data is there --------------------------------
profile "$T/eio.json" <<JSON
{"faultline": 1, "seed": 1, "targets": {"data": {"path": "$T/data/*"}},
 "rules": [{"target": "data", "op": "fsync", "fault": "error", "errno": "EIO"}]}
JSON
rc=0
"$FL" run -p "$T/eio.json" -o "$T/eio.jsonl" -- "$BB" dd if=/dev/zero of="$T/data/g" bs=4k count=1 conv=fsync 2>"$T/eio.err" || rc=$?
eq "$rc" 1 "dd's status under fsync EIO"
has "$T/eio.err" "Input/output error"
eq "$(stat -c %s "$T/data/g")" 4096 "data written before the failed fsync"
eq "$(jcount "$T/eio.jsonl" 'r["type"]=="fault" and r["op"]=="fsync" and r["errno"]=="EIO"')" 1 "EIO record"

# ---- write: late_ack and short ---------------------------------------------------------
profile "$T/wlate.json" <<JSON
{"faultline": 1, "seed": 1, "targets": {"data": {"path": "$T/data/*"}},
 "rules": [{"target": "data", "op": "write", "fault": "late_ack", "ms": 600}]}
JSON
t0=$(now_ms)
"$FL" run -p "$T/wlate.json" -o "$T/wlate.jsonl" -- "$SC" write "$T/data/w" 100 >"$T/wlate.out"
t1=$(now_ms)
eq "$(cat "$T/wlate.out")" "rc=100 errno=0" "late write's return"
eq "$(stat -c %s "$T/data/w")" 100 "late write written"
ge $((t1 - t0)) 600 "wall time under a 600 ms late write"

profile "$T/wshort.json" <<JSON
{"faultline": 1, "seed": 1, "targets": {"data": {"path": "$T/data/*"}},
 "rules": [{"target": "data", "op": "write", "fault": "short", "bytes": 10}]}
JSON
"$FL" run -p "$T/wshort.json" -o "$T/wshort.jsonl" -- "$SC" write "$T/data/s" 100 >"$T/wshort.out"
eq "$(cat "$T/wshort.out")" "rc=10 errno=0" "short write's return"
eq "$(stat -c %s "$T/data/s")" 10 "short write: 10 bytes written"
eq "$(jcount "$T/wshort.jsonl" 'r["type"]=="fault" and r["fault"]=="short" and r["ret"]==10')" 1 "short write record"

# ---- recv: short (wget still gets the whole body), reset, timeout ------------------------
profile "$T/rshort.json" <<JSON
{"faultline": 1, "seed": 1, "targets": {"web": {"tcp": "127.0.0.1:$H"}},
 "rules": [{"target": "web", "op": "recv", "fault": "short", "bytes": 3}]}
JSON
"$FL" run -p "$T/rshort.json" -o "$T/rshort.jsonl" -- "$BB" wget -q -O- "http://127.0.0.1:$H/" >"$T/rshort.out"
eq "$(cat "$T/rshort.out")" "static body" "body through 3-byte reads"
ge "$(jcount "$T/rshort.jsonl" 'r["type"]=="fault" and r["fault"]=="short" and r["op"]=="recv" and 0 < r["ret"] <= 3')" 2 "short recv records"

profile "$T/reset.json" <<JSON
{"faultline": 1, "seed": 1, "targets": {"echo": {"tcp": "127.0.0.1:$P"}},
 "rules": [{"target": "echo", "op": "recv", "fault": "reset"}]}
JSON
"$FL" run -p "$T/reset.json" -o "$T/reset.jsonl" -- "$SC" threads "$P" 1 >"$T/reset.out"
has "$T/reset.out" "rc=-1 errno=ECONNRESET"
eq "$(jcount "$T/reset.jsonl" 'r["type"]=="fault" and r["fault"]=="reset" and r["errno"]=="ECONNRESET"')" 1 "reset record"

profile "$T/rto.json" <<JSON
{"faultline": 1, "seed": 1, "targets": {"echo": {"tcp": "127.0.0.1:$P"}},
 "rules": [{"target": "echo", "op": "recv", "fault": "timeout", "ms": 300}]}
JSON
"$FL" run -p "$T/rto.json" -o "$T/rto.jsonl" -- "$SC" threads "$P" 1 >"$T/rto.out"
has "$T/rto.out" "rc=-1 errno=EAGAIN"
eq "$(jcount "$T/rto.jsonl" 'r["type"]=="fault" and r["fault"]=="timeout" and r["op"]=="recv"')" 1 "recv timeout record"

# ---- a non-blocking recv that finds nothing is not counted (as in the shim) --------
profile "$T/nb.json" <<JSON
{"faultline": 1, "seed": 1, "targets": {"echo": {"tcp": "127.0.0.1:$P"}},
 "rules": [{"target": "echo", "op": "recv", "nth": "1", "fault": "error", "errno": "ECONNRESET"}]}
JSON
"$FL" run -p "$T/nb.json" -o "$T/nb.jsonl" -- "$SC" nbrecv "$P" >"$T/nb.out"
eq "$(tr '\n' ' ' <"$T/nb.out")" "recv1 rc=-1 errno=EAGAIN recv2 rc=-1 errno=EAGAIN recv3 rc=-1 errno=EAGAIN recv4 rc=-1 errno=ECONNRESET " \
   "three empty MSG_DONTWAIT recvs uncounted, the 1st real one is nth 1"

# ---- abort: a call waiting in a timeout is made for real at once ---------------------
profile "$T/ab.json" <<JSON
{"faultline": 1, "seed": 1, "targets": {"echo": {"tcp": "127.0.0.1:$P"}},
 "rules": [{"target": "echo", "op": "recv", "fault": "timeout", "ms": 20000}]}
JSON
bg "$FL" run --ctl "$T/ab.ctl" -p "$T/ab.json" -o "$T/ab.jsonl" --ticks-every 50 -- "$SC" threads "$P" 1 >"$T/ab.out"
AB=$!
wait_until 20 grep -qs '"type":"fault"' "$T/ab.jsonl" || fail "the recv timeout never began"
t0=$(now_ms)
"$FL" abort --ctl "$T/ab.ctl"
wait "$AB"
t1=$(now_ms)
le $((t1 - t0)) 3000 "the program ends soon after abort (not 20 s)"
has "$T/ab.out" "rc=0 errno=0"
eq "$(jcount "$T/ab.jsonl" 'r["type"]=="outcome" and r["ret"]==0 and r["waited_ms"] < 20000')" 1 "outcome: the real call, the real time waited"
eq "$(jcount "$T/ab.jsonl" 'r["type"]=="abort"')" 1 "abort record"

# ---- hold: a gate opens when the named call has happened (after its delay) -----------
# thread A's recv (nth 1) is held until send nth 2 — thread B's, delayed 400 ms
profile "$T/gate.json" <<JSON
{"faultline": 1, "seed": 1, "targets": {"echo": {"tcp": "127.0.0.1:$P"}},
 "rules": [{"target": "echo", "op": "recv", "nth": "1", "fault": "hold",
            "until": {"target": "echo", "op": "send", "nth": 2}, "max_ms": 8000},
           {"target": "echo", "op": "send", "nth": "2", "fault": "delay", "ms": 400}]}
JSON
"$FL" run -p "$T/gate.json" -o "$T/gate.jsonl" -- "$SC" threads "$P" 2 >"$T/gate.out"
eq "$(grep -c 'rc=0 errno=0' "$T/gate.out")" 2 "both threads' exchanges"
eq "$(jcount "$T/gate.jsonl" 'r.get("kind")=="gate_open" and r["op"]=="recv" and 390 <= r["value_ms"] < 8000')" 1 \
   "gate_open after the delayed send happened (>= 400 ms, not at its start, not at max_ms)"
# no call to wait for: gate_timeout at max_ms
profile "$T/gto.json" <<JSON
{"faultline": 1, "seed": 1, "targets": {"echo": {"tcp": "127.0.0.1:$P"}},
 "rules": [{"target": "echo", "op": "recv", "fault": "hold",
            "until": {"target": "echo", "op": "send", "nth": 2}, "max_ms": 500}]}
JSON
"$FL" run -p "$T/gto.json" -o "$T/gto.jsonl" -- "$SC" threads "$P" 1 >"$T/gto.out"
has "$T/gto.out" "rc=0 errno=0"
eq "$(jcount "$T/gto.jsonl" 'r.get("kind")=="gate_timeout" and r["value_ms"] >= 500')" 1 "gate_timeout at max_ms"
# a held send is performed first: thread A's send waits for thread B's recv
profile "$T/gsend.json" <<JSON
{"faultline": 1, "seed": 1, "targets": {"echo": {"tcp": "127.0.0.1:$P"}},
 "rules": [{"target": "echo", "op": "send", "nth": "1", "fault": "hold",
            "until": {"target": "echo", "op": "recv", "nth": 1}, "max_ms": 8000}]}
JSON
"$FL" run -p "$T/gsend.json" -o "$T/gsend.jsonl" -- "$SC" threads "$P" 2 >"$T/gsend.out"
eq "$(grep -c 'rc=0 errno=0' "$T/gsend.out")" 2 "both threads' exchanges"
eq "$(jcount "$T/gsend.jsonl" 'r.get("kind")=="gate_open" and r["op"]=="send" and r["ret"]==5 and r["value_ms"] < 8000')" 1 \
   "the held send was made (ret 5) and released by the other thread's recv"
say "ok"

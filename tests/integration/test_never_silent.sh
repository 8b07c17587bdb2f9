#!/usr/bin/env bash
# test_never_silent.sh — a run whose faults cannot reach the program says so,
# with the reason, within 2 s of the start and again at the end, and its
# summary record carries the count of attached processes, the reason and
# the rules that never fired: a static binary (busybox-static), a Go program
# from Debian (age: it attaches, Go makes its own system calls), a setuid
# program, LD_PRELOAD removed from the environment. A program the shim
# reaches gets no such warning. And a run refused because the control
# block is in use never touches its -o file (the live timeline of the run
# that owns the block). The cases are run with --mode preload: `auto` (the
# default) sends static, Go and set-id programs to the seccomp supervisor,
# and then the shim's silence means nothing.
source "$(dirname "$0")/lib.sh"
need busybox age "$PY"
[ "$(id -u)" = 0 ] || skip "the setuid case needs root (chown)"
mkdir "$T/data"; echo x >"$T/data/f"
profile "$T/p.json" <<EOF2
{"faultline": 1, "targets": {"f": {"path": "$T/data/*"}},
 "rules": [{"target": "f", "op": "open", "fault": "error", "errno": "EIO"},
           {"target": "f", "op": "fsync", "fault": "error", "errno": "EIO"}]}
EOF2

# wait_line FILE PATTERN — until FILE has a line matching, at most 20 s
wait_line() {
  local i
  for i in $(seq 1 2000); do
    grep -q -- "$2" "$1" 2>/dev/null && return 0
    $PY -c 'import time; time.sleep(0.01)'
  done
  fail "$1 never showed '$2'"
}
summary() { $PY -c 'import json,sys; print(json.loads(open(sys.argv[1]).readlines()[-1])[sys.argv[2]])' "$@"; }

say "== a static binary: warned while it runs, held on a fifo until then"
mkfifo "$T/go"
bg "$FL" run --mode preload -p "$T/p.json" -o "$T/static.jsonl" -- busybox sh -c "read x <$T/go" 2>"$T/static.err"
pid=$!
wait_line "$T/static.err" "no process of busybox attached within 2 s"
has "$T/static.err" "a static binary"
echo go >"$T/go"
wait "$pid" || fail "the static run failed"
has "$T/static.err" "no process of busybox attached during the run"
has "$T/static.err" "rules that never fired: 0 (open error), 1 (fsync error)"
eq "$(summary "$T/static.jsonl" attached)" 0 "attached (static)"
[[ $(summary "$T/static.jsonl" unreached) == *"static binary"* ]] || fail "summary reason (static)"
eq "$(summary "$T/static.jsonl" never_fired)" "[0, 1]" "never_fired (static)"

say "== LD_PRELOAD removed (read from /proc/PID/environ while it runs)"
bg "$FL" run --mode preload -p "$T/p.json" -- busybox env -u LD_PRELOAD busybox sh -c "read x <$T/go" 2>"$T/env.err"
pid=$!
wait_line "$T/env.err" "LD_PRELOAD no longer names the shim"
echo go >"$T/go"
wait "$pid" || fail "the LD_PRELOAD run failed"

say "== a Go program (Debian's age)"
"$FL" run --mode preload -p "$T/p.json" -o "$T/go.jsonl" -- age --version >/dev/null 2>"$T/go.err"
has "$T/go.err" "a Go program"
ge "$(summary "$T/go.jsonl" attached)" 1 "attached (Go)"
[[ $(summary "$T/go.jsonl" unreached) == *"Go program"* ]] || fail "summary reason (Go)"

say "== setuid"
cp /usr/bin/cat "$T/suidcat"
chown nobody "$T/suidcat"; chmod 4755 "$T/suidcat"
"$FL" run --mode preload -p "$T/p.json" -o "$T/suid.jsonl" -- "$T/suidcat" "$T/data/f" >/dev/null 2>"$T/suid.err"
has "$T/suid.err" "setuid"
eq "$(summary "$T/suid.jsonl" attached)" 0 "attached (setuid)"

say "== --mode auto: the seccomp supervisor takes a static binary, no warning"
"$FL" run -p "$T/p.json" -- busybox true 2>"$T/auto.err" || true
! grep -q "no process of busybox attached" "$T/auto.err" || fail "a preload warning under seccomp"

say "== a program the shim reaches: no warning"
rc=0; "$FL" run -p "$T/p.json" -o "$T/ok.jsonl" -- cat "$T/data/f" >/dev/null 2>"$T/ok.err" || rc=$?
eq "$rc" 1 "cat under open EIO"
! grep -q "attached" "$T/ok.err" || fail "a warning for a program the shim reached: $(cat "$T/ok.err")"
eq "$(summary "$T/ok.jsonl" unreached)" None "summary reason (reached)"
eq "$(summary "$T/ok.jsonl" never_fired)" "[1]" "never_fired (reached)"

say "== a run refused (block in use) leaves the owner's -o alone"
mkfifo "$T/go2"
bg "$FL" run -p "$T/p.json" --ctl "$T/c.ctl" -o "$T/live.jsonl" -- sh -c "read x <$T/go2" 2>/dev/null
pid=$!
wait_line "$T/live.jsonl" '"type":"start"'
rc=0; "$FL" run -p "$T/p.json" --ctl "$T/c.ctl" -o "$T/live.jsonl" -- true 2>"$T/second.err" || rc=$?
eq "$rc" 125 "second run on a block in use"
has "$T/second.err" "in use"
has "$T/live.jsonl" '"type":"start"'
echo go >"$T/go2"
wait "$pid" || true
eq "$(jcount "$T/live.jsonl" 'r["type"] == "start"')" 1 "start records in the live timeline"
eq "$(jcount "$T/live.jsonl" 'r["type"] == "summary"')" 1 "summary records in the live timeline"
say "ok"

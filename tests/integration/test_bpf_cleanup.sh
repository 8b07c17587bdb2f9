#!/usr/bin/env bash
# Nothing of ours is left in the kernel: after a run ends, and after the
# controller is killed with -9, the programs it held are unloaded and
# nothing is attached to its cgroup (links are owned by its fds, nothing is
# pinned); the cgroup a killed controller leaves is removed by the next run,
# without touching the processes still in it.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/bpf_lib.sh"
P=$(free_port)
profile "$T/drop.json" <<JSON
{"faultline": 1, "targets": {"web": {"tcp": "127.0.0.1:$P"}},
 "rules": [{"target": "web", "op": "packet", "fault": "drop", "probability": 0.5},
           {"target": "web", "op": "connect", "fault": "error", "errno": "EPERM", "layer": "bpf"}]}
JSON
CG=$(own_cgdir)

# start a run whose command waits on a fifo; look at what it holds
run_waiting() {
  rm -f "$T/go" "$T/up"; mkfifo "$T/go" "$T/up"
  bg_fl "$FL" run -p "$T/drop.json" -o "$T/$1.jsonl" -- sh -c "echo up >$T/up; read x <$T/go"
  FLPID=$!
  read -r -t 20 x <"$T/up" || fail "the command did not start"
  IDS=$(prog_ids "$FLPID")
  [ "$(echo "$IDS" | wc -w)" -ge 7 ] || fail "expected >= 7 programs held by the controller, got: $IDS"
  attached "faultline.$FLPID" || fail "nothing attached to faultline.$FLPID"
  [ -d "$CG/faultline.$FLPID" ] || fail "no cgroup $CG/faultline.$FLPID"
}

# 1. a run that ends normally
run_waiting normal
echo go >"$T/go"
wait "$FLPID" || fail "run failed"
gone_within $IDS
attached "faultline.$FLPID" && fail "still attached after the run"
[ ! -d "$CG/faultline.$FLPID" ] || fail "cgroup left after the run"

# 2. kill -9 of the controller: its command lives on in the cgroup
run_waiting killed
SUT=$(cat "/proc/$FLPID/task/$FLPID/children" | awk '{print $1}')
kill -9 "$FLPID"
wait "$FLPID" 2>/dev/null || true
gone_within $IDS
attached "faultline.$FLPID" && fail "still attached after kill -9"
# (any other `faultline run` on this host may sweep it first: then it is
# already gone, and the command must have been moved out, not killed)
if [ -d "$CG/faultline.$FLPID" ]; then
  grep -qx "$SUT" "$CG/faultline.$FLPID/cgroup.procs" || fail "the command is not in the left cgroup"
fi

# the next run sweeps it; the orphaned command is moved out, not killed
"$FL" run -o "$T/next.jsonl" -- true
[ ! -d "$CG/faultline.$FLPID" ] || fail "the next run did not remove $CG/faultline.$FLPID"
kill -0 "$SUT" || fail "the orphaned command was killed"
echo go >"$T/go"

# 3. a live controller's cgroup is never swept, whatever its process is
#    called (the unit tests run sessions inside test binaries): another run
#    starting beside it leaves it and its command in place
cp "$FL" "$T/ctl-renamed"
FL_SAVED=$FL; FL=$T/ctl-renamed
FAULTLINE_SHIM=$SHIM run_waiting renamed
FL=$FL_SAVED
SUT=$(cat "/proc/$FLPID/task/$FLPID/children" | awk '{print $1}')
"$FL" run -o "$T/beside.jsonl" -- true
[ -d "$CG/faultline.$FLPID" ] || fail "a live controller's cgroup was swept by another run"
grep -qx "$SUT" "$CG/faultline.$FLPID/cgroup.procs" || fail "the live run's command left its cgroup"
echo go >"$T/go"
wait "$FLPID" || fail "the renamed controller's run failed"
say "ok"

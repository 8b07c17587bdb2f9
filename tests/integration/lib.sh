# lib.sh — shared by the integration tests (source it). Each test is its own
# process: it makes a private temp dir, starts what it needs on loopback,
# and everything it started is killed on exit.
set -euo pipefail
FL_ROOT=${FL_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
O=${O:-build}
case $O in /*) ;; *) O=$FL_ROOT/$O ;; esac
FL=$O/faultline
SHIM=$O/libfaultline.so
PY=/usr/bin/python3
SERVERS=$FL_ROOT/tests/integration/servers.py
# a missing build is a failure, never a skip
[ -x "$FL" ] && [ -f "$SHIM" ] || { echo "FAIL: no build in $O (run make)" >&2; exit 1; }
T=$(mktemp -d /tmp/fltest.XXXXXX)
chmod 755 "$T"
_pids=()

cleanup() {
  local p
  for p in "${_pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$T"
}
trap cleanup EXIT

say()  { printf '%s\n' "$*" >&2; }
fail() { say "FAIL: $*"; exit 1; }
skip() { say "SKIP: $*"; exit 77; }
need() { for c in "$@"; do command -v "$c" >/dev/null 2>&1 || [ -x "$c" ] || skip "$c not installed"; done; }

# assertions
eq()  { [ "$1" = "$2" ] || fail "${3:-values}: expected '$2', got '$1'"; }
ge()  { awk -v a="$1" -v b="$2" 'BEGIN{exit !(a>=b)}' || fail "${3:-value}: expected >= $2, got $1"; }
le()  { awk -v a="$1" -v b="$2" 'BEGIN{exit !(a<=b)}' || fail "${3:-value}: expected <= $2, got $1"; }
has() { grep -q -- "$2" "$1" || { say "--- $1:"; tail -n 20 "$1" >&2; fail "${3:-$1} lacks '$2'"; }; }

now_ms() { local t=$EPOCHREALTIME; echo $(( ${t%.*} * 1000 + 10#${t#*.} / 1000 )); }

free_port() {
  $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# bg CMD… — start in the background, remember the pid for cleanup (in $!).
bg() { "$@" & _pids+=($!); }

# serve NAME MODE PORT [ARGS…] — start tests/integration/servers.py and wait
# until it printed READY (it binds before printing: no sleeps, no retries).
serve() {
  local name=$1; shift
  local fifo=$T/$name.ready
  mkfifo "$fifo"
  $PY "$SERVERS" "$@" >"$fifo" 2>"$T/$name.err" &
  _pids+=($!)
  local line=""
  read -r -t 20 line <"$fifo" || true
  [ "$line" = READY ] || { cat "$T/$name.err" >&2; fail "server $name did not start"; }
}

# wait_port PORT — for programs we cannot make print READY (redis, nginx):
# retry a connect until it is accepted, at most 20 s.
wait_port() {
  local i
  for i in $(seq 1 400); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    $PY -c 'import time; time.sleep(0.05)'
  done
  fail "port $1 never opened"
}

# profile FILE — write stdin to FILE and validate it.
profile() { cat >"$1"; "$FL" validate "$1" >/dev/null || fail "profile $1 invalid"; }

# jcount TIMELINE PYEXPR — count timeline records r for which PYEXPR holds.
jcount() {
  $PY - "$1" "$2" <<'PYEOF'
import json, sys
n = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    if eval(sys.argv[2], {"json": json}, {"r": r}):
        n += 1
print(n)
PYEOF
}

# ---- appended for the real-program tests ------------------------------------

# Processes started under `faultline run` in the background: on exit their
# SUT children are killed too (killing only the controller would orphan them).
_flpids=()
_cleanup_fl() {
  local p c
  for p in "${_flpids[@]}"; do
    for c in $(cat "/proc/$p/task/$p/children" 2>/dev/null || true); do
      kill -9 "$c" 2>/dev/null || true
    done
  done
  cleanup
}
trap _cleanup_fl EXIT

# bg_fl CMD… — like bg, for a `faultline run …` command line.
bg_fl() { "$@" & _pids+=($!); _flpids+=($!); }

# serve_fl NAME PROFILE TIMELINE MODE PORT [ARGS…] — like serve, but the
# server is the SUT: `faultline run` with PROFILE, timeline TIMELINE. Waits
# for READY; the controller's pid is left in FLPID (the SUT is its child).
FLPID=
serve_fl() {
  local name=$1 prof=$2 tl=$3; shift 3
  local fifo=$T/$name.ready
  mkfifo "$fifo"
  "$FL" run -p "$prof" -o "$tl" -- $PY "$SERVERS" "$@" >"$fifo" 2>"$T/$name.err" &
  FLPID=$!
  _pids+=($FLPID)
  _flpids+=($FLPID)
  local line=""
  read -r -t 20 line <"$fifo" || true
  [ "$line" = READY ] || { cat "$T/$name.err" >&2; fail "server $name did not start under faultline"; }
}

# child_of PID — the (first) child process of PID.
child_of() {
  local c=""
  c=$(cat "/proc/$1/task/$1/children" 2>/dev/null || true)
  echo "${c%% *}"
}

# stop_fl PID — end a `faultline run` by SIGTERM (it forwards it to the SUT
# and writes the timeline's exit and summary); returns its exit status.
stop_fl() {
  kill -TERM "$1" 2>/dev/null || true
  local rc=0
  wait "$1" || rc=$?
  return $rc
}

# msleep MS — sleep in milliseconds (only to let time pass, never to sync).
msleep() { $PY -c 'import sys, time; time.sleep(int(sys.argv[1]) / 1000)' "$1"; }

# wait_until SECONDS CMD… — until CMD succeeds (checked every 10 ms), at
# most SECONDS: wait on a condition, never a fixed sleep. 1 on timeout.
wait_until() {
  local end=$(( $(now_ms) + $1 * 1000 )); shift
  until "$@"; do
    [ "$(now_ms)" -lt "$end" ] || return 1
    sleep 0.01
  done
}
# has_lines FILE N — FILE exists with at least N lines
has_lines() { [ -f "$1" ] && [ "$(wc -l <"$1")" -ge "$2" ]; }
# has_attach TIMELINE — a process attached
has_attach() { [ -f "$1" ] && grep -q '"type":"attach"' "$1"; }

# jfaults TIMELINE — print the injected-fault records (kind "fault"), one a line.
jfaults() { grep '"type":"fault"' "$1" | grep '"kind":"fault"' || true; }

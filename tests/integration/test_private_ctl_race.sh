#!/usr/bin/env bash
# A run's private control socket (XDG_RUNTIME_DIR/faultline.PID.RAND.ctl)
# refuses connections between its bind and its listen. Another run starting
# at that moment cleans up the sockets of killed runs: it must leave a
# socket whose controller PID is alive (it used to unlink it, and the first
# run failed with "No such file or directory" or ran with its socket gone),
# and still remove one whose PID is dead.
source "$(dirname "$0")/lib.sh"
need "$PY" "$FL" "$SHIM"
export XDG_RUNTIME_DIR=$T/run
mkdir -m 0700 "$XDG_RUNTIME_DIR"
bg sleep 300
LIVE=$!
sh -c 'exit 0' & DEAD=$!; wait "$DEAD"
# bound, never listening: what a starting run's socket looks like
$PY - "$XDG_RUNTIME_DIR/faultline.$LIVE.0123456789abcdef.ctl" \
      "$XDG_RUNTIME_DIR/faultline.$DEAD.fedcba9876543210.ctl" <<'PY'
import socket, sys
for p in sys.argv[1:]:
    socket.socket(socket.AF_UNIX, socket.SOCK_STREAM).bind(p)
PY
[ -S "$XDG_RUNTIME_DIR/faultline.$LIVE.0123456789abcdef.ctl" ] || fail "setup"
"$FL" run -p "$FL_ROOT/profiles/reset.json" -q -- true || fail "run"
[ -S "$XDG_RUNTIME_DIR/faultline.$LIVE.0123456789abcdef.ctl" ] ||
  fail "a live controller's socket (between bind and listen) was removed"
[ ! -e "$XDG_RUNTIME_DIR/faultline.$DEAD.fedcba9876543210.ctl" ] ||
  fail "a dead controller's socket was left"
say "PASS: a starting run's socket survives another run's clean-up"

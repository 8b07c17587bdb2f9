#!/usr/bin/env bash
# One controller per control path, even while it starts: a drill that finds
# a socket at its --ctl path replaces it only if it is dead (refuses
# connections). A controller between bind/listen and serving (the forger
# with -d: it listens but answers only after 800 ms, longer than one probe
# waited) or one that accepts and never answers (stopped) is live: the new
# drill exits 125 saying so, and the socket stays the first one's. A dead
# socket (its listener closed) is still replaced.
source "$(dirname "$0")/lib.sh"
FORGE=$O/tests/helpers/forge
need "$PY" "$FORGE"
cat >"$T/p.json" <<'J'
{"faultline": 1, "targets": {"svc": {"tcp": "127.0.0.1:9"}},
 "rules": [{"target": "svc", "op": "connect", "fault": "error", "errno": "ECONNREFUSED"}]}
J
CTL=$T/ctl

takeover_refused() { # CASE [forge args]
  local c=$1; shift
  rm -f "$T/ready"; mkfifo "$T/ready"
  "$FORGE" -r "$T/ready" "$@" "$CTL" "$c" >"$T/f.log" 2>"$T/f.err" &
  local fp=$!; _pids+=($fp)
  read -r -t 20 line <"$T/ready" || fail "$c: forger did not start"
  local ino; ino=$(stat -c %i "$CTL")
  local rc=0
  timeout 30 "$FL" drill -p "$T/p.json" --ctl "$CTL" --duration 2 -o "$T/tl.jsonl" 2>"$T/drill.err" || rc=$?
  eq "$rc" 125 "$c: a second drill at a live controller's path"
  has "$T/drill.err" "in use by a live controller" "$c: drill message"
  eq "$(stat -c %i "$CTL")" "$ino" "$c: the socket is still the first controller's"
  kill -TERM $fp; wait $fp || fail "$c: forger exit"
}
takeover_refused valid_bait -d 800
grep -q '^serving' "$T/f.log" || fail "the slow forger never served"
ge "$(grep -c '^conn' "$T/f.log" || true)" 1 "probes the slow controller answered"
takeover_refused silent

# a dead socket: replaced
$PY -c 'import socket, sys; s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(1)' "$CTL"
[ -S "$CTL" ] || fail "no dead socket"
"$FL" drill -p "$T/p.json" --ctl "$CTL" --duration 30 -o "$T/tl.jsonl" 2>"$T/drill.err" &
D=$!; _pids+=($D)
for _ in $(seq 500); do "$FL" abort --ctl "$CTL" 2>/dev/null && break; sleep 0.01; done
wait $D || fail "the drill replacing a dead socket: $(cat "$T/drill.err")"
[ ! -e "$CTL" ] || fail "socket left after the replacing drill"
say ok

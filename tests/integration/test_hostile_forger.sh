#!/usr/bin/env bash
# A forged controller (tests/helpers/forge.c serves the control socket
# itself) hands the shim every broken plan, shared area, hello, fd set and
# socket it knows; real programs — curl and /usr/bin/python3's urllib against
# a local python3 http.server — run under the shim against it, each bounded
# by a timeout. Every one must run normally (fail open: the request succeeds
# with its normal output) using little CPU (nothing spins), and where the
# shim can say why it refused (a journal it mapped), the forger must have
# received the "refused" record with the right reason. Controls first: the
# same forger with a valid plan does inject (the bait rule refuses the
# connection), so a passing case proves the shim refused the forgery.
# Then plans republished after attach (errno 0, 10^6, -5, unlisted; a short
# of 0 bytes) are refused at decision time.
source "$(dirname "$0")/lib.sh"
FORGE=$O/tests/helpers/forge
need "$PY" curl "$FORGE"
CPU_MAX=1.0 # seconds of CPU per program; a spin until the timeout uses ~10

PORT=$(free_port)
mkdir -p "$T/www"
printf 'hello through a forged controller\n' >"$T/www/index.txt"
URL=http://127.0.0.1:$PORT/index.txt
mkfifo "$T/http.ready"
$PY -u -m http.server --bind 127.0.0.1 "$PORT" --directory "$T/www" >"$T/http.ready" 2>"$T/http.err" &
_pids+=($!)
read -r -t 20 line <"$T/http.ready" || fail "http.server did not start"
case $line in Serving*) ;; *) fail "http.server: $line" ;; esac
exec 9<"$T/http.ready" # keep its stdout open

# run OUT CTL CMD… — CMD under the shim (only CMD: not this runner), at most
# 10 s; prints "RC CPU_SECONDS".
cat >"$T/run.py" <<'PY'
import os, resource, subprocess, sys
out, ctl, shim = sys.argv[1:4]
cmd = sys.argv[4:]
env = dict(os.environ, LD_PRELOAD=shim, FAULTLINE_CTL=ctl)
with open(out, "wb") as f, open(out + ".err", "wb") as e:
    p = subprocess.Popen(cmd, env=env, stdout=f, stderr=e, stdin=subprocess.DEVNULL)
    try:
        rc = p.wait(timeout=10)
    except subprocess.TimeoutExpired:
        p.kill(); p.wait(); rc = 124
u = resource.getrusage(resource.RUSAGE_CHILDREN)
print(rc, "%.3f" % (u.ru_utime + u.ru_stime))
PY
GET='import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())'

FPID=
# forge_start CASE [ARGS…] — the forger at $T/f/ctl, READY awaited.
forge_start() {
  local c=$1; shift
  rm -f "$T/f.ready"; mkfifo "$T/f.ready"
  "$FORGE" -p "$PORT" -r "$T/f.ready" "$@" "$T/f/ctl" "$c" >"$T/f.log" 2>"$T/f.err" &
  FPID=$!; _pids+=($FPID)
  read -r -t 20 line <"$T/f.ready" || true
  [ "$line" = READY ] || { cat "$T/f.err" >&2; fail "$c: the forger did not start"; }
}
forge_stop() { kill -TERM "$FPID"; wait "$FPID" || fail "forger exit"; grep -q '^done' "$T/f.log" || fail "forger summary"; }
fcount() { grep -c -- "$1" "$T/f.log" || true; }

# programs CASE CTL [expect-fail] — curl and python against the server.
programs() {
  local c=$1 ctl=$2 expect=${3:-ok} p res rc cpu
  for p in curl python; do
    if [ $p = curl ]; then res=$($PY "$T/run.py" "$T/out" "$ctl" "$SHIM" curl -sS --max-time 5 "$URL")
    else res=$($PY "$T/run.py" "$T/out" "$ctl" "$SHIM" "$PY" -c "$GET" "$URL"); fi
    rc=${res% *}; cpu=${res#* }
    le "$cpu" "$CPU_MAX" "$c: $p CPU seconds"
    [ "$rc" != 124 ] || fail "$c: $p hung (timeout)"
    if [ "$expect" = fail ]; then
      [ "$rc" != 0 ] || fail "$c: $p succeeded against a valid bait plan (the control must inject)"
    else
      [ "$rc" = 0 ] || { cat "$T/out.err" >&2; fail "$c: $p failed (rc $rc): not fail-open"; }
      cmp -s "$T/out" "$T/www/index.txt" || fail "$c: $p output differs"
    fi
  done
}

mkdir -p "$T/f"
# ---- controls: the forger's protocol is the shim's ------------------------------
forge_start valid_bait
programs valid_bait "$T/f/ctl" fail
forge_stop
ge "$(fcount '^attach')" 2 "valid_bait: attach records"
ge "$(fcount '^fault rule=0')" 2 "valid_bait: faults journaled"
forge_start valid_delay
programs valid_delay "$T/f/ctl"
forge_stop
ge "$(fcount '^fault rule=0')" 2 "valid_delay: faults journaled"

# ---- plans the shim refuses at attach, saying why in the journal ----------------
# why: 1 header, 2 stale_ns, 3 target, 4 rule, 5 errno, 6 size, 7 string
refused_cases="magic:1 abi:1 size:1 owner_uid:1 ntargets_0:1 ntargets_65:1
  ntargets_huge:1 nrules_129:1 nrules_huge:1 stale_huge:2 stale_zero:2 stale_neg:2
  target_kind:3 target_family:3 name_unterminated:3 pattern_unterminated:3
  snapdir_unterminated:7 snapdir_relative:7 rule_next:4 rule_next_max:4 rule_head:4
  rule_target:4 op_unknown:4 fault_unknown:4 fault_wrong_op:4 nth_reversed:4
  window_huge:4 until_target:4 errno_0:5 errno_1e6:5 errno_neg:5 errno_unlisted:5
  short_0:6 delay_neg:6 delay_huge:6 jitter_over:6"
n=0
for cw in $refused_cases; do
  c=${cw%:*}; why=${cw#*:}
  forge_start "$c"
  programs "$c" "$T/f/ctl"
  forge_stop
  eq "$(fcount '^attach')" 0 "$c: attach records"
  ge "$(fcount "^refused .* why=$why ")" 2 "$c: refused records (why=$why) the forger got"
  eq "$(fcount '^refused')" "$(fcount "^refused .* why=$why ")" "$c: every refusal says why=$why"
  n=$((n+1))
done
say "$n forged plans refused with their reason"

# ---- attached, but not live: pass-through ---------------------------------------
for c in heartbeat_future heartbeat_stopped state_init; do
  forge_start "$c"; programs "$c" "$T/f/ctl"; forge_stop
  ge "$(fcount '^attach')" 2 "$c: attach records"
  eq "$(fcount '^fault')" 0 "$c: faults"
done

# ---- transport: nothing mapped, nothing to journal in --------------------------
for c in unsealed plan_writable shared_unsealed plan_small shared_small hello_sizes \
         hello_magic hello_short hello_status fds_0 fds_1 fds_3 fd_pipe fds_swapped \
         silent slam; do
  forge_start "$c"; programs "$c" "$T/f/ctl"; forge_stop
  ge "$(fcount '^conn')" 2 "$c: connections"
  eq "$(fcount '^attach')" 0 "$c: attach records"
done

# ---- the socket: never even connected to ------------------------------------
socket_cases="sock_mode_0666 sock_mode_0620"
[ "$(id -u)" = 0 ] && socket_cases="$socket_cases sock_owner_nobody"
for c in $socket_cases; do
  forge_start "$c"; programs "$c" "$T/f/ctl"; forge_stop
  eq "$(fcount '^conn')" 0 "$c: connections"
done
forge_start valid_bait
ln -s "$T/f/ctl" "$T/link.ctl"
programs symlink "$T/link.ctl"
forge_stop
eq "$(fcount '^conn')" 0 "symlinked path: connections"

# ---- the shared area forged: the shim's producer gives up, never spins ---------
for c in journal_head_far journal_seq_ahead journal_seq_behind journal_random \
         journal_churn shared_garbage; do
  forge_start "$c"; programs "$c" "$T/f/ctl"; forge_stop
done
ge "$(fcount '^attach')" 2 "shared_garbage: attach records"

# ---- republished after attach: refused at decision time ----------------------
cat >"$T/late.py" <<'PY'
import socket, sys, urllib.request
url, flip = sys.argv[1:3]
get = lambda: urllib.request.urlopen(url, timeout=5).read().decode()
try:
    get(); print("before: ok")
except Exception as e:
    print("before: failed", e)
s = socket.socket(socket.AF_UNIX)
s.connect(flip); s.send(b"F"); assert s.recv(1) == b"K"; s.close()
sys.stdout.write(get())
PY
for cw in late_errno_0:5 late_errno_1e6:5 late_errno_neg:5 late_errno_unlisted:5 late_short_0:6; do
  c=${cw%:*}; why=${cw#*:}
  forge_start "$c" -f
  res=$($PY "$T/run.py" "$T/out" "$T/f/ctl" "$SHIM" "$PY" "$T/late.py" "$URL" "$T/f/ctl.flip")
  forge_stop
  rc=${res% *}; cpu=${res#* }
  [ "$rc" = 0 ] || { cat "$T/out" "$T/out.err" >&2; fail "$c: the request after the change failed (rc $rc)"; }
  le "$cpu" "$CPU_MAX" "$c: CPU seconds"
  case $c in
    late_errno*) has "$T/out" "before: failed.*refused" "$c: the plan injected before the change" ;;
    late_short*) has "$T/out" "before: ok" "$c: before the change"
                 ge "$(fcount '^fault rule=0')" 1 "$c: shorts before the change" ;;
  esac
  tail -n +2 "$T/out" | cmp -s - "$T/www/index.txt" || fail "$c: output after the change"
  ge "$(fcount '^attach')" 1 "$c: attached"
  # the refusal comes after the change, once
  eq "$(sed -n '/^flip/,$p' "$T/f.log" | grep -c "^refused .* why=$why rule=0")" 1 "$c: refused once, why=$why"
done
# ---- a server that is not root nor us (SO_PEERCRED) --------------------------
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
  mkdir -p "$T/nb"; chown nobody "$T/nb"
  rm -f "$T/nb.ready"; mkfifo "$T/nb.ready"; chmod 666 "$T/nb.ready"
  setpriv --reuid=nobody --regid="$(id -gn nobody)" --clear-groups \
    "$FORGE" -p "$PORT" -U 0 -r "$T/nb.ready" "$T/nb/ctl" valid_bait >"$T/f.log" 2>"$T/f.err" &
  FPID=$!; _pids+=($FPID)
  read -r -t 20 line <"$T/nb.ready" || fail "forger as nobody did not start"
  chown root:root "$T/nb/ctl" # the path checks pass: only the peer is wrong
  programs peer_nobody "$T/nb/ctl"
  forge_stop
  ge "$(fcount '^conn')" 2 "peer_nobody: connections"
  eq "$(fcount '^req')" 0 "peer_nobody: requests sent to a wrong peer"
  say "a server running as nobody was refused by SO_PEERCRED"
else
  skip "needs root (a socket owned by another uid, a server as nobody)"
fi

say ok

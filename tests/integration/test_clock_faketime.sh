#!/usr/bin/env bash
# The libfaketime drop-in: with FAKETIME set and no clock rule (or no control
# block at all) the shim honours libfaketime's common forms. Side by side
# with libfaketime itself on the same programs (date +%s, python3
# time.time / time.monotonic, libc time()), the readings agree within a
# tolerance, with and without FAKETIME_DONT_FAKE_MONOTONIC=1 (libfaketime
# fakes the monotonic clocks by default, as its README says). Then what
# libfaketime cannot do: redis-server --version returns at once (libfaketime
# deadlocks it, TARGETS.md pitfall 8), a running redis reports the fake TIME,
# and a profile's clock rules take precedence over FAKETIME.
source "$(dirname "$0")/lib.sh"
need "$SHIM" date
LFT=${LFT:-/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1}

cat >"$T/probe.py" <<'PY'
import ctypes, time
libc = ctypes.CDLL(None)
print(time.time(), time.monotonic(), libc.time(None))
PY

# read LIB FAKETIME [ENV…] — "date python-time python-monotonic libc-time"
reading() {
  local lib=$1 ft=$2; shift 2
  local d p
  d=$(env "$@" FAKETIME="$ft" LD_PRELOAD="$lib" timeout 10 date +%s) || fail "date under $lib"
  p=$(env "$@" FAKETIME="$ft" LD_PRELOAD="$lib" timeout 10 $PY "$T/probe.py") || fail "python under $lib"
  echo "$d $p"
}

# same A B TOL LABEL — four readings agree within TOL seconds
same() {
  $PY - "$1" "$2" "$3" <<'PY' || fail "$4: libfaketime '$1' vs shim '$2'"
import sys
a, b, tol = sys.argv[1].split(), sys.argv[2].split(), float(sys.argv[3])
assert len(a) == len(b) == 4
for x, y in zip(a, b):
    assert abs(float(x) - float(y)) <= tol, (x, y)
PY
}

if [ -f "$LFT" ]; then
  for ft in "+2d" "-3h" "-120" "+10m" "+1.5h" "+1y" "@2026-01-01 00:00:00" \
            "2026-01-01 00:00:00" "+1h x2" "@2026-01-01 00:00:00 x10"; do
    tol=2
    case $ft in *x10) tol=5 ;; esac # x10: start-up time counts ten times
    for env in FL_NOTHING=1 FAKETIME_DONT_FAKE_MONOTONIC=1; do
      a=$(reading "$LFT" "$ft" "$env")
      b=$(reading "$SHIM" "$ft" "$env")
      say "FAKETIME='$ft' $env: libfaketime [$a] shim [$b]"
      same "$a" "$b" "$tol" "FAKETIME='$ft' $env"
    done
  done
  # a frozen clock is exact, to the nanosecond
  eq "$(FAKETIME='2026-01-01 00:00:00' LD_PRELOAD="$SHIM" date +%s.%N)" \
     "$(FAKETIME='2026-01-01 00:00:00' LD_PRELOAD="$LFT" date +%s.%N)" "frozen date +%s.%N"
else
  say "no libfaketime at $LFT: side-by-side comparison skipped"
fi

# negative offsets against the real clock (no libfaketime needed)
real=$(date +%s)
fake=$(FAKETIME="-1d" LD_PRELOAD="$SHIM" date +%s)
d=$((fake - real + 86400)); d=${d#-}
le "$d" 2 "date under FAKETIME=-1d vs real - 1 day"
mono=$(FAKETIME="-1d" FAKETIME_DONT_FAKE_MONOTONIC=1 LD_PRELOAD="$SHIM" $PY -c 'import time; print(time.monotonic())')
realmono=$($PY -c 'import time; print(time.monotonic())')
$PY -c "import sys; sys.exit(abs($mono - $realmono) > 1)" || fail "FAKETIME_DONT_FAKE_MONOTONIC=1: monotonic faked ($mono vs $realmono)"
# not understood: real time, and nothing printed
out=$(FAKETIME="tomorrow" LD_PRELOAD="$SHIM" date +%s 2>&1)
d=$((out - $(date +%s))); d=${d#-}
le "$d" 2 "date under an unknown FAKETIME form"

# FAKETIME next to a control block: honoured when the profile has no clock
# rule, overridden by the profile's clock rules when it has some
if [ -x "$FL" ]; then
  profile "$T/noclock.json" <<'JSON'
{"faultline": 1, "seed": 1, "targets": {"x": {"tcp": "127.0.0.1:9"}},
 "rules": [{"target": "x", "op": "connect", "fault": "error", "errno": "ECONNREFUSED"}]}
JSON
  profile "$T/clock.json" <<'JSON'
{"faultline": 1, "seed": 1, "targets": {},
 "rules": [{"clock": "realtime", "fault": "offset", "ms": -3600000}]}
JSON
  real=$(date +%s)
  a=$(FAKETIME="+1d" "$FL" run -p "$T/noclock.json" -o "$T/a.jsonl" -- date +%s)
  b=$(FAKETIME="+1d" "$FL" run -p "$T/clock.json" -o "$T/b.jsonl" -- date +%s)
  d=$((a - real - 86400)); d=${d#-}
  le "$d" 2 "FAKETIME=+1d under a profile without clock rules"
  d=$((b - real + 3600)); d=${d#-}
  le "$d" 2 "a profile's realtime -1 h rule over FAKETIME=+1d"
fi

# redis: libfaketime deadlocks it at start (pitfall 8); the shim does not
if command -v redis-server >/dev/null && command -v redis-cli >/dev/null; then
  t0=$(now_ms)
  rc=0; FAKETIME="+1h" LD_PRELOAD="$SHIM" timeout 5 redis-server --version >"$T/rv.out" || rc=$?
  dt=$(( $(now_ms) - t0 ))
  eq "$rc" 0 "redis-server --version under FAKETIME with the shim"
  le "$dt" 5000 "redis-server --version ms"
  has "$T/rv.out" "Redis server v="
  if [ -f "$LFT" ]; then
    rc=0; FAKETIME="+1h" LD_PRELOAD="$LFT" timeout 5 redis-server --version >/dev/null 2>&1 || rc=$?
    say "for the record, libfaketime: redis-server --version rc=$rc (124 = deadlocked)"
  fi
  P=$(free_port)
  FAKETIME="+1d" LD_PRELOAD="$SHIM" bg redis-server --port "$P" --bind 127.0.0.1 --save '' \
    --appendonly no --dir "$T" >"$T/redis.log" 2>&1
  rpid=$!
  wait_port "$P"
  rt=$(redis-cli -p "$P" time | head -1)
  d=$((rt - $(date +%s) - 86400)); d=${d#-}
  le "$d" 2 "redis TIME under FAKETIME=+1d"
  redis-cli -p "$P" set k v ex 100 >/dev/null
  ttl=$(redis-cli -p "$P" ttl k)
  ge "$ttl" 98 "TTL of a key set EX 100 under a shifted clock"
  redis-cli -p "$P" shutdown nosave >/dev/null 2>&1 || true
  wait "$rpid" 2>/dev/null || true
else
  say "redis not installed: redis part skipped"
fi
# dates int64 ns cannot hold are ignored (real time), as libfaketime ignores
# a date mktime cannot represent — never wrapped to another date
real_y=$(date +%Y)
for ft in "@0000-01-01 00:00:00" "@2300-01-01 00:00:00" "1600-01-01 00:00:00"; do
  eq "$(FAKETIME="$ft" LD_PRELOAD="$SHIM" date +%Y)" "$real_y" "year under FAKETIME='$ft'"
done
eq "$(FAKETIME="@1700-06-01 00:00:00" LD_PRELOAD="$SHIM" date +%Y)" 1700 "a representable old date"
say "ok"

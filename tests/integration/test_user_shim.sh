#!/usr/bin/env bash
# test_user_shim.sh — `faultline run --user nobody` when nobody cannot read
# the shim (a checkout under a 0700 home directory): the shim is staged in
# a root-owned 0755 directory, the copy 0644, the program attaches and is
# faulted, and the copy is gone after the run. When nobody can read it, no
# copy is made.
source "$(dirname "$0")/lib.sh"
need "$PY"
[ "$(id -u)" = 0 ] || skip "--user needs root"
PRIV=$T/home
mkdir -m 0700 "$PRIV"
cp "$SHIM" "$PRIV/libfaultline.so"
mkdir -m 0755 "$T/data"; echo x >"$T/data/f"; chmod 0644 "$T/data/f"
profile "$T/p.json" <<EOF
{"faultline": 1, "targets": {"f": {"path": "$T/data/*"}},
 "rules": [{"target": "f", "op": "open", "fault": "error", "errno": "EACCES"}]}
EOF
staged() { find /tmp -maxdepth 1 -name 'faultline-shim.*' | wc -l; }
before=$(staged)

cat >"$T/probe.py" <<'PY'
import os, sys
for line in open("/proc/self/maps"):
    if "libfaultline.so" in line:
        print("shim", line.split()[-1])
        st = os.stat(os.path.dirname(line.split()[-1]))
        print("dir", oct(st.st_mode & 0o7777), st.st_uid)
        break
try:
    open(sys.argv[1]).read()
    print("read ok")
except PermissionError:
    print("EACCES")
PY
chmod 0644 "$T/probe.py"
rc=0
FAULTLINE_SHIM=$PRIV/libfaultline.so "$FL" run --mode preload --user nobody -p "$T/p.json" \
  -o "$T/tl.jsonl" -- "$PY" "$T/probe.py" "$T/data/f" >"$T/out" 2>"$T/err" || rc=$?
cat "$T/out" "$T/err" >&2
eq "$rc" 0 "exit status"
has "$T/out" "EACCES"
has "$T/out" "shim /tmp/faultline-shim."
has "$T/out" "dir 0o755 0"
ge "$(jcount "$T/tl.jsonl" 'r["type"] == "attach"')" 1 "attach records"
eq "$(staged)" "$before" "staged copies left behind"

# readable as it is: preloaded from where it is
chmod 0755 "$PRIV"
FAULTLINE_SHIM=$PRIV/libfaultline.so "$FL" run --mode preload --user nobody -p "$T/p.json" \
  -- "$PY" "$T/probe.py" "$T/data/f" >"$T/out2" 2>/dev/null
has "$T/out2" "shim $PRIV/libfaultline.so"
say "ok"

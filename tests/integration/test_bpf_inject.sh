#!/usr/bin/env bash
# The eBPF injectors, for any binary in the cgroup:
#  - "layer": "bpf" connect error: cgroup/connect4 refuses the connect with
#    the rule's errno, for a dynamic (curl, python) and a static program
#    (busybox wget) alike; the kernel's account shows the refusals;
#  - op "packet" fault "drop": a dropped SYN gives curl a real connect
#    timeout (exit 28), after a real retransmission;
#  - a rule that needs the layer is an error before CMD starts when the
#    layer cannot be had (--no-bpf; drill without --cgroup).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/bpf_lib.sh"
need /bin/busybox curl
BB=/bin/busybox

P=$(free_port)
serve web http "$P" "body"
URL=http://127.0.0.1:$P/
for e in EPERM ECONNREFUSED; do
  profile "$T/$e.json" <<JSON
{"faultline": 1, "targets": {"web": {"tcp": "127.0.0.1:$P"}},
 "rules": [{"target": "web", "op": "connect", "fault": "error", "errno": "$e", "layer": "bpf"}]}
JSON
  # the errno the program sees is the rule's (bpf_set_retval)
  got=$("$FL" run -p "$T/$e.json" -o "$T/$e.jsonl" -- $PY -c "
import errno, socket
s = socket.socket()
try:
    s.connect(('127.0.0.1', $P)); print('ok')
except OSError as x:
    print(errno.errorcode[x.errno])")
  eq "$got" "$e" "python sees the rule's errno"
  eq "$(jget "$T/$e.jsonl" 's["per_rule"][0]["hits"]')" 1 "$e: hits"
  eq "$(jget "$T/$e.jsonl" 's["per_rule"][0]["layer"]')" bpf "$e: layer"
  eq "$(jget "$T/$e.jsonl" 's["per_rule"][0]["kernel"]["target"]["results"]')" "{'$e': 1}" "$e: kernel's account"
done

# curl and a static binary under the same rule
rc=0; "$FL" run -p "$T/ECONNREFUSED.json" -o "$T/two.jsonl" -- sh -c \
  "curl -s -o /dev/null $URL; echo \$?; $BB timeout 10 $BB wget -q -O /dev/null $URL 2>/dev/null; echo \$?" >"$T/two.out"
eq "$(tr '\n' ' ' <"$T/two.out")" "7 1 " "curl and busybox wget refused"
eq "$(jget "$T/two.jsonl" 's["per_rule"][0]["hits"]')" 2 "curl + wget: hits"
eq "$(jget "$T/two.jsonl" 'sum(r.get("injected", {}).get("0", 0) for r in k)')" 2 "kernel records: injected"

# a dropped SYN: a real connect timeout
profile "$T/drop.json" <<JSON
{"faultline": 1, "targets": {"web": {"tcp": "127.0.0.1:$P"}},
 "rules": [{"target": "web", "op": "packet", "fault": "drop", "probability": 1.0}]}
JSON
# (2 s: the SYN is retransmitted after TCP's initial 1 s RTO, and dropped again)
rc=0; "$FL" run -p "$T/drop.json" -o "$T/drop.jsonl" -- curl -s -o /dev/null --connect-timeout 2 "$URL" || rc=$?
eq "$rc" 28 "curl's connect timed out"
ge "$(jget "$T/drop.jsonl" 's["per_rule"][0]["hits"]')" 2 "packets dropped (the SYN and its retransmission)"
ge "$(jget "$T/drop.jsonl" 's["per_rule"][0]["kernel"]["tcp_retransmits"]')" 1 "kernel: TCP retransmitted the SYN"
eq "$(jget "$T/drop.jsonl" 'sum(r.get("tcp", {}).get("state_to", {}).get("SYN_SENT", 0) for r in k)')" 1 "kernel: one SYN_SENT"
eq "$(jget "$T/drop.jsonl" 'sum(r.get("tcp", {}).get("state_to", {}).get("ESTABLISHED", 0) for r in k)')" 0 "kernel: never established"
# the same curl without the rule connects (the drop is what failed it)
curl -s -o /dev/null --connect-timeout 1 "$URL" || fail "curl without the drop rule"

# packets to another port are untouched by the drop rule
P2=$(free_port)
serve other http "$P2" "other"
"$FL" run -p "$T/drop.json" -o "$T/other.jsonl" -- curl -s -o /dev/null --connect-timeout 2 "http://127.0.0.1:$P2/" ||
  fail "a drop rule for port $P dropped traffic to $P2"
eq "$(jget "$T/other.jsonl" 's["per_rule"][0]["hits"]')" 0 "no drops for the other port"

# a rule needing the layer, without it: 125, CMD never starts
rc=0; "$FL" run --no-bpf -p "$T/drop.json" -- touch "$T/ran" 2>"$T/nobpf.err" || rc=$?
eq "$rc" 125 "--no-bpf with a packet rule"
[ ! -e "$T/ran" ] || fail "CMD started although its rule could not be applied"
has "$T/nobpf.err" "rule 0 (packet drop on \"web\") needs the eBPF layer"
has "$T/nobpf.err" "--no-bpf"
rc=0; "$FL" drill -p "$T/drop.json" --ctl "$T/ctl" --duration 0 2>"$T/drill.err" || rc=$?
eq "$rc" 125 "drill without --cgroup with a packet rule"
has "$T/drill.err" "drill --cgroup PATH"

# drill --cgroup: a service started elsewhere, in a cgroup of its own (as a
# systemd unit's is); the drill refuses its connects for 2 s, then stops
# and leaves the cgroup as it found it
CGD=$(own_cgdir)/fltest.$$
mkdir "$CGD"
rm -f "$T/c_up" "$T/c_go"; mkfifo "$T/c_up" "$T/c_go"
bg sh -c "echo \$\$ >$CGD/cgroup.procs; echo up >$T/c_up; read x <$T/c_go; exec $PY -c \"
import errno, socket
s = socket.socket()
try:
    s.connect(('127.0.0.1', $P)); print('ok')
except OSError as x:
    print(errno.errorcode[x.errno])\" >$T/c_out"
CPID=$!
read -r _ <"$T/c_up"
bg "$FL" drill -p "$T/EPERM.json" --ctl "$T/dctl" --cgroup "$CGD" --duration 30 -o "$T/drill.jsonl"
DPID=$!
# the injector is attached once the drill's first kernel record is written
for i in $(seq 1 200); do
  [ -s "$T/drill.jsonl" ] && grep -q '"type":"kernel"' "$T/drill.jsonl" && break
  $PY -c 'import time; time.sleep(0.05)'
done
echo go >"$T/c_go"
wait "$CPID"
eq "$(cat "$T/c_out")" EPERM "a service in --cgroup refused by the drill"
kill -INT "$DPID"; wait "$DPID" || true
eq "$(jget "$T/drill.jsonl" 's["per_rule"][0]["hits"]')" 1 "drill --cgroup: hits"
[ -d "$CGD" ] || fail "the drill removed a cgroup it did not make"
attached "fltest.$$" && fail "programs left on $CGD after the drill"
rmdir "$CGD"

# and the loader refuses what the layer cannot do
cat >"$T/bad.json" <<JSON
{"faultline": 1, "targets": {"web": {"tcp": "127.0.0.1:$P"}},
 "rules": [{"target": "web", "op": "connect", "fault": "delay", "ms": 5, "layer": "bpf"},
           {"target": "web", "op": "packet", "fault": "drop", "nth": 2}]}
JSON
rc=0; "$FL" validate "$T/bad.json" >"$T/bad.out" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "validate accepted bad bpf rules"
has "$T/bad.out" 'rules\[0\].layer: the bpf layer does connect error and packet drop'
has "$T/bad.out" 'rules\[1\].nth: not supported by the bpf layer'
say "ok"

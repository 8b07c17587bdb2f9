#!/usr/bin/env bash
# nginx (nginx-light: epoll, non-blocking upstream connects, recv) as the SUT,
# proxying to servers.py http; faults on the upstream target:
#  - connect error ECONNREFUSED on the 2nd upstream connect → that request
#    gets 502 at once, the ones around it 200 (nginx saw errno 111);
#  - recv delay 3000 ms on the upstream → 504 after proxy_read_timeout 1s,
#    not after 3 s: the delay hides readiness from epoll and nginx's own
#    timer still fires;
#  - recv delay 500 ms on the upstream → 200 after >= 0.5 s: the hidden
#    readiness comes back (nginx registers with EPOLLET; the restore must
#    re-arm it) before the 1 s timeout;
#  - accept delay 600 ms on nginx's own listening address → the client waits
#    >= 0.6 s for its 200;
#  - master_process on, worker as nobody (TARGETS: shim state must survive
#    fork and the privilege drop): the refused connect happens in the worker.
source "$(dirname "$0")/lib.sh"
need nginx curl "$FL" "$SHIM"
NGINX=$(command -v nginx)

U=$(free_port)
serve up http "$U" "upstream says hi"

start_nginx() { # NAME RULES-JSON [P [master]] → sets P, NGPID
  local d=$T/$1 mp="master_process off;"
  P=${3:-$(free_port)}
  [ "${4:-}" = master ] && mp="master_process on; user nobody nogroup;"
  mkdir -p "$d"
  cat >"$d/nginx.conf" <<CONF
daemon off;
$mp
worker_processes 1;
pid $d/nginx.pid;
error_log $d/error.log info;
events { worker_connections 64; }
http {
  access_log $d/access.log;
  client_body_temp_path $d/body;
  proxy_temp_path $d/proxy;
  fastcgi_temp_path $d/fastcgi;
  uwsgi_temp_path $d/uwsgi;
  scgi_temp_path $d/scgi;
  upstream app { server 127.0.0.1:$U max_fails=0; }
  server {
    listen 127.0.0.1:$P;
    location / {
      proxy_pass http://app;
      proxy_connect_timeout 1s;
      proxy_read_timeout 1s;
    }
  }
}
CONF
  profile "$d/p.json" <<JSON
{"faultline": 1, "seed": 3, "targets": {"up": {"tcp": "127.0.0.1:$U"}, "front": {"tcp": "127.0.0.1:$P"}},
 "rules": [$2]}
JSON
  bg_fl "$FL" run -p "$d/p.json" -o "$d/tl.jsonl" -- "$NGINX" -c "$d/nginx.conf" -p "$d/" >"$d/out" 2>&1
  NGPID=$!
  wait_port "$P"
}
get() { curl -s -o "$T/body" -m 5 -w '%{http_code} %{time_total}\n' "http://127.0.0.1:$P/"; }

# 1. upstream connect refused on the 2nd connect
start_nginx refused '{"target": "up", "op": "connect", "nth": "2", "fault": "error", "errno": "ECONNREFUSED"}'
read -r c1 t1 < <(get); b1=$(cat "$T/body")
read -r c2 t2 < <(get)
read -r c3 t3 < <(get); b3=$(cat "$T/body")
say "refused: $c1 $t1 / $c2 $t2 / $c3 $t3"
eq "$c1" 200 "request 1 status"; eq "$b1" "upstream says hi" "request 1 body"
eq "$c2" 502 "request 2 status (upstream connect refused)"
le "$t2" 0.5 "request 2 seconds (refused is immediate)"
eq "$c3" 200 "request 3 status"; eq "$b3" "upstream says hi" "request 3 body"
rc=0; stop_fl "$NGPID" || rc=$?
eq "$rc" 0 "nginx exit status after SIGTERM"
has "$T/refused/error.log" "(111: Connection refused) while connecting to upstream" "nginx error log"
eq "$(jcount "$T/refused/tl.jsonl" 'r["type"]=="fault" and r["kind"]=="fault"')" 1 "refused: faults"
eq "$(jcount "$T/refused/tl.jsonl" 'r["type"]=="fault" and r["kind"]=="fault" and r["op"]=="connect" and r["errno"]=="ECONNREFUSED" and r["nth"]==2')" 1 "refused: record"

# 2. upstream replies 3 s late; nginx gives up after its 1 s read timeout
start_nginx slow '{"target": "up", "op": "recv", "fault": "delay", "ms": 3000}'
t0=$(now_ms)
read -r c t < <(get)
dt=$(( $(now_ms) - t0 ))
say "slow upstream: $c after $t s (${dt} ms wall)"
eq "$c" 504 "status with a 3 s upstream delay and proxy_read_timeout 1s"
ge "$t" 0.95 "seconds to the 504"
le "$t" 2.0 "seconds to the 504 (the 3 s delay must not hold nginx)"
rc=0; stop_fl "$NGPID" || rc=$?
eq "$rc" 0 "nginx exit status after SIGTERM"
has "$T/slow/error.log" "upstream timed out (110: Connection timed out) while reading response header from upstream" "nginx error log"
ge "$(jcount "$T/slow/tl.jsonl" 'r["type"]=="fault" and r["kind"]=="fault" and r["op"]=="recv" and r["fault"]=="delay" and r["errno"]=="EAGAIN"')" 1 "slow: readiness-delay records"
eq "$(jcount "$T/slow/tl.jsonl" 'r["type"]=="fault" and r["kind"]=="fault" and r["op"]!="recv"')" 0 "slow: other faults"

# 3. upstream replies 500 ms late: within the timeout, so 200, late
start_nginx late '{"target": "up", "op": "recv", "nth": "1", "fault": "delay", "ms": 500}'
read -r c t < <(get); b=$(cat "$T/body")
say "late upstream: $c after $t s"
eq "$c" 200 "status with a 500 ms upstream delay"
eq "$b" "upstream says hi" "body with a 500 ms upstream delay"
ge "$t" 0.5 "seconds to the 200"
le "$t" 0.95 "seconds to the 200 (before proxy_read_timeout)"
read -r c t < <(get)
eq "$c" 200 "next request status"; le "$t" 0.3 "next request seconds"
stop_fl "$NGPID" || true
eq "$(jcount "$T/late/tl.jsonl" 'r["type"]=="fault" and r["kind"]=="fault" and r["op"]=="recv" and r["nth"]==1')" 1 "late: record"

# 4. nginx's own accept is 600 ms late (target on its listening address)
P=$(free_port)
start_nginx acc '{"target": "front", "op": "accept", "nth": "2", "fault": "delay", "ms": 600}' "$P"
# wait_port's connect was accept nth 1; this request's is nth 2
read -r c t < <(get); b=$(cat "$T/body")
say "late accept: $c after $t s"
eq "$c" 200 "status with a 600 ms accept delay"
eq "$b" "upstream says hi" "body with a 600 ms accept delay"
ge "$t" 0.6 "seconds to the 200"
le "$t" 1.5 "seconds to the 200"
stop_fl "$NGPID" || true
eq "$(jcount "$T/acc/tl.jsonl" 'r["type"]=="fault" and r["kind"]=="fault" and r["op"]=="accept" and r["nth"]==2 and r["target"]=="front"')" 1 "acc: record"

# 5. master + worker (as nobody): the 2nd upstream connect, in the worker
start_nginx master '{"target": "up", "op": "connect", "nth": "2", "fault": "error", "errno": "ECONNREFUSED"}' "$(free_port)" master
MASTER=$(child_of "$NGPID")
WORKER=
for i in $(seq 1 100); do  # the master forks its worker after listening
  WORKER=$(child_of "$MASTER")
  [ -n "$WORKER" ] && [ "$(awk '/^Uid:/ {print $2}' "/proc/$WORKER/status" 2>/dev/null)" = "$(id -u nobody)" ] && break
  msleep 50
done
[ -n "$WORKER" ] || fail "master: no worker process"
eq "$(awk '/^Uid:/ {print $2}' "/proc/$WORKER/status")" "$(id -u nobody)" "master: the worker's uid"
read -r c1 t1 < <(get)
read -r c2 t2 < <(get)
read -r c3 t3 < <(get)
say "master/worker: $c1 / $c2 / $c3"
eq "$c1 $c2 $c3" "200 502 200" "master: statuses"
rc=0; stop_fl "$NGPID" || rc=$?
eq "$rc" 0 "master: nginx exit status after SIGTERM"
eq "$(jcount "$T/master/tl.jsonl" "r['type']=='fault' and r['kind']=='fault' and r['op']=='connect' and r['nth']==2 and r['pid']==$WORKER")" 1 "master: the fault is the worker's"
eq "$(jcount "$T/master/tl.jsonl" 'r["type"]=="fault" and r["kind"]=="fault"')" 1 "master: faults"
say "ok"

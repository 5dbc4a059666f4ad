#!/usr/bin/env bash
# Side-by-side benchmark on loopback: nginx direct (the ceiling), nginx as a plain reverse
# proxy (the reference) and keygate (plain, authenticated, rate-limited with every request
# checked in Redis, rate-limited with leases, over the limit; rate-limited against a 3-master
# Redis Cluster too), in the same run.
# Bounded in time: each case runs ROUNDS times (default 5) for DURATION seconds (default 5)
# after a one-second warm-up, about five minutes in all. Five rounds, because this shared
# machine's speed drifts by 10-40% from minute to minute and a median of three still moved by
# more than the 5-10% differences the cases are compared at.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
DURATION=${DURATION:-5}
ROUNDS=${ROUNDS:-5}
CONNECTIONS=${CONNECTIONS:-50}
USAGE=${USAGE:-on}  # USAGE=off measures the request path without usage recording
# CASES_MATCHING=regex runs only the cases whose name matches (e.g. 'plain, keyed|rate-limited');
# PROFILE=file also records a perf profile of keygate over the matching cases.
CASES_MATCHING=${CASES_MATCHING:-}
PROFILE=${PROFILE:-}
KEYGATE=$PWD/$BUILD/keygate
WORK=$(mktemp -d /tmp/keygate-bench.XXXXXX)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pidfile in "$WORK"/ngx-*/nginx.pid; do
    [ -f "$pidfile" ] && kill "$(cat "$pidfile")" 2>/dev/null || true
  done
  sleep 0.3
  rm -rf "$WORK"
}
trap cleanup EXIT

# Distinct free ports: every socket stays bound until all are picked.
free_ports() { python3 -c 'import socket,sys
s=[socket.socket() for _ in range(int(sys.argv[1]))]
[x.bind(("127.0.0.1",0)) for x in s]; print(" ".join(str(x.getsockname()[1]) for x in s))' "$1"; }
read -r UP NGX KG KGA RP NGXFA KGF PEER KG2 KGA2 UPT NGXT NGXU KGT C1 C2 C3 CB1 CB2 CB3 KGC KGCA \
  <<<"$(free_ports 22)"
# TLS rows: an HTTPS upstream (nginx), nginx and keygate terminating TLS, and each as a
# plain-HTTP front to the HTTPS upstream. One certificate for all, TLS 1.3, keep-alive.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1,DNS:localhost \
  -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null

# nginx: one worker as the upstream, and one worker as a keep-alive reverse proxy.
mkdir -p "$WORK/ngx-up" "$WORK/ngx-proxy"
cat > "$WORK/ngx-up/nginx.conf" <<NGINX
worker_processes 1;
pid $WORK/ngx-up/nginx.pid;
error_log $WORK/ngx-up/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 10000000;
  server { listen 127.0.0.1:$UP; location / { default_type application/json; return 200 '{"ok":true,"service":"bench"}'; } }
  server {
    listen 127.0.0.1:$UPT ssl;
    ssl_certificate $WORK/cert.pem; ssl_certificate_key $WORK/key.pem; ssl_protocols TLSv1.3;
    location / { default_type application/json; return 200 '{"ok":true,"service":"bench"}'; }
  }
}
NGINX
cat > "$WORK/ngx-proxy/nginx.conf" <<NGINX
worker_processes 1;
pid $WORK/ngx-proxy/nginx.pid;
error_log $WORK/ngx-proxy/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 10000000;
  upstream api { server 127.0.0.1:$UP; keepalive 128; }
  server {
    listen 127.0.0.1:$NGX;
    location / {
      proxy_pass http://api;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
    }
  }
  server {
    listen 127.0.0.1:$NGXT ssl;
    ssl_certificate $WORK/cert.pem; ssl_certificate_key $WORK/key.pem; ssl_protocols TLSv1.3;
    location / {
      proxy_pass http://api;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
    }
  }
  upstream apis { server 127.0.0.1:$UPT; keepalive 128; }
  server {
    listen 127.0.0.1:$NGXU;
    location / {
      proxy_pass https://apis;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
      proxy_ssl_protocols TLSv1.3;
      proxy_ssl_session_reuse on;
      proxy_ssl_verify on;
      proxy_ssl_trusted_certificate $WORK/cert.pem;
      proxy_ssl_name localhost;
      proxy_ssl_server_name on;
    }
  }
}
NGINX
# nginx with auth_request in front of the upstream, asking keygate's authorize listener
# (docs/forward-auth.md), over keep-alive connections.
mkdir -p "$WORK/ngx-fa"
cat > "$WORK/ngx-fa/nginx.conf" <<NGINX
worker_processes 1;
pid $WORK/ngx-fa/nginx.pid;
error_log $WORK/ngx-fa/error.log;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 10000000;
  upstream api { server 127.0.0.1:$UP; keepalive 128; }
  upstream keygate { server 127.0.0.1:$KGF; keepalive 128; }
  server {
    listen 127.0.0.1:$NGXFA;
    location = /_keygate {
      internal;
      proxy_pass http://keygate;
      proxy_http_version 1.1;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header Connection "";
      proxy_set_header X-Original-Method \$request_method;
      proxy_set_header X-Original-URI \$request_uri;
      proxy_set_header X-Forwarded-Host \$host;
      proxy_set_header X-Forwarded-For \$remote_addr;
    }
    location / {
      auth_request /_keygate;
      auth_request_set \$keygate_org \$upstream_http_x_keygate_org;
      auth_request_set \$keygate_key_id \$upstream_http_x_keygate_key_id;
      proxy_set_header X-Keygate-Org \$keygate_org;
      proxy_set_header X-Keygate-Key-Id \$keygate_key_id;
      proxy_set_header Authorization "";
      proxy_pass http://api;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
NGINX
nginx -c "$WORK/ngx-fa/nginx.conf" -p "$WORK/ngx-fa"

# The Kong-style peer: nginx + ngx_lua (what OpenResty is), key cache in a shared dict, an
# exact fixed-window limit in Redis per request (bench/kong_style_peer.lua).
mkdir -p "$WORK/ngx-peer"
cat > "$WORK/ngx-peer/nginx.conf" <<NGINX
load_module /usr/lib/nginx/modules/ndk_http_module.so;
load_module /usr/lib/nginx/modules/ngx_http_lua_module.so;
worker_processes 1;
pid $WORK/ngx-peer/nginx.pid;
error_log $WORK/ngx-peer/error.log;
env BENCH_REDIS_PORT;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 10000000;
  lua_package_path "/usr/share/lua/5.1/?.lua;;";
  lua_shared_dict keys 64m;
  upstream api { server 127.0.0.1:$UP; keepalive 128; }
  server {
    listen 127.0.0.1:$PEER;
    location / {
      access_by_lua_file $PWD/bench/kong_style_peer.lua;
      proxy_pass http://api;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
NGINX
BENCH_REDIS_PORT=$RP nginx -c "$WORK/ngx-peer/nginx.conf" -p "$WORK/ngx-peer"
nginx -c "$WORK/ngx-up/nginx.conf" -p "$WORK/ngx-up"
nginx -c "$WORK/ngx-proxy/nginx.conf" -p "$WORK/ngx-proxy"
redis-server --port "$RP" --save "" --appendonly no --daemonize no >"$WORK/redis.log" 2>&1 &
REDIS_PID=$!
PIDS+=($REDIS_PID)
# A 3-master Redis Cluster beside it, for the rate-limited row on a cluster (each node's bus port
# picked too: port + 10000 may be taken or out of range).
for node in "$C1:$CB1" "$C2:$CB2" "$C3:$CB3"; do
  mkdir -p "$WORK/cluster-${node%%:*}"
  redis-server --port "${node%%:*}" --cluster-enabled yes --cluster-port "${node##*:}" \
    --cluster-config-file "$WORK/cluster-${node%%:*}/nodes.conf" --dir "$WORK/cluster-${node%%:*}" \
    --save "" --appendonly no --daemonize no >"$WORK/cluster-${node%%:*}.log" 2>&1 &
  PIDS+=($!)
done

cat > "$WORK/keygate.yaml" <<YAML
threads: 1
listeners:
  - {address: 127.0.0.1, port: $KG}
  - {address: 127.0.0.1, port: $KGF, mode: authorize, trusted_proxies: [127.0.0.1/32]}
  - {address: 127.0.0.1, port: $KGT, tls: {cert_file: $WORK/cert.pem, key_file: $WORK/key.pem, min_version: "1.3"}}
admin: {address: 127.0.0.1, port: $KGA}
access_log: {enabled: false}
upstreams:
  - {name: api, url: "http://127.0.0.1:$UP", max_idle_connections: 256}
  - {name: apis, url: "https://127.0.0.1:$UPT", max_idle_connections: 256, tls: {ca_file: $WORK/cert.pem}}
routes:
  - {name: plain, match: {path_prefix: /plain/}, upstream: api, auth: none}
  - {name: to-https, match: {path_prefix: /to-https/}, upstream: apis, auth: none}
  - {name: auth, match: {path_prefix: /auth/}, upstream: api}
  - {name: limited, match: {path_prefix: /limited/}, upstream: api, rate_limits: [generous]}
  - {name: leased, match: {path_prefix: /leased/}, upstream: api, rate_limits: [generous-leased]}
  - {name: spent, match: {path_prefix: /spent/}, upstream: api, rate_limits: [one-an-hour]}
keys:
  plans: [{name: bench, max_keys: unlimited}]
  default_plan: bench
rate_limits:
  policies:
    - {name: generous, per: key, algorithm: fixed_window, limit: 100000000, window: 1h}
    - {name: generous-leased, per: key, algorithm: sliding_window, limit: 100000000, window: 1h,
       lease: 100}
    - {name: one-an-hour, per: key, algorithm: fixed_window, limit: 1, window: 1h}
store: {kind: redis, redis: {host: 127.0.0.1, port: $RP}}
usage: {enabled: $([ "$USAGE" = off ] && echo false || echo true)}
limits: {max_connections: 20000}
cache: {max_entries: 200000}
YAML

for port in "$RP" "$C1" "$C2" "$C3"; do
  for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
done
redis-cli --cluster create "127.0.0.1:$C1" "127.0.0.1:$C2" "127.0.0.1:$C3" --cluster-yes >/dev/null
for _ in $(seq 100); do  # until every node sees all slots served (at most 10 s)
  formed=0
  for port in "$C1" "$C2" "$C3"; do
    redis-cli -p "$port" cluster info | grep -q '^cluster_state:ok' && formed=$((formed + 1))
  done
  [ "$formed" = 3 ] && break
  sleep 0.1
done
[ "$formed" = 3 ] || { echo "the Redis Cluster did not form" >&2; exit 1; }
# The same keygate settings on the cluster: counters spread over the masters by org.
sed -e "s/port: $KG}/port: $KGC}/" -e "s/port: $KGA}/port: $KGCA}/" -e "/mode: authorize/d" \
  -e "/tls: {cert_file/d" \
  -e "s|^store: .*|store: {kind: redis, redis: {cluster: {seeds: [\"127.0.0.1:$C1\", \"127.0.0.1:$C2\", \"127.0.0.1:$C3\"]}}}|" \
  "$WORK/keygate.yaml" >"$WORK/keygate-cluster.yaml"
echo "creating 1000 keys..." >&2
: > "$WORK/keys.txt"
for i in $(seq 1000); do
  "$KEYGATE" keys create --config "$WORK/keygate.yaml" --org "org$((i % 50))" --name "k$i" \
    --env live --type secret 2>/dev/null | grep -oE 'sk_live_[0-9A-Za-z]{40}' >> "$WORK/keys.txt"
done
echo "creating 200 keys on the cluster..." >&2
: > "$WORK/keys-cluster.txt"
for i in $(seq 200); do
  "$KEYGATE" keys create --config "$WORK/keygate-cluster.yaml" --org "org$((i % 50))" \
    --name "k$i" --env live --type secret 2>/dev/null | grep -oE 'sk_live_[0-9A-Za-z]{40}' \
    >> "$WORK/keys-cluster.txt"
done

ulimit -n "$(ulimit -Hn)"  # room for the idle client connections, below
# The peer's consumers are the same keys.
awk '{print "SET peer:key:" $1 " bench"}' "$WORK/keys.txt" | redis-cli -p "$RP" >/dev/null

"$KEYGATE" serve --config "$WORK/keygate.yaml" 2>"$WORK/keygate.log" &
KG_PID=$!
PIDS+=($KG_PID)
# The same configuration with two workers, for the scaling row.
sed -e "s/^threads: 1/threads: 2/" -e "s/port: $KG}/port: $KG2}/" -e "s/port: $KGA}/port: $KGA2}/" \
  -e "/mode: authorize/d" -e "/tls: {cert_file/d" "$WORK/keygate.yaml" >"$WORK/keygate2.yaml"
"$KEYGATE" serve --config "$WORK/keygate2.yaml" 2>"$WORK/keygate2.log" &
KG2_PID=$!
PIDS+=($KG2_PID)
"$KEYGATE" serve --config "$WORK/keygate-cluster.yaml" 2>"$WORK/keygate-cluster.log" &
KGC_PID=$!
PIDS+=($KGC_PID)
for admin in "$KGA" "$KGA2" "$KGCA"; do
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$admin/readyz" >/dev/null && break; sleep 0.1; done
done

cat > "$WORK/keys.lua" <<'LUA'
local keys = {}
for line in io.lines(os.getenv("KEYS_FILE")) do keys[#keys + 1] = line end
local i = 0
local path = os.getenv("BENCH_PATH")
local mode = os.getenv("KEY_MODE")
local alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
local function random_key()
  local t = {}
  for n = 1, 40 do local r = math.random(1, 62); t[n] = alphabet:sub(r, r) end
  return "sk_live_" .. table.concat(t)
end
request = function()
  i = i + 1
  local key = mode == "invalid" and random_key() or keys[(i % #keys) + 1]
  return wrk.format("GET", path, {["Authorization"] = "Bearer " .. key})
end
LUA

# CPU time (user+sys, clock ticks) of a process and its threads.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
# The whole machine's idle and total ticks: a case that leaves the cores idle is bound by
# latency (requests waiting on one another), not by CPU.
machine_ticks() { awk '/^cpu / {print $5 + $6, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9}' /proc/stat; }
TICK_US=$((1000000 / $(getconf CLK_TCK)))
nginx_worker() { pgrep -P "$(cat "$1")" | head -1; }

# Cases run in ROUNDS interleaved rounds and each figure is the median over the rounds: on a
# shared machine the speed of the whole box drifts from minute to minute, and interleaving
# exposes nginx and keygate to the same drift.
CASES=()
add_case() {  # name port path pid [key-mode] [count-evalsha] [scheme] [close] [keys-file]
  CASES+=("$1|$2|$3|$4|${5:-}|${6:-}|${7:-http}|${8:-}|${9:-$WORK/keys.txt}")
}
declare -A RPS P50 P99 CPU NON2XX IDLE
# Per counted case: EVALSHA calls, Redis's own time inside them (us), the requests, and the
# redis-server process's CPU ticks (scripts, parsing, networking).
declare -A EVALSHA_CALLS EVALSHA_USEC EVALSHA_REQS REDIS_TICKS INCR_CALLS

# wrk prints latencies with a unit (850.00us, 1.20ms, 1.01s): milliseconds as a number.
to_ms() {
  awk -v v="$1" 'BEGIN {
    n = v + 0
    if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n = n; else if (v ~ /s$/) n *= 1000
    printf "%.3f", n }'
}
median() { tr ' ' '\n' <<<"$1" | grep -v '^$' | sort -g | awk '{a[NR] = $1} END {
  if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

run_once() {  # case index
  local name port path pid mode count_evalsha
  local scheme close keys
  IFS='|' read -r name port path pid mode count_evalsha scheme close keys <<<"${CASES[$1]}"
  local script=()
  [ -n "$mode" ] && script=(-s "$WORK/keys.lua")
  [ -n "$close" ] && script+=(-H "Connection: close")
  KEYS_FILE=$keys BENCH_PATH=$path KEY_MODE=$mode \
    wrk -t1 -c"$CONNECTIONS" -d1s "${script[@]}" "$scheme://127.0.0.1:$port$path" >/dev/null
  [ -n "$count_evalsha" ] && redis-cli -p "$RP" config resetstat >/dev/null
  local before after out reqs redis_before machine_before machine_after
  redis_before=$(cpu_ticks "$REDIS_PID")
  machine_before=$(machine_ticks)
  before=$(cpu_ticks "$pid")
  out=$(KEYS_FILE=$keys BENCH_PATH=$path KEY_MODE=$mode \
    wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency "${script[@]}" "$scheme://127.0.0.1:$port$path")
  after=$(cpu_ticks "$pid")
  machine_after=$(machine_ticks)
  reqs=$(awk '/requests in/ {print $1}' <<<"$out")
  RPS[$1]+=" $(awk '/Requests\/sec/ {print $2}' <<<"$out")"
  P50[$1]+=" $(to_ms "$(awk '$1 == "50%" {print $2}' <<<"$out")")"
  P99[$1]+=" $(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$out")")"
  IDLE[$1]+=" $(awk -v b="$machine_before" -v a="$machine_after" 'BEGIN {
    split(b, x, " "); split(a, y, " "); printf "%.0f", 100 * (y[1] - x[1]) / (y[2] - x[2]) }')"
  CPU[$1]+=" $(awk -v t=$((after - before)) -v r="$reqs" -v u="$TICK_US" 'BEGIN {printf "%.1f", t * u / r}')"
  local codes
  codes=$(grep -oE "Non-2xx or 3xx responses: [0-9]+" <<<"$out" | awk '{print $NF}' || true)
  NON2XX[$1]=$(( ${NON2XX[$1]:-0} + ${codes:-0} ))
  if [ -n "$count_evalsha" ]; then
    # Round trips: EVALSHA calls (Redis also counts the commands a script runs inside it).
    local stats calls usec
    stats=$(redis-cli -p "$RP" info commandstats | tr -d '\r' | grep '^cmdstat_evalsha:' || true)
    calls=$(awk -F'[=,:]' '{print $3}' <<<"$stats")
    usec=$(awk -F'[=,:]' '{print $5}' <<<"$stats")
    EVALSHA_CALLS[$1]=$((${EVALSHA_CALLS[$1]:-0} + ${calls:-0}))
    # A lone fixed window is counted by a plain INCR (the script's own are INCRBY).
    calls=$(redis-cli -p "$RP" info commandstats | tr -d '\r' | grep '^cmdstat_incr:' |
      awk -F'[=,:]' '{print $3}' || true)
    INCR_CALLS[$1]=$((${INCR_CALLS[$1]:-0} + ${calls:-0}))
    EVALSHA_USEC[$1]=$((${EVALSHA_USEC[$1]:-0} + ${usec:-0}))
    EVALSHA_REQS[$1]=$((${EVALSHA_REQS[$1]:-0} + reqs))
    REDIS_TICKS[$1]=$((${REDIS_TICKS[$1]:-0} + $(cpu_ticks "$REDIS_PID") - redis_before))
  fi
}

NGX_UP_PID=$(nginx_worker "$WORK/ngx-up/nginx.pid")
NGX_PROXY_PID=$(nginx_worker "$WORK/ngx-proxy/nginx.pid")
add_case "nginx direct (ceiling)" "$UP" /plain/x "$NGX_UP_PID"
add_case "nginx reverse proxy" "$NGX" /plain/x "$NGX_PROXY_PID"
add_case "keygate plain" "$KG" /plain/x "$KG_PID"
# The keyed cases drive wrk through a Lua script that adds a key to every request, which
# costs wrk (on the same two cores) CPU of its own: this row is their like-for-like baseline.
add_case "keygate plain, keyed client" "$KG" /plain/x "$KG_PID" valid
add_case "keygate auth (1000 keys)" "$KG" /auth/x "$KG_PID" valid
add_case "keygate invalid keys" "$KG" /auth/x "$KG_PID" invalid
add_case "keygate rate-limited" "$KG" /limited/x "$KG_PID" valid count
add_case "keygate rate-limited, leases" "$KG" /leased/x "$KG_PID" valid count
add_case "keygate over limit (429)" "$KG" /spent/x "$KG_PID" valid count
# Each request through this nginx is one keygate decision: the CPU column is keygate's per
# decision; nginx's own CPU is in the next row's figure.
add_case "nginx auth_request->keygate" "$NGXFA" /auth/x "$KG_PID" valid
add_case "nginx auth_request (nginx)" "$NGXFA" /auth/x "$(nginx_worker "$WORK/ngx-fa/nginx.pid")" valid
add_case "kong-style nginx+lua, limited" "$PEER" /limited/x "$(nginx_worker "$WORK/ngx-peer/nginx.pid")" valid count
add_case "keygate plain, 2 workers" "$KG2" /plain/x "$KG2_PID"
# TLS (indices 13-18): termination (nginx without keys, keygate with key auth), a plain-HTTP
# client to an HTTPS upstream, and new handshakes (Connection: close on every request).
add_case "nginx TLS termination" "$NGXT" /plain/x "$NGX_PROXY_PID" "" "" https
add_case "keygate TLS + auth" "$KGT" /auth/x "$KG_PID" valid "" https
add_case "nginx to https upstream" "$NGXU" /plain/x "$NGX_PROXY_PID"
add_case "keygate to https upstream" "$KG" /to-https/x "$KG_PID"
add_case "nginx TLS new handshakes" "$NGXT" /plain/x "$NGX_PROXY_PID" "" "" https close
add_case "keygate TLS new handshakes" "$KGT" /plain/x "$KG_PID" "" "" https close
# Index 19: the rate-limited row against a 3-master Redis Cluster (its own keygate, one worker,
# 200 keys of 50 orgs spread over the masters); EVALSHA and Redis CPU are counted on the single
# Redis only, so this row has no Redis figures.
add_case "keygate limited, cluster" "$KGC" /limited/x "$KGC_PID" valid "" http "" \
  "$WORK/keys-cluster.txt"
# Index 20: nginx proxying for the same keyed wrk script the keygate rows with keys use (nginx
# ignores the key): wrk's Lua costs CPU on the same two cores, so this is their like-for-like
# reference.
add_case "nginx proxy, keyed client" "$NGX" /plain/x "$NGX_PROXY_PID" valid
# Index 21: keygate terminating TLS on a route without keys, like for like with nginx's TLS
# row (index 13), so that the TLS cost shows apart from the key check's.
add_case "keygate TLS termination" "$KGT" /plain/x "$KG_PID" "" "" https
echo "running ($ROUNDS rounds of ${DURATION}s per case, $CONNECTIONS connections, wrk -t1," \
  "usage recording $USAGE)..." >&2
selected() { [ -z "$CASES_MATCHING" ] || grep -Eq "$CASES_MATCHING" <<<"${CASES[$1]%%|*}"; }
PERF_PID=
if [ -n "$PROFILE" ]; then
  command -v perf >/dev/null || { echo "PROFILE needs perf (apt-get install linux-perf)" >&2; exit 2; }
  perf record -g -F 999 -p "$KG_PID" -o "$PROFILE" >/dev/null 2>&1 &
  PERF_PID=$!
fi
for round in $(seq "$ROUNDS"); do
  for i in "${!CASES[@]}"; do selected "$i" && run_once "$i"; done
  echo "  round $round of $ROUNDS done" >&2
done
if [ -n "$PERF_PID" ]; then kill -INT "$PERF_PID"; wait "$PERF_PID" || true; fi
RSS_KB=$(awk '/VmRSS/ {print $2}' "/proc/$KG_PID/status")

echo
echo "medians over $ROUNDS rounds (latencies in ms)"
printf '%-28s %12s %10s %10s %12s %10s %7s\n' "case" "req/s" "p50" "p99" "cpu us/req" "non-2xx" \
  "idle %"
for i in "${!CASES[@]}"; do
  [ -n "${RPS[$i]:-}" ] || continue
  printf '%-28s %12s %10s %10s %12s %10s %7s\n' "${CASES[$i]%%|*}" "$(median "${RPS[$i]}")" \
    "$(median "${P50[$i]}")" "$(median "${P99[$i]}")" "$(median "${CPU[$i]}")" "${NON2XX[$i]}" \
    "$(median "${IDLE[$i]}")"
done
echo
echo "per round: req/s | cpu us/req"
for i in "${!CASES[@]}"; do
  [ -n "${RPS[$i]:-}" ] || continue
  printf '%-28s %s | %s\n' "${CASES[$i]%%|*}" "${RPS[$i]# }" "${CPU[$i]# }"
done
echo
ratio() {  # label case-index reference-index reference-name
  [ -n "${RPS[$2]:-}" ] && [ -n "${RPS[$3]:-}" ] || return 0
  awk -v n="$1" -v r="$(median "${RPS[$2]}")" -v c="$(median "${CPU[$2]}")" \
    -v rr="$(median "${RPS[$3]}")" -v rc="$(median "${CPU[$3]}")" -v ref="$4" \
    'BEGIN {printf "%-28s throughput %.2fx %s   cpu/request %.2fx %s\n", n, r / rr, ref, c / rc, ref}'
}
for i in 2 4 5 6 7 8 9; do ratio "${CASES[$i]%%|*}" "$i" 1 "nginx"; done
ratio "keygate per decision" 9 4 "auth (proxied)"
ratio "keygate rate-limited" 6 11 "kong-style"
ratio "keygate plain, 2 workers" 12 2 "1 worker"
ratio "keygate TLS + auth" 14 13 "nginx TLS"
ratio "keygate TLS termination" 21 13 "nginx TLS"
ratio "keygate to https upstream" 16 15 "nginx"
ratio "keygate TLS new handshakes" 18 17 "nginx"
ratio "keygate auth (1000 keys)" 4 3 "plain, keyed"
ratio "keygate limited, cluster" 19 6 "one Redis"
for i in 3 4 6 7 8; do ratio "${CASES[$i]%%|*}" "$i" 20 "nginx, keyed"; done
for i in 6 7; do
  ratio "${CASES[$i]%%|*}" "$i" 3 "plain, keyed"
  ratio "${CASES[$i]%%|*}" "$i" 4 "auth"
  ratio "${CASES[$i]%%|*}" "$i" 2 "plain"
done
echo
for i in "${!EVALSHA_REQS[@]}"; do
  calls=${EVALSHA_CALLS[$i]} reqs=${EVALSHA_REQS[$i]} incrs=${INCR_CALLS[$i]:-0}
  [ "$reqs" -gt 0 ] || continue
  echo "${CASES[$i]%%|*}: $calls EVALSHA + $incrs INCR (Redis round trips) for $reqs requests" \
    "($(awk -v c="$calls" -v r="$reqs" 'BEGIN {printf "%.3f", c / r}') +" \
    "$(awk -v c="$incrs" -v r="$reqs" 'BEGIN {printf "%.3f", c / r}') per request)," \
    "$(awk -v u="${EVALSHA_USEC[$i]}" -v c="$calls" 'BEGIN {printf "%.1f", c ? u / c : 0}') us" \
    "inside Redis per call, redis-server CPU per request" \
    "$(awk -v t="${REDIS_TICKS[$i]}" -v u="$TICK_US" -v r="$reqs" 'BEGIN {printf "%.1f", t * u / r}') us"
done
# CPU per request of the whole limiting system: the proxy's own plus redis-server's.
for i in 6 7 8 11; do
  [ -n "${RPS[$i]:-}" ] && [ "${EVALSHA_REQS[$i]:-0}" -gt 0 ] && [ -n "${RPS[1]:-}" ] || continue
  awk -v n="${CASES[$i]%%|*}" -v c="$(median "${CPU[$i]}")" -v t="${REDIS_TICKS[$i]}" \
    -v u="$TICK_US" -v r="${EVALSHA_REQS[$i]}" -v nc="$(median "${CPU[1]}")" 'BEGIN {
      total = c + t * u / r
      printf "%-28s proxy + Redis CPU %.1f us/request, %.2fx nginx reverse proxy\n", n, total, total / nc }'
done
echo "keygate RSS after the run: $((RSS_KB / 1024)) MiB"

# Memory: what 100,000 cached keys cost; then what idle keep-alive connections cost (buffers
# are released while idle), with normal traffic beside them. IDLE_CONNECTIONS=0 skips both.
IDLE_CONNECTIONS=${IDLE_CONNECTIONS:-10000}
fd_room=$(( $(ulimit -Hn) - 1000 ))
[ "$IDLE_CONNECTIONS" -le "$fd_room" ] || IDLE_CONNECTIONS=$fd_room
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$KG_PID/status"; }
if [ "$IDLE_CONNECTIONS" -gt 0 ] && [ -z "$CASES_MATCHING" ]; then
  echo
  echo "seeding 100000 keys into Redis..." >&2
  python3 bench/seed_keys.py "$RP" 100000 "$WORK/keys100k.txt"
  before=$(rss_kb)
  misses() { curl -s "http://127.0.0.1:$KGA/metrics" |
    awk '/^keygate_key_cache_lookups_total\{result="miss"\}/ {print int($2)}'; }
  start_misses=$(misses) requests=0
  # Until every key has been looked up once (bounded: at most 12 runs of DURATION seconds).
  for _ in $(seq 12); do
    KEYS_FILE=$WORK/keys100k.txt BENCH_PATH=/auth/x KEY_MODE=valid \
      wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" -s "$WORK/keys.lua" "http://127.0.0.1:$KG/auth/x" \
      >"$WORK/wrk100k.txt"
    requests=$((requests + $(awk '/requests in/ {print $1}' "$WORK/wrk100k.txt")))
    [ $(( $(misses) - start_misses )) -ge 100000 ] && break
  done
  echo "100000 keys in rotation: $requests requests, $(( $(misses) - start_misses )) keys loaded" \
    "into the cache, RSS $((before / 1024)) -> $(( $(rss_kb) / 1024 )) MiB"

  before=$(rss_kb)
  coproc IDLE { exec python3 bench/idle_connections.py "$KG" "$IDLE_CONNECTIONS" /plain/x; }
  read -r ready held <&"${IDLE[0]}" || true
  idle_rss=$(rss_kb)
  out=$(wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" "http://127.0.0.1:$KG/plain/x")
  busy_rss=$(rss_kb)
  exec {IDLE[1]}>&-
  wait "$IDLE_PID" 2>/dev/null || true
  echo "idle connections: ${held:-0} held, RSS $((before / 1024)) -> $((idle_rss / 1024)) MiB" \
    "($(( (idle_rss - before) * 1024 / ${held:-1} )) bytes per idle connection);" \
    "with $CONNECTIONS more serving $(awk '/Requests\/sec/ {print $2}' <<<"$out") req/s" \
    "beside them: $((busy_rss / 1024)) MiB"

fi

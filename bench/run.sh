#!/usr/bin/env bash
# Side-by-side benchmark on loopback: nginx direct (the ceiling), nginx as a plain reverse
# proxy (the reference) and keygate (plain, authenticated, rate-limited), in the same run.
# Bounded in time: each case runs DURATION seconds (default 8) after a short warm-up.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
DURATION=${DURATION:-8}
CONNECTIONS=${CONNECTIONS:-50}
USAGE=${USAGE:-on}  # USAGE=off measures the request path without usage recording
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

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
UP=$(free_port); NGX=$(free_port); KG=$(free_port); KGA=$(free_port); RP=$(free_port)

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
}
NGINX
nginx -c "$WORK/ngx-up/nginx.conf" -p "$WORK/ngx-up"
nginx -c "$WORK/ngx-proxy/nginx.conf" -p "$WORK/ngx-proxy"
redis-server --port "$RP" --save "" --appendonly no --daemonize no >"$WORK/redis.log" 2>&1 &
PIDS+=($!)

cat > "$WORK/keygate.yaml" <<YAML
threads: 1
listeners: [{address: 127.0.0.1, port: $KG}]
admin: {address: 127.0.0.1, port: $KGA}
access_log: {enabled: false}
upstreams: [{name: api, url: "http://127.0.0.1:$UP", max_idle_connections: 256}]
routes:
  - {name: plain, match: {path_prefix: /plain/}, upstream: api, auth: none}
  - {name: auth, match: {path_prefix: /auth/}, upstream: api}
  - {name: limited, match: {path_prefix: /limited/}, upstream: api, rate_limits: [generous]}
  - {name: spent, match: {path_prefix: /spent/}, upstream: api, rate_limits: [one-an-hour]}
keys:
  plans: [{name: bench, max_keys: unlimited}]
  default_plan: bench
rate_limits:
  policies:
    - {name: generous, per: key, algorithm: sliding_window, limit: 100000000, window: 1h}
    - {name: one-an-hour, per: key, algorithm: fixed_window, limit: 1, window: 1h}
store: {kind: redis, redis: {host: 127.0.0.1, port: $RP}}
usage: {enabled: $([ "$USAGE" = off ] && echo false || echo true)}
YAML

for _ in $(seq 50); do redis-cli -p "$RP" ping >/dev/null 2>&1 && break; sleep 0.1; done
echo "creating 1000 keys..." >&2
: > "$WORK/keys.txt"
for i in $(seq 1000); do
  "$KEYGATE" keys create --config "$WORK/keygate.yaml" --org "org$((i % 50))" --name "k$i" \
    --env live --type secret 2>/dev/null | grep -oE 'sk_live_[0-9A-Za-z]{40}' >> "$WORK/keys.txt"
done

"$KEYGATE" serve --config "$WORK/keygate.yaml" 2>"$WORK/keygate.log" &
KG_PID=$!
PIDS+=($KG_PID)
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$KGA/readyz" >/dev/null && break; sleep 0.1; done

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
TICK_US=$((1000000 / $(getconf CLK_TCK)))
nginx_worker() { pgrep -P "$(cat "$1")" | head -1; }

RESULTS=()
run_case() {  # name port path pid [key-mode] [redis-port to reset after warm-up]
  local name=$1 port=$2 path=$3 pid=$4 mode=${5:-} reset_redis=${6:-}
  local script=()
  [ -n "$mode" ] && script=(-s "$WORK/keys.lua")
  KEYS_FILE=$WORK/keys.txt BENCH_PATH=$path KEY_MODE=$mode \
    wrk -t1 -c"$CONNECTIONS" -d2s "${script[@]}" "http://127.0.0.1:$port$path" >/dev/null
  [ -n "$reset_redis" ] && redis-cli -p "$reset_redis" config resetstat >/dev/null
  local before after out rps p50 p99 reqs
  before=$(cpu_ticks "$pid")
  out=$(KEYS_FILE=$WORK/keys.txt BENCH_PATH=$path KEY_MODE=$mode \
    wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency "${script[@]}" "http://127.0.0.1:$port$path")
  after=$(cpu_ticks "$pid")
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  reqs=$(awk '/requests in/ {print $1}' <<<"$out")
  p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
  p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
  local cpu_us
  cpu_us=$(awk -v t=$((after - before)) -v r="$reqs" -v u="$TICK_US" 'BEGIN {printf "%.1f", t * u / r}')
  local codes
  codes=$(grep -oE "Non-2xx or 3xx responses: [0-9]+" <<<"$out" | awk '{print $NF}' || true)
  RESULTS+=("$name|$rps|$p50|$p99|$cpu_us|${codes:-0}")
  LAST_REQUESTS=$reqs
}

NGX_UP_PID=$(nginx_worker "$WORK/ngx-up/nginx.pid")
NGX_PROXY_PID=$(nginx_worker "$WORK/ngx-proxy/nginx.pid")
echo "running (${DURATION}s per case, $CONNECTIONS connections, wrk -t1, usage recording $USAGE)..." >&2
run_case "nginx direct (ceiling)" "$UP" /plain/x "$NGX_UP_PID"
run_case "nginx reverse proxy" "$NGX" /plain/x "$NGX_PROXY_PID"
run_case "keygate plain" "$KG" /plain/x "$KG_PID"
run_case "keygate auth (1000 keys)" "$KG" /auth/x "$KG_PID" valid
run_case "keygate invalid keys" "$KG" /auth/x "$KG_PID" invalid
run_case "keygate rate-limited" "$KG" /limited/x "$KG_PID" valid "$RP"
# Round trips: EVALSHA calls (Redis also counts the commands a script runs inside it).
LIMITED_CALLS=$(redis-cli -p "$RP" info commandstats | tr -d '\r' | awk -F'[=,:]' '/^cmdstat_evalsha:/ {print $3}')
LIMITED_REQS=$LAST_REQUESTS
run_case "keygate over limit (429)" "$KG" /spent/x "$KG_PID" valid
RSS_KB=$(awk '/VmRSS/ {print $2}' "/proc/$KG_PID/status")

printf '\n%-28s %12s %10s %10s %12s %10s\n' "case" "req/s" "p50" "p99" "cpu us/req" "non-2xx"
for row in "${RESULTS[@]}"; do
  IFS='|' read -r n r p5 p9 c e <<<"$row"
  printf '%-28s %12s %10s %10s %12s %10s\n' "$n" "$r" "$p5" "$p9" "$c" "$e"
done
ref=$(awk -F'|' 'NR == 2 {print $2 "|" $5}' < <(printf '%s\n' "${RESULTS[@]}"))
REF_RPS=${ref%%|*}; REF_CPU=${ref##*|}
echo
for row in "${RESULTS[@]:2}"; do
  IFS='|' read -r n r p5 p9 c e <<<"$row"
  awk -v n="$n" -v r="$r" -v c="$c" -v rr="$REF_RPS" -v rc="$REF_CPU" \
    'BEGIN {printf "%-28s throughput %.2fx nginx   cpu/request %.2fx nginx\n", n, r / rr, c / rc}'
done
echo
echo "redis round trips (EVALSHA) during the rate-limited case: $LIMITED_CALLS for $LIMITED_REQS requests ($(awk -v c="$LIMITED_CALLS" -v r="$LIMITED_REQS" 'BEGIN {printf "%.2f", c / r}') per request)"
echo "keygate RSS after the run: $((RSS_KB / 1024)) MiB"

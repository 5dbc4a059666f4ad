#!/usr/bin/env bash
# The cached-keys row of bench/run.sh on its own, in well under a minute: seeds KEYS keys
# (default 100000) into a fresh redis-server, has one keygate (threads: 1, usage on, as in the
# bench) look every key up once through wrk, and prints its RSS before and after, and the
# growth per cached key. USAGE=off leaves usage recording out. Extra environment for keygate
# (e.g. MALLOC_ARENA_MAX=1) passes through.
# For measuring only: `make bench` runs the same row after its other cases.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
KEYS=${KEYS:-100000}
CONNECTIONS=${CONNECTIONS:-50}
case $BUILD in /*) ;; *) BUILD=$PWD/$BUILD ;; esac
KEYGATE=$BUILD/keygate
WORK=$(mktemp -d /tmp/keygate-keymem.XXXXXX)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  sleep 0.2
  rm -rf "$WORK"
}
trap cleanup EXIT

read -r UP KG KGA RP <<<"$(python3 -c 'import socket
s=[socket.socket() for _ in range(4)]
[x.bind(("127.0.0.1",0)) for x in s]; print(" ".join(str(x.getsockname()[1]) for x in s))')"
redis-server --port "$RP" --save "" --appendonly no >"$WORK/redis.log" 2>&1 &
PIDS+=($!)
"$BUILD/keygate-echo-upstream" --port "$UP" >/dev/null &
PIDS+=($!)
for _ in $(seq 50); do redis-cli -p "$RP" ping >/dev/null 2>&1 && break; sleep 0.1; done

cat >"$WORK/keygate.yaml" <<YAML
threads: 1
listeners: [{address: 127.0.0.1, port: $KG}]
admin: {address: 127.0.0.1, port: $KGA}
access_log: {enabled: false}
upstreams: [{name: api, url: "http://127.0.0.1:$UP"}]
routes: [{name: auth, match: {path_prefix: /auth/}, upstream: api}]
keys: {plans: [{name: bench, max_keys: unlimited}], default_plan: bench}
store: {kind: redis, redis: {host: 127.0.0.1, port: $RP}}
cache: {max_entries: 200000}
usage: {enabled: $([ "${USAGE:-on}" = off ] && echo false || echo true)}
YAML
echo "seeding $KEYS keys into Redis..." >&2
python3 bench/seed_keys.py "$RP" "$KEYS" "$WORK/keys.txt"

# WRAP="heaptrack -o FILE" records allocations (the RSS figures are then the wrapper's).
${WRAP:-} "$KEYGATE" serve --config "$WORK/keygate.yaml" 2>"$WORK/keygate.log" &
KG_PID=$!
PIDS+=($KG_PID)
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$KGA/readyz" >/dev/null && break; sleep 0.1; done

cat >"$WORK/keys.lua" <<'LUA'
local keys = {}
for line in io.lines(os.getenv("KEYS_FILE")) do keys[#keys + 1] = line end
-- From START on: each run goes on where the previous one stopped.
local i = tonumber(os.getenv("START") or "0")
request = function()
  i = i + 1
  return wrk.format("GET", "/auth/x", {["Authorization"] = "Bearer " .. keys[(i % #keys) + 1]})
end
LUA
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$KG_PID/status"; }
metric() { curl -s "http://127.0.0.1:$KGA/metrics" | awk -v m="$1" '$1 == m {print int($2)}'; }
# Warm-up on the same connections with the first 1000 keys, so that the baseline holds the
# connections' buffers, the pools and the tables that do not grow with the number of keys.
head -1000 "$WORK/keys.txt" >"$WORK/warm.txt"
KEYS_FILE=$WORK/warm.txt wrk -t1 -c"$CONNECTIONS" -d3s -s "$WORK/keys.lua" \
  "http://127.0.0.1:$KG/auth/x" >/dev/null
warm=$(metric keygate_key_cache_entries)
before=$(rss_kb)
# Until every key has been looked up once (bounded by MAX_SECONDS, default 600).
deadline=$((SECONDS + ${MAX_SECONDS:-600}))
while [ "$(metric keygate_key_cache_entries)" -lt "$KEYS" ] && [ "$SECONDS" -lt "$deadline" ]; do
  START=$(metric keygate_key_cache_entries) KEYS_FILE=$WORK/keys.txt wrk -t1 -c"$CONNECTIONS" -d5s -s "$WORK/keys.lua" \
    "http://127.0.0.1:$KG/auth/x" >/dev/null
done
after=$(rss_kb)
cached=$(metric keygate_key_cache_entries)
added=$((cached - warm))
echo "$cached keys cached: RSS $((before / 1024)) MiB with $warm -> $((after / 1024)) MiB" \
  "($(( (after - before) * 1024 / (added > 0 ? added : 1) )) bytes per key added)"
# TRIM=1: how much of that is freed memory malloc still holds (gdb calls malloc_trim(0)).
if [ -n "${TRIM:-}" ]; then
  gdb -p "$KG_PID" -batch -ex 'call (int) malloc_trim(0)' >/dev/null 2>&1
  echo "after malloc_trim(0): RSS $(( $(rss_kb) / 1024 )) MiB"
fi

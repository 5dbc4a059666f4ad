#!/usr/bin/env bash
# What `make run` executes: keygate with deploy/examples/keygate.yaml in the foreground, in
# front of the example echo upstream (which answers every request with what it received, so
# the identity headers keygate adds are visible). BUILD names the build directory.
set -euo pipefail
cd "$(dirname "$0")/../.."

BUILD="${BUILD:-build}"
UPSTREAM_PORT=3000
for bin in keygate keygate-echo-upstream; do
  if [ ! -x "$BUILD/$bin" ]; then
    echo "run.sh: $BUILD/$bin is missing; run 'make build' first" >&2
    exit 1
  fi
done

# The example runs from a copy under the build directory, so the keys it creates (hashes only)
# never land in the source tree. The demo key is made once, on the first run.
RUN_DIR="$BUILD/run"
CONFIG="$RUN_DIR/keygate.yaml"
DEMO_KEY_FILE="$RUN_DIR/demo-key.txt"
mkdir -p "$RUN_DIR"
cp deploy/examples/keygate.yaml "$CONFIG"
[ -f "$RUN_DIR/keys.json" ] || cp deploy/examples/keys.json "$RUN_DIR/keys.json"
if [ ! -s "$DEMO_KEY_FILE" ]; then
  "$BUILD/keygate" keys create --config "$CONFIG" --org demo --name "make run demo" \
    --env test --type secret --scope read --created-by "make run" |
    grep -oE '[a-z]{2}_[a-z]+_[0-9A-Za-z]{40}' | head -n 1 > "$DEMO_KEY_FILE"
fi
DEMO_KEY="${KEYGATE_DEMO_KEY:-$(head -n 1 "$DEMO_KEY_FILE")}"


"$BUILD/keygate-echo-upstream" --port "$UPSTREAM_PORT" --log &
upstream_pid=$!
# However keygate ends (Ctrl-C, a config error, a crash), the upstream goes with it.
trap 'kill "$upstream_pid" 2>/dev/null || true; wait "$upstream_pid" 2>/dev/null || true' EXIT

# Poll until the upstream accepts connections (a deadline, not a fixed sleep).
for _ in $(seq 100); do
  if (exec 3<>"/dev/tcp/127.0.0.1/$UPSTREAM_PORT") 2>/dev/null; then
    break
  fi
  if ! kill -0 "$upstream_pid" 2>/dev/null; then
    echo "run.sh: the echo upstream did not start (is port $UPSTREAM_PORT in use?)" >&2
    exit 1
  fi
  sleep 0.05
done

cat <<MSG

keygate: http://localhost:8080 -> echo upstream http://127.0.0.1:$UPSTREAM_PORT
admin:   http://127.0.0.1:9090 (/healthz, /readyz, /metrics)

Try, from another terminal:
  curl -i http://localhost:8080/health                      # public route: no key needed
  curl -i -H 'Authorization: Bearer $DEMO_KEY' \\
       http://localhost:8080/v1/hello                        # with the example key: 200
  curl -i http://localhost:8080/v1/hello                    # no key: 401
  curl -i -H 'X-API-Key: sk_test_not_a_real_key' \\
       http://localhost:8080/v1/hello                        # a bad key: 401
  curl -s http://127.0.0.1:9090/metrics | grep keygate_     # counters

Ctrl-C stops keygate and the upstream.

MSG

status=0
"$BUILD/keygate" serve --config "$CONFIG" || status=$?
exit "$status"

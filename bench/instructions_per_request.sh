#!/usr/bin/env bash
# Load-independent cost per request on this shared machine: instructions (callgrind, counted
# between a zero and a dump while a fixed number of keep-alive requests go through) and system
# calls (strace -c), for keygate plain, keygate terminating TLS, keygate to an HTTPS upstream,
# nginx as a plain and as a TLS-terminating reverse proxy, all to one nginx upstream.
# TLS 1.3, one EC P-256 certificate, one curl keep-alive connection per case (its one handshake
# is included, spread over N requests). Needs valgrind, strace, curl and nginx.
#   bench/instructions_per_request.sh [keygate-binary] [N]    (ONLY=1: keygate's instructions only)
set -euo pipefail
KG=${1:-$(dirname "$0")/../build/keygate}; N=${2:-1000}; W=$(mktemp -d /tmp/keygate-ipr.XXXXXX)
read -r UP NGX NGXT KGP KGT KGA UPT <<<"$(python3 -c 'import socket
s=[socket.socket() for _ in range(7)]
[x.bind(("127.0.0.1",0)) for x in s]; print(" ".join(str(x.getsockname()[1]) for x in s))')"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1,DNS:localhost \
  -keyout "$W/key.pem" -out "$W/cert.pem" 2>/dev/null
mkdir -p $W/up $W/px
cat > $W/up/nginx.conf <<NG
daemon off; master_process off; worker_processes 1; pid $W/up/pid; error_log $W/up/err.log;
events { worker_connections 1024; }
http { access_log off; keepalive_requests 10000000;
 server { listen 127.0.0.1:$UP; location / { default_type application/json; return 200 '{"ok":true,"service":"bench"}'; } }
 server { listen 127.0.0.1:$UPT ssl; ssl_certificate $W/cert.pem; ssl_certificate_key $W/key.pem; ssl_protocols TLSv1.3; location / { default_type application/json; return 200 '{"ok":true,"service":"bench"}'; } } }
NG
cat > $W/px/nginx.conf <<NG
daemon off; master_process off; worker_processes 1; pid $W/px/pid; error_log $W/px/err.log;
events { worker_connections 1024; }
http { access_log off; keepalive_requests 10000000;
 upstream api { server 127.0.0.1:$UP; keepalive 128; }
 server { listen 127.0.0.1:$NGX; listen 127.0.0.1:$NGXT ssl;
   ssl_certificate $W/cert.pem; ssl_certificate_key $W/key.pem; ssl_protocols TLSv1.3;
   location / { proxy_pass http://api; proxy_http_version 1.1; proxy_set_header Connection "";
     proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for; } } }
NG
echo '{"orgs":[],"keys":[]}' > $W/keys.json
cat > $W/kg.yaml <<Y
threads: 1
listeners:
  - {address: 127.0.0.1, port: $KGP}
  - {address: 127.0.0.1, port: $KGT, tls: {cert_file: $W/cert.pem, key_file: $W/key.pem, min_version: "1.3"}}
admin: {address: 127.0.0.1, port: $KGA}
access_log: {enabled: false}
upstreams: [{name: api, url: "http://127.0.0.1:$UP", max_idle_connections: 256},
  {name: apis, url: "https://127.0.0.1:$UPT", max_idle_connections: 256, tls: {ca_file: $W/cert.pem}}]
routes: [{name: https, match: {path_prefix: /to-https/}, upstream: apis, auth: none},
  {name: plain, match: {path_prefix: /}, upstream: api, auth: none}]
store: {kind: file, file: $W/keys.json}
Y
nginx -c $W/up/nginx.conf -p $W/up & UPPID=$!
trap 'kill $UPPID ${PXPID:-} ${KGPID:-} 2>/dev/null; sleep 0.5; rm -rf $W' EXIT
sleep 0.5
# CLOSE=1: Connection: close on every request, so each one is a new connection (and handshake).
client() {
  curl -s -k -o /dev/null ${CLOSE:+-H "Connection: close"} "$1://127.0.0.1:$2/${ROUTE:-plain}/x?[1-$3]"
}
measure() { # name scheme port pid
  client $2 $3 50
  timeout 60 callgrind_control -z $4 >/dev/null
  client $2 $3 $N
  callgrind_control -d $4 >/dev/null
  local f; f=$(ls -t $W/cg.$5.out* | head -1)
  local ir; ir=$(grep -E '^(summary|totals):' $f | tail -1 | awk '{print $2}')
  echo "$1: $((ir / N)) instructions/request"
}
# callgrind runs
# The tcache setting keygate would re-execute itself for (proxy/malloc_tuning.h), given up front:
# valgrind does not follow an exec.
GLIBC_TUNABLES=glibc.malloc.tcache_count=128 \
  valgrind --tool=callgrind --callgrind-out-file=$W/cg.kg.out "$KG" serve --config $W/kg.yaml 2>$W/kg.log & KGPID=$!
for _ in $(seq 200); do curl -sf http://127.0.0.1:$KGA/readyz >/dev/null && break; sleep 0.2; done
measure "keygate plain" http $KGP $KGPID kg
measure "keygate TLS" https $KGT $KGPID kg
ROUTE=to-https measure "keygate to https upstream" http $KGP $KGPID kg
CLOSE=1 measure "keygate TLS new handshakes" https $KGT $KGPID kg
kill $KGPID; wait $KGPID 2>/dev/null || true; [ -n "${ONLY:-}" ] && exit 0
valgrind --tool=callgrind --callgrind-out-file=$W/cg.px.out nginx -c $W/px/nginx.conf -p $W/px 2>$W/px.log & PXPID=$!
for _ in $(seq 200); do curl -sf http://127.0.0.1:$NGX/ >/dev/null && break; sleep 0.2; done
measure "nginx plain" http $NGX $PXPID px
measure "nginx TLS" https $NGXT $PXPID px
CLOSE=1 measure "nginx TLS new handshakes" https $NGXT $PXPID px
kill $PXPID; wait $PXPID 2>/dev/null || true
# syscalls
sysc() { # name scheme port pid
  client $2 $3 50
  strace -c -f -p $4 -o $W/st.txt & local sp=$!; sleep 0.5
  client $2 $3 $N; sleep 0.2
  kill -INT $sp; wait $sp 2>/dev/null || true
  echo "$1: $(awk '/total/ {printf "%.2f", $4/'$N'}' $W/st.txt) syscalls/request: $(awk 'NR>2 && $NF!="total" && $4+0>0 {printf "%s=%.2f ", $NF, $4/'$N'}' $W/st.txt)"
}
"$KG" serve --config $W/kg.yaml 2>$W/kg.log & KGPID=$!
for _ in $(seq 100); do curl -sf http://127.0.0.1:$KGA/readyz >/dev/null && break; sleep 0.1; done
sysc "keygate plain" http $KGP $KGPID
sysc "keygate TLS" https $KGT $KGPID
ROUTE=to-https sysc "keygate to https upstream" http $KGP $KGPID
nginx -c $W/px/nginx.conf -p $W/px 2>$W/px.log & PXPID=$!
for _ in $(seq 100); do curl -sf http://127.0.0.1:$NGX/ >/dev/null && break; sleep 0.1; done
sysc "nginx plain" http $NGX $PXPID
sysc "nginx TLS" https $NGXT $PXPID

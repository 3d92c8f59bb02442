#!/usr/bin/env bash
# Compares skyway's plain-HTTP data path with nginx serving the same files (static GET with
# sendfile, WebDAV PUT), using bench/s3_load.cc (build target skyway_load) as the client for both.
#
#   scripts/bench-s3-vs-nginx.sh [--out FILE] [--build DIR] [--duration S] [--put-requests K]
#
# Prints a table (skyway, nginx, ratio skyway/nginx, server CPU per GB or per request) and
# writes every run's JSON to --out (default bench-results.json). Needs: nginx (with the dav
# module, e.g. Debian nginx-light), jq, python3. Everything listens on 127.0.0.1 only, lives in
# one temp dir, and is stopped by PID on exit. Exits 1 if any run had errors.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=bench-results.json
BUILD=$ROOT/build
DURATION=5          # seconds per GET run
PUT_REQUESTS=4      # 256 MiB PUTs per server
while [[ $# -gt 0 ]]; do
  case $1 in
    --out) OUT=$2; shift 2 ;;
    --build) BUILD=$2; shift 2 ;;
    --duration) DURATION=$2; shift 2 ;;
    --put-requests) PUT_REQUESTS=$2; shift 2 ;;
    *) echo "usage: $0 [--out FILE] [--build DIR] [--duration S] [--put-requests K]" >&2; exit 2 ;;
  esac
done
SKYWAY=$BUILD/skyway
LOAD=$BUILD/skyway_load
for tool in nginx jq python3 "$SKYWAY" "$LOAD"; do
  command -v "$tool" >/dev/null || { echo "missing: $tool (build with ninja -C $BUILD)" >&2; exit 2; }
done

TMP=$(mktemp -d /tmp/skyway-bench.XXXXXX)
SKYWAY_PID=""
NGINX_PID=""
stop() {  # stop PID [signal]
  local pid=$1 sig=${2:-TERM}
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 0
  kill -"$sig" "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}
cleanup() {
  stop "$SKYWAY_PID"
  stop "$NGINX_PID" QUIT
  wait 2>/dev/null || true
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export SKYWAY_ACCESS_KEY=benchak SKYWAY_SECRET_KEY=benchsecret

# ---- skyway ----
"$SKYWAY" server --data "$TMP/skyway-data" --address 127.0.0.1:0 >"$TMP/skyway.out" 2>"$TMP/skyway.err" &
SKYWAY_PID=$!
for _ in $(seq 100); do
  grep -q "listening on" "$TMP/skyway.out" 2>/dev/null && break
  kill -0 "$SKYWAY_PID" 2>/dev/null || { cat "$TMP/skyway.err" >&2; exit 1; }
  sleep 0.1
done
SKYWAY_URL=$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$TMP/skyway.out" | head -1)
[[ -n $SKYWAY_URL ]] || { echo "skyway did not start" >&2; cat "$TMP/skyway.err" >&2; exit 1; }

# ---- nginx ----
NGINX_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
mkdir -p "$TMP/www/bench" "$TMP/nginx-body"
USER_LINE=""
[[ $(id -u) == 0 ]] && USER_LINE="user root;"
cat >"$TMP/nginx.conf" <<EOF
$USER_LINE
worker_processes auto;
pid $TMP/nginx.pid;
error_log $TMP/nginx-error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $TMP/nginx-body;
  proxy_temp_path $TMP/nginx-body;
  fastcgi_temp_path $TMP/nginx-body;
  uwsgi_temp_path $TMP/nginx-body;
  scgi_temp_path $TMP/nginx-body;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 10000000;
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:$NGINX_PORT reuseport;
    root $TMP/www;
    location / {
      dav_methods PUT;
      create_full_put_path on;
      client_max_body_size 0;
    }
  }
}
EOF
nginx -p "$TMP" -c "$TMP/nginx.conf" -e "$TMP/nginx-error.log" -g 'daemon off;' &
NGINX_PID=$!
NGINX_URL=http://127.0.0.1:$NGINX_PORT
for _ in $(seq 100); do
  curl -s -o /dev/null "$NGINX_URL/" && break
  kill -0 "$NGINX_PID" 2>/dev/null || { cat "$TMP/nginx-error.log" >&2; exit 1; }
  sleep 0.1
done

# Server CPU seconds (utime+stime of the process and, for nginx, its workers).
cpu_ticks() {
  local pids=$1 total=0 pid
  [[ $1 == "$NGINX_PID" ]] && pids="$NGINX_PID $(cat /proc/"$NGINX_PID"/task/*/children 2>/dev/null)"
  for pid in $pids; do
    # Fields after the ")" that ends the command name: utime is the 12th, stime the 13th.
    total=$((total + $(sed 's/.*) //' /proc/"$pid"/stat | awk '{print $12 + $13}')))
  done
  echo "$total"
}
HZ=$(getconf CLK_TCK)

FAILED=0
RUNS=$TMP/runs.jsonl
: >"$RUNS"
# run SERVER TEST MODE URL ARGS...: one load run, appended to $RUNS with the server CPU it cost.
run() {
  local server=$1 test=$2 mode=$3 url=$4 pid before after json rc=0
  shift 4
  [[ $server == skyway ]] && pid=$SKYWAY_PID || pid=$NGINX_PID
  before=$(cpu_ticks "$pid")
  json=$("$LOAD" "$mode" "$url" "$@") || rc=$?
  after=$(cpu_ticks "$pid")
  if [[ $rc != 0 ]]; then
    echo "ERROR: $server $test failed (exit $rc): $json" >&2
    FAILED=1
  fi
  [[ -n $json ]] || json='{"ok":false}'
  jq -c --arg server "$server" --arg test "$test" \
    --argjson cpu "$(echo "$before $after $HZ" | awk '{printf "%.3f", ($2 - $1) / $3}')" \
    --argjson seq "$(wc -l <"$RUNS")" \
    '{server: $server, test: $test, seq: $seq, server_cpu_s: $cpu} + .' <<<"$json" >>"$RUNS"
}

BIG=256M
SMALL=4K
echo "skyway at $SKYWAY_URL, nginx at $NGINX_URL; uploading ${BIG}iB and ${SMALL}iB objects" >&2
run skyway setup put "$SKYWAY_URL/bench" --size 0 --requests 1
for server in skyway nginx; do
  [[ $server == skyway ]] && url=$SKYWAY_URL || url=$NGINX_URL
  run $server setup put "$url/bench/big" --size $BIG --requests 1
  run $server setup put "$url/bench/small" --size $SMALL --requests 1
done
cmp -s "$TMP/www/bench/big" <(curl -s "$NGINX_URL/bench/big") || { echo "nginx upload mismatch" >&2; exit 1; }

# Each test runs against skyway and then nginx back to back, so that load from anything else on
# the machine hits both alike.
both() {  # both TEST MODE PATH ARGS...
  local test=$1 mode=$2 path=$3
  shift 3
  run skyway "$test" "$mode" "$SKYWAY_URL$path" "$@"
  run nginx "$test" "$mode" "$NGINX_URL$path" "$@"
}
echo "running (about $((DURATION * 10 + PUT_REQUESTS * 4 + 10)) s) ..." >&2
for url in "$SKYWAY_URL" "$NGINX_URL"; do  # warm the page cache and the code paths
  "$LOAD" get "$url/bench/big" --size $BIG --requests 1 >/dev/null
  "$LOAD" small-get "$url/bench/small" --size $SMALL --requests 100 >/dev/null
done
both "GET 256MiB c=1 (GB/s)" get /bench/big --size $BIG --connections 1 --duration "$DURATION"
both "GET 256MiB c=2 (GB/s)" get /bench/big --size $BIG --connections 2 --duration "$DURATION"
both "PUT 256MiB c=1 (GB/s)" put /bench/put-big --size $BIG --connections 1 --requests "$PUT_REQUESTS"
for c in 1 4 16; do
  both "GET 4KiB c=$c (req/s)" small-get /bench/small --size $SMALL --connections $c --duration "$DURATION"
done

jq -s . "$RUNS" >"$OUT"

# ---- table ----
jq -r -s '
  map(select(.test != "setup")) | group_by(.test) | sort_by(.[0].seq) | .[] |
  (map(select(.server == "skyway"))[0]) as $s | (map(select(.server == "nginx"))[0]) as $n |
  ($s.test | test("req/s")) as $small |
  def val(r): if r.ok != true then null elif $small then r.req_per_s else r.gb_per_s end;
  def cpu(r): if r.ok != true then null elif $small then (r.server_cpu_s / (r.requests - r.errors) * 1e6)
              else (r.server_cpu_s / (r.bytes / 1e9)) end;
  [$s.test, val($s), val($n), (if val($s) and val($n) and val($n) > 0 then val($s) / val($n) else null end),
   cpu($s), cpu($n), (if $small then "us/req" else "s/GB" end), $s.p99_ms, $n.p99_ms] | @tsv' "$RUNS" |
awk -F'\t' '
  function num(v, fmt) { return v == "" ? "ERR" : sprintf(fmt, v) }
  BEGIN { printf "%-22s %10s %10s %7s   %-22s %-17s\n", "test", "skyway", "nginx", "ratio",
          "server CPU sky / nginx", "p99 ms sky / nginx"
          printf "%s\n", "-------------------------------------------------------------------------------------------------" }
  { fmt = ($1 ~ /req\/s/) ? "%.0f" : "%.3f"
    printf "%-22s %10s %10s %7s   %7s / %-7s %-6s %7s / %-7s\n", $1, num($2, fmt), num($3, fmt),
           num($4, "%.2f"), num($5, "%.2f"), num($6, "%.2f"), $7, num($8, "%.2f"), num($9, "%.2f") }'
echo "JSON of all runs: $OUT" >&2
exit $FAILED

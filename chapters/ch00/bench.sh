#!/usr/bin/env bash
# chapters/ch00/bench.sh - `make bench-lab`: how fast is the lab server
# beside nginx (one worker), both on loopback, measured by wrk with
# keep-alive on small answers (/bytes/100). A benchmark, not a test.
set -euo pipefail
cd "$(dirname "$0")/../.."

need=()
command -v wrk >/dev/null || need+=(wrk)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "bench-lab needs: sudo apt-get install -y ${need[*]}" >&2
        exit 1
    fi
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
nginx=$(command -v nginx || echo /usr/sbin/nginx)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

tmp=$(mktemp -d)
lab_pid= nginx_pid=
cleanup() {
    [ -n "$lab_pid" ] && kill "$lab_pid" 2>/dev/null
    [ -n "$nginx_pid" ] && kill "$nginx_pid" 2>/dev/null
    wait 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

# nginx: one worker, answers /bytes/100 with 100 bytes from memory.
nport=$(free_port)
mkdir -p "$tmp/logs"
cat >"$tmp/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
error_log $tmp/logs/error.log;
pid $tmp/nginx.pid;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $tmp; proxy_temp_path $tmp; fastcgi_temp_path $tmp;
    uwsgi_temp_path $tmp; scgi_temp_path $tmp;
    keepalive_requests 1000000;
    server {
        listen 127.0.0.1:$nport;
        location /bytes/100 { default_type text/plain; return 200 "$(head -c 100 /dev/zero | tr '\0' x)"; }
    }
}
CONF
"$nginx" -p "$tmp" -c "$tmp/nginx.conf" &
nginx_pid=$!
./ch00/labserver -p 0 --port-file "$tmp/port" >/dev/null &
lab_pid=$!
for _ in $(seq 100); do [ -s "$tmp/port" ] && curl -sf --noproxy '*' -o /dev/null "http://127.0.0.1:$nport/bytes/100" && break; sleep 0.05; done
if ! curl -sf --noproxy '*' -o /dev/null "http://127.0.0.1:$nport/bytes/100"; then
    echo "bench.sh: nginx did not start on port $nport; its error log:" >&2
    cat "$tmp/logs/error.log" >&2 2>/dev/null || true
    exit 1
fi
if [ ! -s "$tmp/port" ]; then
    echo "bench.sh: the lab server did not start" >&2
    exit 1
fi
lport=$(cat "$tmp/port")

rate() { # requests per second that wrk measured
    wrk -t1 -c50 -d"${BENCH_SECONDS:-5}"s "$1" | sed -nE 's/^Requests\/sec: *([0-9.]+)/\1/p'
}
echo "wrk -t1 -c50 -d${BENCH_SECONDS:-5}s, keep-alive, GET /bytes/100 (each server alone on loopback)"
lab=$(rate "http://127.0.0.1:$lport/bytes/100")
ngx=$(rate "http://127.0.0.1:$nport/bytes/100")
printf 'labserver: %10.0f requests/s\nnginx:     %10.0f requests/s (one worker)\n' "$lab" "$ngx"
awk -v a="$lab" -v b="$ngx" 'BEGIN { r = a / b; printf "ratio labserver/nginx: %.2f (%s)\n", r, (r >= 0.8) ? "at least 0.8: OK" : "below 0.8" }'

#!/usr/bin/env bats
# ch00: the lab server, checked with real clients (curl and python3).

setup_file() {
    load helper
    # 408 after one second and 504 at a barrier after two, so those tests are quick
    lab_start -t 1 -b 2
}
teardown_file() {
    load helper
    lab_stop
}
setup() {
    load helper
    lab_reset
}

# Send raw bytes on one connection and print the status line of the answer.
raw() {
    timeout 10 python3 - "$LAB_PORT" "$1" <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(8)
s.sendall(sys.argv[2].encode("latin-1").decode("unicode_escape").encode("latin-1"))
data = b""
while b"\r\n" not in data:
    chunk = s.recv(4096)
    if not chunk:
        break
    data += chunk
print(data.split(b"\r\n")[0].decode())
EOF
}

# Send a raw request and read until the server closes: the status line, the
# body's length (what Content-Length counts), then what followed it, if anything.
answer() {
    timeout 10 python3 - "$LAB_PORT" "$1" <<'EOF'
import re, socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(5)
s.sendall(sys.argv[2].encode("latin-1").decode("unicode_escape").encode("latin-1"))
data = b""
while chunk := s.recv(4096):
    data += chunk
head, _, rest = data.partition(b"\r\n\r\n")
length = re.search(rb"Content-Length: (\d+)", head)
body_len = int(length.group(1)) if length else len(rest)
print(head.split(b"\r\n")[0].decode())
print("body: %d bytes" % len(rest[:body_len]))
if rest[body_len:]:
    print("then: " + rest[body_len:].split(b"\r\n")[0].decode())
EOF
}

# Send COUNT requests for PATH at once; print each answer as "STATUS BODY", the
# same answers counted on one line ("5 200 all 5 arrived").
at_once() {
    local count=$1 path=$2 dir="$BATS_TEST_TMPDIR/at_once" i pids=()
    mkdir -p "$dir"
    for i in $(seq "$count"); do
        timeout 20 curl -s --max-time 15 -o "$dir/body$i" -w '%{http_code}' \
            "$LAB_URL$path" >"$dir/status$i" 3>&- &
        pids+=($!)
    done
    wait "${pids[@]}" || true
    for i in $(seq "$count"); do
        echo "$(cat "$dir/status$i") $(cat "$dir/body$i")"
    done | sort | uniq -c | sed 's/^ *//'
}

# After a bad request the server must still serve everybody else.
assert_still_serving() {
    run -0 curl -sf --max-time 5 "$LAB_URL/bytes/7"
    assert_output "abcdefg"
}

@test "labserver prints its listening line and writes the port file" {
    local dir="$BATS_TEST_TMPDIR"
    timeout --foreground -k 5 30 "$WB_BIN/ch00/labserver" -p 0 --port-file "$dir/port" >"$dir/out" 3>&- &
    local pid=$!
    wait_until 10 test -s "$dir/port" || fail "no port file after 10 s"
    signal_program TERM "$pid"
    local rc=0
    wait "$pid" || rc=$?
    assert_equal "$rc" 0
    run cat "$dir/out"
    assert_output "labserver listening on http://127.0.0.1:$(cat "$dir/port")"
}

@test "a port file it cannot write is named as given, with the reason" {
    run -1 timeout 10 "$WB_BIN/ch00/labserver" -p 0 --port-file /nonexistent/dir/port
    assert_output "labserver: --port-file /nonexistent/dir/port: No such file or directory"
}

@test "GET / answers a small page" {
    run -0 curl -sf --max-time 5 "$LAB_URL/"
    assert_output --partial "<h1>the lab</h1>"
}

@test "/delay/300 takes at least 300 ms, not ten times that" {
    run -0 curl -sf --max-time 5 -o /dev/null -w '%{time_total}' "$LAB_URL/delay/300"
    run python3 -c "t = $output; print('ok' if 0.300 <= t < 3.0 else 'took %.3f s' % t)"
    assert_output "ok"
}

@test "/bytes/N answers exactly N bytes with Content-Length" {
    run -0 curl -sfi --max-time 5 "$LAB_URL/bytes/100000"
    assert_line --partial "Content-Length: 100000"
    run -0 bash -c "curl -sf --max-time 5 '$LAB_URL/bytes/100000' | wc -c"
    assert_output "100000"
    run -0 bash -c "curl -sf --max-time 5 '$LAB_URL/bytes/0' | wc -c"
    assert_output "0"
}

@test "/status/CODE answers that status" {
    for code in 200 201 404 418 500 503; do
        run -0 curl -s --max-time 5 -o /dev/null -w '%{http_code}' "$LAB_URL/status/$code"
        assert_output "$code"
    done
}

@test "/hang never answers, and counts as active meanwhile" {
    run -28 curl -s --max-time 0.5 "$LAB_URL/hang"
    timeout 15 curl -s --max-time 12 "$LAB_URL/hang" 3>&- &
    local pid=$!
    wait_until 10 lab_stat_is active 1
    assert_equal "$(lab_stat active)" 1
    kill "$pid"
    wait "$pid" || true
}

@test "a client that sends more than a buffer after /hang and leaves is dropped" {
    run -0 timeout 10 python3 - "$LAB_PORT" <<'EOF'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET /hang HTTP/1.1\r\nHost: lab\r\n\r\n" + b"X" * 20000)
time.sleep(0.3)
s.close()
EOF
    wait_until 10 lab_stat_is active 0
    assert_equal "$(lab_stat active)" 0
}

@test "/stats counts requests served and the peak; ?reset=1 resets; /stats is not counted" {
    curl -sf --max-time 5 -o /dev/null "$LAB_URL/delay/10"
    curl -sf --max-time 5 -o /dev/null "$LAB_URL/bytes/1"
    run -0 curl -sf --max-time 5 "$LAB_URL/stats"
    assert_output '{"served": 2, "active": 0, "peak": 1, "barrier_waiting": 0, "barrier_rounds": 0}'
    lab_reset
    assert_equal "$(lab_stat served)" 0
    assert_equal "$(lab_stat peak)" 0
}

@test "query strings are ignored" {
    run -0 curl -sf --max-time 5 "$LAB_URL/bytes/3?i=7&x=y"
    assert_output "abc"
}

@test "HEAD answers the head only" {
    run -0 curl -sf --max-time 5 -I "$LAB_URL/bytes/50"
    assert_line --partial "Content-Length: 50"
    run -0 answer 'HEAD /bytes/50 HTTP/1.0\r\n\r\n'
    assert_output $'HTTP/1.1 200 OK\nbody: 0 bytes'
}

@test "HTTP/1.1 keep-alive: two requests on one connection" {
    run -0 timeout 10 python3 - "$LAB_PORT" <<'EOF'
import http.client, sys
c = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=5)
c.request("GET", "/bytes/5"); a = c.getresponse().read(); s1 = c.sock
c.request("GET", "/bytes/6"); b = c.getresponse().read(); s2 = c.sock
print(a.decode(), b.decode(), "same connection" if s1 is s2 and s1 is not None else "reconnected")
EOF
    assert_output "abcde abcdef same connection"
}

@test "HTTP/1.0 closes after the answer unless it asks for keep-alive" {
    run -0 answer 'GET /bytes/1 HTTP/1.0\r\n\r\n'
    assert_output $'HTTP/1.1 200 OK\nbody: 1 bytes'
    # kept open, it hears the 408 that this lab (-t 1) sends a second later
    run -0 answer 'GET /bytes/1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n'
    assert_output $'HTTP/1.1 200 OK\nbody: 1 bytes\nthen: HTTP/1.1 408 Request Timeout'
    run -0 curl -s0 --max-time 5 -D - -o /dev/null "$LAB_URL/bytes/1"
    assert_line --partial "Connection: close"
    run -0 curl -s0 --max-time 5 -H 'Connection: keep-alive' -D - -o /dev/null "$LAB_URL/bytes/1"
    assert_line --partial "Connection: keep-alive"
    run -0 curl -s0 --max-time 5 -H 'Connection: Keep-Alive' -D - -o /dev/null "$LAB_URL/bytes/1"
    assert_line --partial "Connection: keep-alive"
}

@test "200 requests of /delay/300 at once: all answered together, peak 200" {
    local urls=()
    for i in $(seq 200); do urls+=(-o /dev/null "$LAB_URL/delay/300?i=$i"); done
    local t0 t1
    t0=$(date +%s%N)
    run -0 timeout 30 curl -sf --parallel --parallel-immediate --parallel-max 200 "${urls[@]}"
    t1=$(date +%s%N)
    assert_equal "$(lab_stat served)" 200
    assert_equal "$(lab_stat peak)" 200
    # 200 x 300 ms one after another would be 60 s; together it is about 0.3 s.
    [ $(((t1 - t0) / 1000000)) -lt 6000 ]
}

@test "a malformed request line gets 400, and others are still served" {
    run -0 raw 'NONSENSE\r\n\r\n'
    assert_output "HTTP/1.1 400 Bad Request"
    run -0 raw '\x00\x01\x02\r\n\r\n'
    assert_output "HTTP/1.1 400 Bad Request"
    run -0 raw 'GET /bytes/1 HTTP/9.9\r\n\r\n'
    assert_output "HTTP/1.1 400 Bad Request"
    assert_still_serving
}

@test "a header over 8 KiB gets 431, and others are still served" {
    run -0 raw "GET / HTTP/1.1\\r\\nX-Big: $(head -c 9000 /dev/zero | tr '\0' a)\\r\\n\\r\\n"
    assert_output "HTTP/1.1 431 Request Header Fields Too Large"
    assert_still_serving
}

@test "no full request in time gets 408, and others are still served meanwhile" {
    timeout 10 python3 - "$LAB_PORT" >"$BATS_TEST_TMPDIR/slow" <<'EOF' 3>&- &
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET /bytes/1 HT")  # half a request, then silence
s.settimeout(8)
print(s.recv(100).split(b"\r\n")[0].decode())
EOF
    local pid=$!
    assert_still_serving # while the slow client is waiting
    wait "$pid"
    run cat "$BATS_TEST_TMPDIR/slow"
    assert_output "HTTP/1.1 408 Request Timeout"
}

@test "a 408 after a HEAD request still carries its body" {
    run -0 timeout 10 python3 - "$LAB_PORT" <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(8)
s.sendall(b"HEAD /bytes/5 HTTP/1.1\r\nHost: lab\r\n\r\n")
head = b""
while b"\r\n\r\n" not in head:
    head += s.recv(4096)
s.sendall(b"GET /bytes/1 HT")  # half a request on the same connection, then silence
answer = b""
while True:
    chunk = s.recv(4096)
    if not chunk:
        break
    answer += chunk
print(answer.split(b"\r\n")[0].decode())
print(answer.split(b"\r\n\r\n", 1)[1].decode(), end="")
EOF
    assert_line --index 0 "HTTP/1.1 408 Request Timeout"
    assert_line --index 1 "no full request in time"
}

@test "out of descriptors, it refuses newcomers, then serves and stops as usual" {
    local dir="$BATS_TEST_TMPDIR"
    # a hard limit of 24 descriptors: a few connections fill it
    (ulimit -n 24 && exec timeout -k 5 60 "$WB_BIN/ch00/labserver" -p 0 \
        --port-file "$dir/port") >/dev/null 2>"$dir/err" 3>&- &
    local pid=$!
    wait_until 10 test -s "$dir/port"
    local port
    port=$(cat "$dir/port")

    # hold 40 connections, then let them go
    run -0 timeout 20 python3 - "$port" <<'EOF'
import socket, sys, time
held = []
for _ in range(40):
    held.append(socket.create_connection(("127.0.0.1", int(sys.argv[1]))))
time.sleep(1)
for s in held:
    s.close()
EOF
    run -0 curl -sf --max-time 5 "http://127.0.0.1:$port/bytes/7"
    assert_output "abcdefg"
    run cat "$dir/err"
    assert_output --partial "out of file descriptors, refused a connection"
    signal_program TERM "$pid"
    run wait_until 10 ended "$pid"
    assert_success
}

@test "an unknown path gets 404 and another method 405" {
    run -0 curl -s --max-time 5 -o /dev/null -w '%{http_code}' "$LAB_URL/nowhere"
    assert_output "404"
    run -0 curl -s --max-time 5 -o /dev/null -w '%{http_code}' -X POST -d x=1 "$LAB_URL/"
    assert_output "405"
    run -0 curl -s --max-time 5 -o /dev/null -w '%{http_code}' "$LAB_URL/delay/abc"
    assert_output "404"
    assert_still_serving
}

@test "a client that resets mid-request is dropped, and others are still served" {
    run -0 timeout 10 python3 - "$LAB_PORT" <<'EOF'
import socket, struct, sys
for _ in range(20):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    s.sendall(b"GET /delay/100 HTTP/1.1\r\nHo")
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()  # with linger 0: a reset, not a goodbye
EOF
    assert_still_serving
    assert_equal "$(lab_stat active)" 0
}

@test "SIGTERM and SIGINT stop it cleanly with status 0" {
    for sig in TERM INT; do
        timeout --foreground -k 5 30 "$WB_BIN/ch00/labserver" -p 0 --port-file "$BATS_TEST_TMPDIR/p$sig" >/dev/null 2>&1 3>&- &
        local pid=$!
        wait_until 10 test -s "$BATS_TEST_TMPDIR/p$sig" || fail "no port file after 10 s"
        timeout 5 curl -s --max-time 3 "http://127.0.0.1:$(cat "$BATS_TEST_TMPDIR/p$sig")/hang" 3>&- &
        sleep 0.2
        signal_program "$sig" "$pid"
        local rc=0
        wait "$pid" || rc=$?
        assert_equal "$rc" 0
    done
}

@test "labserver --help explains; a bad option is a usage error" {
    run -0 "$WB_BIN/ch00/labserver" --help
    assert_output --partial "Usage: labserver"
    run -2 "$WB_BIN/ch00/labserver" -p notaport
    run -2 --separate-stderr "$WB_BIN/ch00/labserver" --bogus
    assert_equal "${#stderr_lines[@]}" 2 # getopt's line and the usage line
    assert_stderr_contains "Usage: labserver"
    run -2 --separate-stderr "$WB_BIN/ch00/labserver" extra
    assert_equal "$stderr" "labserver: unexpected argument 'extra'
Usage: labserver [-p PORT] [-d MS] [-t S] [-b S] [--port-file FILE] [-v]"
}

@test "/barrier/5: five requests at once are all answered 200 together" {
    run -0 at_once 5 /barrier/5
    assert_output "5 200 all 5 arrived"
    assert_equal "$(lab_stat barrier_rounds)" 1
    assert_equal "$(lab_stat peak)" 5
}

@test "/barrier/5 with only three: each gets 504 after -b, saying how many came" {
    run -0 at_once 3 /barrier/5
    assert_output "3 504 only 3 of 5 arrived"
    assert_equal "$(lab_stat barrier_rounds)" 0
    assert_equal "$(lab_stat barrier_waiting)" 0
}

@test "/barrier/5: requests past five start a new round" {
    run -0 at_once 10 /barrier/5
    assert_output "10 200 all 5 arrived"
    assert_equal "$(lab_stat barrier_rounds)" 2
    lab_reset
    run -0 at_once 7 /barrier/5
    assert_line "5 200 all 5 arrived"
    assert_line "2 504 only 2 of 5 arrived"
}

@test "/barrier/N takes 1 <= N <= 10000; any other N is 404" {
    run -0 curl -s --max-time 5 "$LAB_URL/barrier/1"
    assert_output "all 1 arrived"
    for n in 0 10001 -1 abc; do
        run -0 curl -s --max-time 5 -o /dev/null -w '%{http_code}' "$LAB_URL/barrier/$n"
        assert_output "404"
    done
}

@test "a client that leaves a barrier no longer counts, and others are still served" {
    # one leaves with a goodbye (FIN), one with a reset
    run -0 timeout 10 python3 - "$LAB_PORT" <<'EOF'
import socket, struct, sys, time
for linger in (False, True):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    s.sendall(b"GET /barrier/2 HTTP/1.1\r\nHost: lab\r\n\r\n")
    time.sleep(0.2)
    if linger:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
EOF
    wait_until 10 lab_stat_is barrier_waiting 0
    assert_equal "$(lab_stat barrier_waiting)" 0
    # alone again: had a leaver still counted, this one would pass at once
    run -0 at_once 1 /barrier/2
    assert_output "1 504 only 1 of 2 arrived"
    assert_still_serving
    assert_equal "$(lab_stat active)" 0
}

@test "/drip/N delivers exactly N bytes, in many small pieces" {
    run -0 bash -c "timeout 10 curl -sf --max-time 8 '$LAB_URL/drip/5000' | wc -c"
    assert_output "5000"
    # a client that reads until the end counts N; its first read holds far less
    run -0 timeout 10 python3 - "$LAB_PORT" <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.settimeout(8)
s.sendall(b"GET /drip/3000 HTTP/1.1\r\nHost: lab\r\nConnection: close\r\n\r\n")
reads = []
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    reads.append(chunk)
head, _, body = b"".join(reads).partition(b"\r\n\r\n")
first = reads[0].partition(b"\r\n\r\n")[2]
print(head.split(b"\r\n")[0].decode())
print("Content-Length: 3000" if b"Content-Length: 3000" in head else "no Content-Length")
print("body: %d bytes" % len(body))
print("first read: %s" % ("short" if len(first) < 3000 else "all of it"))
print("reads: %s" % ("more than ten" if len(reads) > 10 else str(len(reads))))
EOF
    assert_output "HTTP/1.1 200 OK
Content-Length: 3000
body: 3000 bytes
first read: short
reads: more than ten"
}

@test "/drip/N is capped at 1 MiB, and is counted as active while it drips" {
    run -0 curl -sf --max-time 5 -I "$LAB_URL/drip/99999999"
    assert_line --partial "Content-Length: 1048576"
    timeout 15 curl -s --max-time 12 -o /dev/null "$LAB_URL/drip/1048576" 3>&- &
    local pid=$!
    wait_until 10 lab_stat_is active 1
    assert_equal "$(lab_stat active)" 1
    kill "$pid"
    wait "$pid" || true
}

@test "a second labserver on a taken port says a lab may be running, and how to move" {
    run -1 --separate-stderr timeout 5 "$WB_BIN/ch00/labserver" -p "$LAB_PORT"
    assert_stderr_contains "port $LAB_PORT is taken: a lab server may already be running there"
    assert_stderr_contains "make serve PORT=$((LAB_PORT + 1))"
    assert_stderr_contains "LAB_URL=http://127.0.0.1:$((LAB_PORT + 1))"
    assert_still_serving
}

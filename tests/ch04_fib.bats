#!/usr/bin/env bats
# tests/ch04_fib.bats - fib_client, the client of the Fibonacci server.
#
# Needs `make ch04 solutions`: the real server is the model answer,
# "$WB_BIN/solutions/ch04/fib_server", started once for the whole file. A
# small Python server (fake.py, written out in setup_file) plays the servers
# that misbehave: one that answers wrong, one without the stretch part, one
# that hangs up early, and one that answers nobody until N clients are
# connected at once (which proves -c N really runs N clients together).

setup_file() {
    load helper
    local out="$BATS_FILE_TMPDIR/server.out" i
    : >"$out"
    "$WB_BIN/solutions/ch04/fib_server" -p 0 >"$out" 2>"$BATS_FILE_TMPDIR/server.err" 3>&- &
    FIB_PID=$!
    for i in $(seq 1 200); do
        FIB_PORT=$(sed -n 's/^fib_server listening on port \([0-9][0-9]*\)$/\1/p' "$out")
        [ -n "$FIB_PORT" ] && break
        sleep 0.05
    done
    export FIB_PID FIB_PORT
    FAKE="$BATS_FILE_TMPDIR/fake.py"
    export FAKE
    cat >"$FAKE" <<'EOF'
"""fake.py MODE PORTFILE [N]: a Fibonacci server that misbehaves on purpose.
wrong: F(10) off by one; nostretch: ERR out of range past 93; hangup: closes
after one answer; gather N: answers nobody until N connections are open."""
import socket, sys, threading

mode, portfile = sys.argv[1], sys.argv[2]
crowd = threading.Barrier(int(sys.argv[3])) if mode == "gather" else None


def fib(n):
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


def answer(line):
    if line.isdigit():
        n = int(line)
        if n > (93 if mode == "nostretch" else 10000):
            return "ERR out of range (max %d)" % (93 if mode == "nostretch" else 10000)
        return str(fib(n) + (mode == "wrong" and n == 10))
    return "ERR negative" if line[:1] == b"-" and line[1:].isdigit() else "ERR not a number"


def serve(conn):
    if crowd:
        crowd.wait(timeout=30)
    with conn, conn.makefile("rb") as lines:
        for count, line in enumerate(lines):
            if mode == "hangup" and count == 1:
                break
            conn.sendall(answer(line.rstrip(b"\r\n")).encode() + b"\n")


srv = socket.create_server(("127.0.0.1", 0))
with open(portfile + ".tmp", "w") as f:
    f.write(str(srv.getsockname()[1]))
__import__("os").rename(portfile + ".tmp", portfile)
while True:
    conn, _ = srv.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
EOF
}

teardown_file() {
    kill -TERM "$FIB_PID" 2>/dev/null || true
    timeout 5 tail -s 0.05 --pid="$FIB_PID" -f /dev/null 2>/dev/null || kill -KILL "$FIB_PID" 2>/dev/null || true
}

setup() {
    load helper
    [ -n "$FIB_PORT" ] || fail "solutions/ch04/fib_server did not start: run 'make ch04 solutions' first"
    CLIENT="$WB_BIN/ch04/fib_client"
}

teardown() {
    if [ -n "${FAKE_PID:-}" ]; then
        kill "$FAKE_PID" 2>/dev/null || true
        wait "$FAKE_PID" 2>/dev/null || true
    fi
}

# fake_start MODE [N]: start fake.py in the background; sets FAKE_PORT.
fake_start() {
    local portfile="$BATS_TEST_TMPDIR/fake.port" i
    timeout 60 python3 "$FAKE" "$1" "$portfile" "${@:2}" 3>&- &
    FAKE_PID=$!
    for i in $(seq 1 100); do
        [ -s "$portfile" ] && break
        sleep 0.05
    done
    FAKE_PORT=$(cat "$portfile")
}

@test "fib_client --help explains itself; a bad option is a usage error" {
    run -0 timeout 5 "$CLIENT" --help
    assert_line --index 0 --regexp '^Usage: fib_client '
    assert_output --partial -- '--check'
    run -2 timeout 5 "$CLIENT" --bogus
    run -2 timeout 5 "$CLIENT" -c 0 5
}

@test "fib_client -H takes an IPv4 address; a host name is a usage error, not a failed connection" {
    run -0 timeout 5 "$CLIENT" --help
    assert_output --partial 'IPv4 address'
    run --separate-stderr -2 timeout 5 "$CLIENT" -H localhost -p "$FIB_PORT" 5
    assert_equal "${stderr_lines[0]}" "fib_client: -H: 'localhost' is not an IPv4 address"
    assert_equal "${stderr_lines[1]}" "$(timeout 5 "$CLIENT" --help | head -n 1)"
    run -0 timeout 10 "$CLIENT" -H 127.0.0.1 -p "$FIB_PORT" 5
    assert_output 'fib(5) = 5'
}

@test "fib_client prints fib(n) for each number given" {
    run -0 timeout 10 "$CLIENT" -p "$FIB_PORT" 0 1 2 3 4 10 93
    assert_output "$(printf 'fib(%s) = %s\n' 0 0 1 1 2 1 3 2 4 3 10 55 93 12200160415121876738)"
}

@test "fib_client reads the numbers from stdin when none are given" {
    run -0 timeout 10 "$CLIENT" -p "$FIB_PORT" < <(printf '10\n20\r\n30\n')
    assert_output "$(printf 'fib(%s) = %s\n' 10 55 20 6765 30 832040)"
}

@test "fib_client shows the server's ERR answers, negative numbers included" {
    run -0 timeout 10 "$CLIENT" -p "$FIB_PORT" abc -1 10001 5
    assert_line --index 0 'fib(abc): ERR not a number'
    assert_line --index 1 'fib(-1): ERR negative'
    assert_line --index 2 --regexp '^fib\(10001\): ERR out of range'
    assert_line --index 3 'fib(5) = 5'
}

@test "fib_client --check: 20 clients, 50 requests each, every answer right" {
    run -0 timeout 30 "$CLIENT" -p "$FIB_PORT" -c 20 -k 50 --check
    assert_output --regexp '^summary: 20 clients, 1000 requests, 1000 answered \(0 ERR\), 0 wrong, [0-9.]+ s$'
}

@test "fib_client drops a trailing \\r from an argument, as from a line of stdin" {
    run -0 timeout 10 "$CLIENT" -p "$FIB_PORT" --check "$(printf '5\r')" 6
    assert_line --index 0 'fib(5) = 5'
    assert_line --regexp '^summary: 1 client, 2 requests, 2 answered \(0 ERR\), 0 wrong, '
}

@test "fib_client --check knows F(n) exactly up to 10000 and every ERR" {
    run -0 timeout 30 "$CLIENT" -p "$FIB_PORT" --check 94 1000 9999 10000 10001 -7 x "$(printf '%070d' 1)"
    assert_line --regexp '^summary: 1 client, 8 requests, 8 answered \(4 ERR\), 0 wrong, '
}

@test "fib_client -c 8 has all eight clients at the server at once" {
    fake_start gather 8 # answers nobody until eight connections are open
    run -0 timeout 20 "$CLIENT" -p "$FAKE_PORT" -c 8 -k 3 --check
    assert_output --regexp '^summary: 8 clients, 24 requests, 24 answered \(0 ERR\), 0 wrong, '
}

@test "fib_client --check counts a wrong answer and exits 1" {
    fake_start wrong
    run --separate-stderr -1 timeout 10 "$CLIENT" -p "$FAKE_PORT" --check 9 10 11
    assert_line 'fib(10) = 56'
    assert_line --regexp '^summary: 1 client, 3 requests, 3 answered \(0 ERR\), 1 wrong, '
    assert_stderr_contains "wrong answer to '10': '56'"
}

@test "fib_client --check shows the first three wrong answers of all its clients, no more" {
    fake_start wrong
    run --separate-stderr -1 timeout 20 "$CLIENT" -p "$FAKE_PORT" -c 5 -k 4 --check 10
    assert_line --regexp '^summary: 5 clients, 20 requests, 20 answered \(0 ERR\), 20 wrong, '
    assert_equal "$(grep -c "wrong answer to '10': '56'" <<<"$stderr")" 3
}

@test "fib_client --check takes 'out of range' past 93 from a server without the stretch part" {
    fake_start nostretch
    run -0 timeout 10 "$CLIENT" -p "$FAKE_PORT" --check 93 94 10000
    assert_line --regexp '^summary: 1 client, 3 requests, 3 answered \(2 ERR\), 0 wrong, '
}

@test "fib_client counts the requests a server hung up on and exits 1" {
    fake_start hangup
    run --separate-stderr -1 timeout 10 "$CLIENT" -p "$FAKE_PORT" --check 1 2 3
    assert_line --regexp '^summary: 1 client, 3 requests, 1 answered \(0 ERR\), 0 wrong, '
    assert_stderr_contains "2 requests got no answer (connection closed)"
}

@test "fib_client says so when no server listens there" {
    local port
    port=$(closed_port)
    run --separate-stderr -1 timeout 10 "$CLIENT" -p "$port" 5
    assert_stderr_contains "connect to 127.0.0.1:$port: Connection refused"
    assert_stderr_contains "is fib_server running"
}

# Each client holds a descriptor: under a limit of 50, socket() fails long
# before the hundredth, and that is no failed connection.
@test "fib_client says when socket() runs out of descriptors, and how to get more" {
    run --separate-stderr -1 timeout 10 bash -c 'ulimit -n 50 && exec "$0" "$@"' \
        "$CLIENT" -p "$FIB_PORT" -c 100 -k 2 --check
    assert_output ""
    assert_equal "${#stderr_lines[@]}" 1
    assert_stderr_contains "fib_client: socket for client "
    assert_stderr_contains " of 100: Too many open files (try a smaller -c, or raise the open-file limit with ulimit -n)"
    [[ "$stderr" != *"connect to"* ]] || fail "a socket() failure told as a connect failure: $stderr"
}

#!/usr/bin/env bats
# ch05, the coroutine half: generators written in C (simple_coroutine,
# producer_consumer), an event loop with timers (event_loop_hello), Future
# and Task on their own (coroutine_loop) and the asyncio-style crawler on
# them and epoll (coroutine_crawler).
# The generator programs must print exactly what the talk's Python prints
# under Python 3; the crawler's concurrency is read off the lab server's peak
# counter. (The chapter's other programs are checked in ch05.bats.) The
# modules coro_task.c (coroutine_loop, coroutine_crawler), coro_stream.c
# (coroutine_crawler) and timer_heap.c (event_loop_hello) are tested through
# the programs that link them.

setup_file() {
    load helper
    lab_start
}
teardown_file() {
    load helper
    lab_stop
}
setup() {
    load helper
    lab_reset
}
teardown() {
    if [ -n "${PEER_PID:-}" ]; then
        kill "$PEER_PID" 2>/dev/null || true
        wait "$PEER_PID" 2>/dev/null || true
    fi
}

# The seconds on the program's own "used time: S s" line.
used_time() { sed -nE 's/^used time: ([0-9.]+) s$/\1/p' <<<"$output"; }

# True if the awk comparison holds, e.g. holds "0.9 < 1.5".
holds() { awk "BEGIN { exit !($1) }"; }

# Every result line is "[i] N bytes in S s  URL"; count them.
result_lines() { grep -cE '^\[[0-9]+\] [0-9]+ bytes in [0-9.]+ s  ' <<<"$output" || true; }

# The talk's two generator cells, word for word.
SIMPLE_CELL=$(cat <<'EOF'
def simple_coroutine():
    print('-> start')
    x = yield
    print('-> recived', x)

sc = simple_coroutine()

next(sc)
sc.send('test!')
EOF
)
PRODUCER_CELL=$(cat <<'EOF'
def consumer():
    r = ''
    while True:
        n = yield r
        print('[CONSUMER] Consuming %s...' % n)
        r = '200 OK'

def produce(c):
    c.send(None)
    n = 0
    while n < 5:
        n = n + 1
        print('[PRODUCER] Producing %s...' % n)
        r = c.send(n)
        print('[PRODUCER] Consumer return: %s' % r)
    c.close()

c = consumer()
produce(c)
EOF
)

# ---- generators ---------------------------------------------------------------

@test "simple_coroutine prints exactly the two lines of the talk's generator" {
    run --separate-stderr -0 timeout 5 "$WB_BIN/ch05/simple_coroutine"
    no_sanitizer_report
    assert_equal "$output" "$(printf '%s\n' '-> start' '-> received test!')"
    assert_equal "$stderr" ""
}

@test "simple_coroutine agrees with the talk's cell run by python3 (its typo fixed)" {
    command -v python3 >/dev/null || skip "python3 is not installed"
    # The cell ends in StopIteration (send() runs the generator off its end),
    # so python3 exits 1; only what it printed matters here.
    local python
    python=$(timeout 10 python3 -c "$SIMPLE_CELL" 2>/dev/null | sed 's/recived/received/') || true
    run -0 timeout 5 "$WB_BIN/ch05/simple_coroutine"
    assert_equal "$output" "$python"
}

@test "simple_coroutine sends the value it is given, and --trace shows the resume points" {
    run --separate-stderr -0 timeout 5 "$WB_BIN/ch05/simple_coroutine" --trace hello
    no_sanitizer_report
    assert_equal "$output" "$(printf '%s\n' '-> start' '-> received hello')"
    assert_stderr_contains "next(): enter at resume point 0"
    assert_stderr_contains "finished (Python: StopIteration), resume point now -1"
}

@test "producer_consumer prints exactly what the talk's Python prints" {
    run --separate-stderr -0 timeout 5 "$WB_BIN/ch05/producer_consumer"
    no_sanitizer_report
    local expected=() n
    for n in 1 2 3 4 5; do
        expected+=("[PRODUCER] Producing $n..." "[CONSUMER] Consuming $n..."
            "[PRODUCER] Consumer return: 200 OK")
    done
    assert_equal "$output" "$(printf '%s\n' "${expected[@]}")"
    assert_equal "${#lines[@]}" 15
    assert_equal "$stderr" ""
}

@test "producer_consumer agrees with the talk's cell run by python3" {
    command -v python3 >/dev/null || skip "python3 is not installed"
    local python
    python=$(timeout 10 python3 -c "$PRODUCER_CELL")
    run -0 timeout 5 "$WB_BIN/ch05/producer_consumer"
    assert_equal "$output" "$python"
}

# ---- an event loop with timers --------------------------------------------------

@test "event_loop_hello: two one-second sleeps overlap on one thread, about 1 s in all" {
    run --separate-stderr -0 timeout 10 "$WB_BIN/ch05/event_loop_hello" -q
    no_sanitizer_report
    assert_equal "${#lines[@]}" 5
    # Both coroutines start before either wakes up: they overlap.
    assert_line --index 0 --regexp '^Hello world! \(thread [0-9]+\)$'
    assert_line --index 1 --regexp '^Hello world! \(thread [0-9]+\)$'
    assert_line --index 2 --regexp '^Hello again! \(thread [0-9]+\)$'
    assert_line --index 3 --regexp '^Hello again! \(thread [0-9]+\)$'
    assert_line --index 4 --regexp '^used time: [0-9.]+ s$'
    # One thread id in all four lines.
    assert_equal "$(sed -nE 's/.*\(thread ([0-9]+)\)$/\1/p' <<<"$output" | sort -u | wc -l)" 1
    holds "$(used_time) >= 0.9 && $(used_time) < 1.5" ||
        fail "used time $(used_time) s, expected about one second (under 1.5 s)"
}

@test "event_loop_hello: a thousand coroutines sleeping 300 ms still take about 300 ms" {
    run -0 timeout 10 "$WB_BIN/ch05/event_loop_hello" -q -n 1000 -d 300
    no_sanitizer_report
    assert_equal "$(grep -c '^Hello world! ' <<<"$output")" 1000
    assert_equal "$(grep -c '^Hello again! ' <<<"$output")" 1000
    # Every coroutine said hello before the first one woke up.
    assert_line --index 999 --regexp '^Hello world! '
    assert_line --index 1000 --regexp '^Hello again! '
    holds "$(used_time) < 1.5" || fail "used time $(used_time) s, expected a few sleeps at most"
}

@test "event_loop_hello without -q draws the two overlapping sleeps" {
    run -0 timeout 10 "$WB_BIN/ch05/event_loop_hello" -d 100
    no_sanitizer_report
    assert_line --index 5 --regexp '^timeline: 2 tasks, one column = [0-9.]+ ms$'
}

# ---- Future and Task on their own -----------------------------------------------

# The seconds a task's line reports: when TASK woke (or was done).
reported_at() { sed -nE "s/^task $1: $2 at ([0-9.]+) s.*/\1/p" <<<"$output"; }

@test "coroutine_loop: every task starts its sleep before any wakes, and each resumes when its future is due" {
    run --separate-stderr -0 timeout 20 "$WB_BIN/ch05/coroutine_loop" -n 3 -d 200
    no_sanitizer_report
    assert_equal "$stderr" ""
    assert_equal "${#lines[@]}" 10
    # all three await at once: the first task sleeps longest
    assert_line --index 0 'task 0: sleep(600 ms)'
    assert_line --index 1 'task 1: sleep(400 ms)'
    assert_line --index 2 'task 2: sleep(200 ms)'
    # the loop resumes whoever's future is resolved: the shortest sleep first
    assert_equal "$(sed -nE 's/^task ([0-9]): woke at .*/\1/p' <<<"$output" | paste -sd,)" 2,1,0
    assert_equal "$(sed -nE 's/^task ([0-9]): done at .*/\1/p' <<<"$output" | paste -sd,)" 2,1,0
    assert_line --index 9 --regexp '^used time: [0-9.]+ s$'
    # a future is never resolved before its timer is due (sleep, then the nap)
    holds "$(reported_at 2 woke) >= 0.2 && $(reported_at 2 done) >= 0.5" ||
        fail "task 2 woke at $(reported_at 2 woke) s, done at $(reported_at 2 done) s"
    holds "$(reported_at 0 woke) >= 0.6 && $(reported_at 0 done) >= 0.9" ||
        fail "task 0 woke at $(reported_at 0 woke) s, done at $(reported_at 0 done) s"
}

@test "coroutine_loop waits for all its tasks at once: five of them take 0.65 s, not 2.25 s" {
    run -0 timeout 20 "$WB_BIN/ch05/coroutine_loop" -n 5 -d 100
    no_sanitizer_report
    assert_line --index 0 'task 0: sleep(500 ms)'
    assert_line --index 14 --regexp '^task 0: done at '
    # one after another the sleeps would add up to 500 + 400 + ... + 100 ms
    # and five naps of 150 ms
    holds "$(used_time) >= 0.65 && $(used_time) < 1.5" ||
        fail "used time $(used_time) s, expected from 0.65 s to under 1.5 s"
}

# ---- the asyncio-style crawler ----------------------------------------------------

@test "coroutine_crawler runs all ten fetches at once on one thread" {
    run -0 timeout 20 "$WB_BIN/ch05/coroutine_crawler" -q -d 300
    no_sanitizer_report
    assert_equal "$(result_lines)" 10
    assert_line --index 0 --regexp '^\[0\] [0-9]+ bytes in [0-9.]+ s  http://127\.0\.0\.1:[0-9]+/delay/300\?i=0$'
    assert_line --index 9 --regexp '^\[9\] '
    assert_line --index 10 --regexp '^cpu time: [0-9.]+ s \(wall [0-9.]+ s\)$'
    assert_line --index 11 --regexp '^used time: [0-9.]+ s$'
    assert_equal "${#lines[@]}" 12
    assert_equal "$(lab_stat peak)" 10
    assert_equal "$(lab_stat served)" 10
}

@test "coroutine_crawler keeps one thread while its fetches wait" {
    [ "$WB_SAN" != tsan ] || skip "ThreadSanitizer runs a thread of its own"
    timeout 20 "$WB_BIN/ch05/coroutine_crawler" -q -n 20 -d 1500 >/dev/null 3>&- &
    local wrapper=$! pid= i threads
    for i in $(seq 100); do
        pid=$(pgrep -P "$wrapper" || true)
        [ -n "$pid" ] && [ "$(lab_stat active)" = 20 ] && break
        sleep 0.05
    done
    threads=$(sed -nE 's/^Threads:\s+([0-9]+)$/\1/p' "/proc/$pid/status")
    wait "$wrapper"
    assert_equal "$threads" 1
    assert_equal "$(lab_stat peak)" 20
}

@test "coroutine_crawler counts the whole response: headers and body" {
    run -0 timeout 20 "$WB_BIN/ch05/coroutine_crawler" -q "$LAB_URL/bytes/100000" "$LAB_URL/bytes/0"
    no_sanitizer_report
    local with without
    with=$(sed -nE 's/^\[0\] ([0-9]+) bytes .*/\1/p' <<<"$output")
    without=$(sed -nE 's/^\[1\] ([0-9]+) bytes .*/\1/p' <<<"$output")
    # The same headers but for Content-Length's digits ("100000" has five
    # more than "0"): 100000 more bytes of body, plus 5.
    assert_equal "$((with - without))" 100005
    # The same count as curl's, headers included.
    assert_equal "$with" "$(curl -s -0 -i "$LAB_URL/bytes/100000" | wc -c)"
}

@test "coroutine_crawler fetches 2,000 slow URLs at once: a peak of 2,000, ten delays at most" {
    local n=2000
    [ -z "$WB_SAN" ] || n=300 # a sanitizer's slowdown: a smaller crowd
    run -0 timeout 30 "$WB_BIN/ch05/coroutine_crawler" -q -n "$n" -d 500
    no_sanitizer_report
    assert_equal "$(result_lines)" "$n"
    assert_equal "$(lab_stat peak)" "$n"
    skip_under_sanitizer "wall time of the scale run"
    # Ten delays (5 s) at most, against 1,000 s for one fetch after another:
    # a wide margin for a busy machine, and up to three tries besides.
    local try
    for try in 1 2 3; do
        [ "$try" -eq 1 ] || run -0 timeout 30 "$WB_BIN/ch05/coroutine_crawler" -q -n "$n" -d 500
        holds "$(used_time) < 5" && return 0
    done
    fail "used time $(used_time) s, expected under 5 s, ten delays (three tries)"
}

@test "coroutine_crawler: a refused port and a silent server are reported; the good URLs print; exit 1" {
    local port
    port=$(closed_port)
    run --separate-stderr -1 timeout 20 "$WB_BIN/ch05/coroutine_crawler" -q -t 1 \
        "$LAB_URL/delay/10" "127.0.0.1:$port/" "$LAB_URL/hang" "${LAB_URL#http://}/bytes/5000"
    no_sanitizer_report
    assert_line --index 0 --regexp '^\[0\] [0-9]+ bytes in [0-9.]+ s  http://127\.0\.0\.1:[0-9]+/delay/10$'
    assert_line --index 1 --regexp '^\[3\] 5[0-9]{3} bytes in [0-9.]+ s  127\.0\.0\.1:[0-9]+/bytes/5000$'
    assert_equal "$(result_lines)" 2
    assert_stderr_contains "coroutine_crawler: 127.0.0.1:$port/: Connection refused"
    # the -t limit is the program's own: it says so, not "Connection timed out"
    assert_stderr_contains "coroutine_crawler: $LAB_URL/hang: no complete answer within 1 s (-t)"
    # -t 1 gave up on /hang after one second; nothing waited for the default 10.
    holds "$(used_time) < 5" || fail "used time $(used_time) s with -t 1"
}

@test "coroutine_crawler: a server that closes before the blank line is reported, not waited on" {
    command -v python3 >/dev/null || skip "python3 is not installed"
    local portfile=$BATS_TEST_TMPDIR/peer.port
    # A peer that sends half a header, then closes. The talk's loop would
    # wait for b'\r\n' forever here, since readline() then returns b''.
    python3 -c '
import socket, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(); s.settimeout(15)
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1]))
__import__("os").rename(sys.argv[1] + ".tmp", sys.argv[1])
c, _ = s.accept(); c.recv(4096)
c.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n"); c.close()
' "$portfile" 3>&- &
    PEER_PID=$!
    wait_until 10 test -s "$portfile" || fail "the silent peer did not start"
    run --separate-stderr -1 timeout 20 "$WB_BIN/ch05/coroutine_crawler" -q -t 5 \
        "127.0.0.1:$(cat "$portfile")/" "$LAB_URL/delay/10"
    no_sanitizer_report
    assert_line --index 0 --regexp '^\[1\] [0-9]+ bytes in '
    assert_stderr_contains "/: closed before the blank line"
    holds "$(used_time) < 4" || fail "used time $(used_time) s: it waited for the time limit"
}

@test "coroutine_crawler with no lab server says in one line how to start one, fetches nothing, exits 1" {
    local address
    address="http://127.0.0.1:$(closed_port)"
    export LAB_URL=$address
    run --separate-stderr -1 timeout 20 "$WB_BIN/ch05/coroutine_crawler"
    no_sanitizer_report
    assert_equal "$output" "" # no result lines, no used time, no timeline
    assert_equal "${#stderr_lines[@]}" 1
    assert_stderr_contains "coroutine_crawler: no lab server answers at $address"
    assert_stderr_contains "make serve"
}

@test "coroutine_crawler: in a mixed run the failed fetch gets its own mark and the legend says so; exit 1" {
    local port
    port=$(closed_port)
    LC_ALL=C run --separate-stderr -1 timeout 20 "$WB_BIN/ch05/coroutine_crawler" \
        "$LAB_URL/delay/50?i=0" "127.0.0.1:$port/" "$LAB_URL/delay/50?i=2"
    no_sanitizer_report
    assert_equal "$(result_lines)" 2
    assert_stderr_contains "coroutine_crawler: 127.0.0.1:$port/: Connection refused"
    # the legend names both marks; the failed row has only x and dots
    assert_line --regexp '^timeline: 3 tasks, one column = [0-9.]+ ms; # ran, x failed \(1\)$'
    assert_line --regexp '^    0 [.#]*#[.#]*$'
    assert_line --regexp '^    1 [.x]*x[.x]*$'
    assert_line --regexp '^    2 [.#]*#[.#]*$'
}

@test "coroutine_crawler without -q draws the timeline after the results" {
    run -0 timeout 20 "$WB_BIN/ch05/coroutine_crawler" -d 50 -n 3
    no_sanitizer_report
    assert_line --index 4 --regexp '^used time: [0-9.]+ s$'
    assert_line --index 5 --regexp '^timeline: 3 tasks, one column = [0-9.]+ ms$'
}

# ---- the command lines ---------------------------------------------------------------

@test "--help explains and exits 0; a bad option prints the usage and exits 2" {
    local p
    for p in simple_coroutine producer_consumer event_loop_hello coroutine_loop coroutine_crawler; do
        run -0 timeout 5 "$WB_BIN/ch05/$p" --help
        assert_line --index 0 --regexp "^Usage: $p"
        run --separate-stderr -2 timeout 5 "$WB_BIN/ch05/$p" --bogus
        assert_stderr_contains "Usage: $p"
    done
    # the options one a line, in every program that takes -n
    for p in producer_consumer event_loop_hello coroutine_loop coroutine_crawler; do
        run -0 timeout 5 "$WB_BIN/ch05/$p" --help
        assert_line --regexp '^  -n N +[a-z]'
    done
    run -0 timeout 5 "$WB_BIN/ch05/event_loop_hello" --help
    assert_line --regexp '^  -q +[a-z]'
    run --separate-stderr -2 timeout 5 "$WB_BIN/ch05/coroutine_crawler" -t 0
    assert_stderr_contains "-t"
    run --separate-stderr -2 timeout 5 "$WB_BIN/ch05/event_loop_hello" -n 0
    assert_stderr_contains "-n"
    run --separate-stderr -2 timeout 5 "$WB_BIN/ch05/simple_coroutine" one two
    assert_stderr_contains "Usage: simple_coroutine"
    run --separate-stderr -2 timeout 5 "$WB_BIN/ch05/coroutine_loop" -d 1
    assert_stderr_contains "-d"
}

#!/usr/bin/env bats
# ch03: parallel handling. The same pages fetched one after another, by a
# thread and by a process per URL, by a pool of workers, and by green threads
# on one OS thread, against a private lab server; plus the pipe-made queue and
# the green threads' switching on its own. The modules green.c and
# green_socket.c are tested through the two green programs that link them.
# Concurrency is read off the server's peak counter (requests received and not
# yet answered at once), never off a stopwatch; the one timing check is a
# ratio between two runs of the same test, the better of three tries.
#
# Under the thread sanitizer green_switch and green_fetch are left out: they
# switch stacks with swapcontext() (green.c, the module both share), which
# TSan does not follow (it would keep one shadow call stack for all the green
# threads), and they run on a single OS thread, so there is no data race for
# TSan to find. Their ASan runs stay in: every stack switch is announced with
# __sanitizer_start/finish_switch_fiber, and the runs below turn on ASan's fake
# stacks (detect_stack_use_after_return), which crash at once if a switch loses
# track of a stack's fake frames.

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
    FETCHERS=(sequential_fetch thread_fetch process_fetch pool_fetch green_fetch)
    # Long enough that every fetch of a concurrent run is still waiting when
    # the last one arrives, even when a sanitizer slows the start-up down.
    if [ -z "$WB_SAN" ]; then D=200; else D=1000; fi
    GREEN=(env "ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_stack_use_after_return=1")
}
teardown() {
    [ -z "${BG_PID:-}" ] || kill "$BG_PID" 2>/dev/null || true
    if [ -n "${ODD_PID:-}" ]; then
        kill "$ODD_PID" 2>/dev/null || true
        wait "$ODD_PID" 2>/dev/null || true
    fi
}

# The result lines "[i] N bytes in S s  URL" of the last run: count, indices.
result_lines() { grep -cE '^\[[0-9]+\] [0-9]+ bytes in [0-9.]+ s  ' <<<"$output" || true; }
result_indices() { grep -oE '^\[[0-9]+\]' <<<"$output" | tr -d '[]' | tr '\n' ' '; }
# Result lines whose time is shorter than the /delay/MS of their own URL: a
# line that carries another task's result (none, when each line is its own).
mismatched_results() {
    sed -nE 's#^\[[0-9]+\] [0-9]+ bytes in ([0-9.]+) s  .*/delay/([0-9]+).*#\1 \2#p' <<<"$output" |
        awk '$1 * 1000 < $2 { print }'
}

# The PIDs of a process's children, from procfs (no procps needed).
children_of() { cat /proc/"$1"/task/*/children 2>/dev/null | tr -s ' \n' ' ' | sed 's/ $//'; }
# The same, less those that have exited and wait to be reaped.
running_children_of() {
    local c
    for c in $(children_of "$1"); do ended "$c" || echo "$c"; done
}

# odd_start: a tiny HTTP/1.0 server on a free port, for answers the lab
# server never gives; sets ODD_URL (teardown stops it). /short promises
# Content-Length: 100 and sends 5 bytes; /long-header is a valid 200 whose
# header is over 3000 bytes long, with a body of 5 bytes.
odd_start() {
    local portfile="$BATS_TEST_TMPDIR/odd.port"
    timeout 60 python3 - "$portfile" 3>&- <<'PY' &
import os, socket, sys

srv = socket.create_server(("127.0.0.1", 0))
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(srv.getsockname()[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
while True:
    conn, _ = srv.accept()
    with conn:
        path = conn.recv(4096).split()[1]
        if path == b"/short":
            conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 100\r\n\r\nhello")
        elif path == b"/long-header":
            pad = b"X-Padding: " + b"a" * 3000 + b"\r\n"
            conn.sendall(b"HTTP/1.0 200 OK\r\n" + pad + b"Content-Length: 5\r\n\r\nhello")
PY
    ODD_PID=$!
    wait_until 20 test -s "$portfile" || fail "the test's HTTP server did not start"
    ODD_URL="http://127.0.0.1:$(cat "$portfile")"
}

# True for the green-thread programs under TSan, which this suite leaves out
# (see the top).
left_out() { [[ "$1" == green_* ]] && [ "$WB_SAN" = tsan ]; }

# stderr of the last `run --separate-stderr`, less ASan's one-line note that
# it does not fully support swapcontext (a note, not a report).
real_stderr() { grep -v "ASan doesn't fully support makecontext/swapcontext" <<<"$stderr" || true; }

@test "every program explains itself with --help and rejects a bad option" {
    for p in "${FETCHERS[@]}" queue green_switch; do
        run -0 timeout 10 "$WB_BIN/ch03/$p" --help
        assert_line --partial "Usage: $p"
        run -2 timeout 10 "$WB_BIN/ch03/$p" --no-such-option
    done
    run -2 timeout 10 "$WB_BIN/ch03/pool_fetch" -w 0
    run -2 timeout 10 "$WB_BIN/ch03/green_switch" -s 0
}

@test "every fetch program's --help explains -n and -d; pool_fetch's tells -w from -n" {
    for p in "${FETCHERS[@]}"; do
        run -0 timeout 10 "$WB_BIN/ch03/$p" --help
        assert_line --regexp '^  -n N +how many lab URLs \(default 10\)'
        assert_line --regexp "^  -d MS +the lab server's delay per URL \(default 200\)$"
    done
    run -0 timeout 10 "$WB_BIN/ch03/pool_fetch" --help
    assert_line --regexp '^  -w W +workers, 1 to 100 '
    assert_line --regexp '^  -n N +.*not how many workers$'
}

@test "a bad --mode or a stray argument is named on stderr, with the usage line" {
    run --separate-stderr -2 timeout 10 "$WB_BIN/ch03/pool_fetch" --mode sideways
    assert_equal "$stderr" "pool_fetch: --mode: 'sideways' is not process, thread or both
Usage: pool_fetch [-q] [-w W] [--mode MODE] [-n N] [-d MS] [URL...]"
    for p in queue green_switch; do
        run --separate-stderr -2 timeout 10 "$WB_BIN/ch03/$p" stray
        assert_equal "${stderr_lines[0]}" "$p: unexpected argument 'stray'"
        assert_equal "${stderr_lines[1]}" "$(timeout 10 "$WB_BIN/ch03/$p" --help | head -n 1)"
        assert_equal "${#stderr_lines[@]}" 2
    done
}

@test "sequential_fetch fetches one page at a time: peak 1, ten results, used time" {
    run -0 timeout 60 "$WB_BIN/ch03/sequential_fetch" -d 20
    no_sanitizer_report
    assert_equal "$(result_lines)" 10
    assert_equal "$(result_indices)" "0 1 2 3 4 5 6 7 8 9 "
    assert_line --regexp '^used time: [0-9]+\.[0-9]{3} s$'
    assert_line --regexp '^timeline: 10 tasks'
    assert_equal "$(lab_stat peak)" 1
}

@test "thread_fetch runs all ten fetches at once: peak 10" {
    run -0 timeout 60 "$WB_BIN/ch03/thread_fetch" -q -d "$D"
    no_sanitizer_report
    assert_equal "$(result_lines)" 10
    [[ "${lines[-1]}" =~ ^used\ time:\ [0-9.]+\ s$ ]] || fail "last line: ${lines[-1]}"
    assert_equal "$(lab_stat peak)" 10
}

# Each thread holds its connection and the socket pair curl_easy_perform()
# keeps: three descriptors. Under a limit of 64, thirty threads cannot all
# have theirs, and the program says so before the fetches fail.
@test "thread_fetch says when the open-file limit cannot hold three descriptors a thread" {
    run --separate-stderr timeout 60 bash -c 'ulimit -n 64 && exec "$0" -q -n 30 -d 100' \
        "$WB_BIN/ch03/thread_fetch"
    no_sanitizer_report
    assert_stderr_contains "30 threads need about 90 open files (a connection and a socket pair each), the limit is 64: some fetches will fail"
    run --separate-stderr -0 timeout 60 bash -c 'ulimit -n 128 && exec "$0" -q -n 30 -d 100' \
        "$WB_BIN/ch03/thread_fetch"
    no_sanitizer_report
    [[ "$stderr" != *"open files"* ]] || fail "a warning under a limit of 128: $stderr"
    assert_equal "$(result_lines)" 30
}

@test "thread_fetch --join-each, the talk's cell, runs them one at a time and says so" {
    run -0 timeout 60 "$WB_BIN/ch03/thread_fetch" --join-each -d 20
    no_sanitizer_report
    assert_line --partial "one at a time"
    assert_equal "$(result_lines)" 10
    assert_equal "$(result_indices)" "0 1 2 3 4 5 6 7 8 9 "
    assert_equal "$(lab_stat peak)" 1
}

@test "process_fetch runs all ten fetches at once in child processes: peak 10" {
    run -0 timeout 60 "$WB_BIN/ch03/process_fetch" -d "$D"
    no_sanitizer_report
    assert_equal "$(result_lines)" 10
    assert_line --regexp '^used time: [0-9.]+ s$'
    assert_line --regexp '^timeline: 10 tasks'
    assert_equal "$(lab_stat peak)" 10
}

@test "process_fetch --join-each, the talk's cell, runs them one at a time and says so" {
    run -0 timeout 60 "$WB_BIN/ch03/process_fetch" -q --join-each -d 20
    no_sanitizer_report
    assert_line --partial "one at a time"
    assert_equal "$(result_lines)" 10
    assert_equal "$(lab_stat peak)" 1
}

@test "process_fetch reports a child that died, and still reaps it" {
    timeout 30 "$WB_BIN/ch03/process_fetch" -q "$LAB_URL/hang" \
        >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" 3>&- &
    BG_PID=$!
    local i parent="" child=""
    for i in $(seq 1 200); do # bounded: until the child's request is at the server
        parent=$(children_of "$BG_PID")
        [ -n "$parent" ] && child=$(children_of "$parent")
        [ -n "$child" ] && [ "$(lab_stat active)" = 1 ] && break
        sleep 0.05
    done
    [ -n "$child" ] || fail "the child never sent its request"
    kill -KILL "$child"
    local rc=0
    wait "$BG_PID" || rc=$?
    BG_PID=""
    assert_equal "$rc" 1
    grep -q "process_fetch: $LAB_URL/hang: child $child killed by signal 9" "$BATS_TEST_TMPDIR/err"
    grep -q '^used time: ' "$BATS_TEST_TMPDIR/out"
}

# Two workers: the one that fetched /delay/100 leaves, and the one left holds
# /hang until it is killed.
@test "pool_fetch names the worker that died and how, on the task it held" {
    timeout 30 "$WB_BIN/ch03/pool_fetch" -q --mode process -w 2 "$LAB_URL/hang" \
        "$LAB_URL/delay/100" >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" 3>&- &
    BG_PID=$!
    local i pool="" worker=""
    for i in $(seq 1 400); do # bounded: until only /hang's worker is left
        pool=$(children_of "$BG_PID")
        [ -n "$pool" ] && worker=$(running_children_of "$pool")
        [[ "$worker" =~ ^[0-9]+$ ]] && [ "$(lab_stat served)" = 1 ] &&
            [ "$(lab_stat active)" = 1 ] && break
        sleep 0.05
    done
    [[ "$worker" =~ ^[0-9]+$ ]] || fail "no single worker left holding /hang: '$worker'"
    kill -KILL "$worker"
    local rc=0
    wait "$BG_PID" || rc=$?
    BG_PID=""
    assert_equal "$rc" 1
    run cat "$BATS_TEST_TMPDIR/err"
    assert_output "pool_fetch: $LAB_URL/hang: worker $worker killed by signal 9 (Killed)"
    run cat "$BATS_TEST_TMPDIR/out"
    assert_line --regexp '^\[1\] [0-9]+ bytes in [0-9.]+ s  .*/delay/100$'
    assert_line --regexp '^process use time: [0-9.]+ s$'
}

@test "pool_fetch -w 3 never has more than 3 fetches out, in either mode, and keeps input order" {
    # Each URL is slower than the next, so the answers arrive out of input order.
    local n=10 step=20 i urls=()
    [ -z "$WB_SAN" ] || { n=6 step=100; }
    for ((i = 0; i < n; i++)); do urls+=("$LAB_URL/delay/$(((n - i) * step))?i=$i"); done
    for mode in process thread; do
        lab_reset
        run -0 timeout 60 "$WB_BIN/ch03/pool_fetch" -q -w 3 --mode "$mode" "${urls[@]}"
        no_sanitizer_report
        assert_equal "$(result_lines)" "$n"
        assert_equal "$(result_indices)" "$(seq -s ' ' 0 $((n - 1))) "
        assert_equal "$(mismatched_results)" ""
        assert_line --regexp "^$mode use time: [0-9.]+ s$"
        local peak
        peak=$(lab_stat peak)
        [ "$peak" -le 3 ] && [ "$peak" -ge 2 ] || fail "$mode pool: peak $peak, want 2 or 3"
    done
}

@test "pool_fetch with both pools prints process use time and thread use time" {
    run -0 timeout 60 "$WB_BIN/ch03/pool_fetch" -w 2 -n 4 -d 20
    no_sanitizer_report
    assert_equal "$(result_lines)" 8
    assert_line --regexp '^process use time: [0-9.]+ s$'
    assert_line --regexp '^thread use time: [0-9.]+ s$'
    assert_line --regexp '^used time: [0-9.]+ s$'
    assert_line --regexp '^timeline: 8 tasks'
}

@test "queue: two children put a message each, the parent gets both" {
    run -0 timeout 20 "$WB_BIN/ch03/queue"
    no_sanitizer_report
    assert_line "[12, None, 'hello']"
    assert_line "[24, None, 'hello']"
    assert_equal "${#lines[@]}" 3
    assert_line --regexp '^used time: [0-9.]+ s$'
    # 4092 bytes and the 4-byte length: a write of exactly PIPE_BUF, never mixed.
    run -0 timeout 20 "$WB_BIN/ch03/queue" -s 4092
    no_sanitizer_report
    assert_line "[12, None, 'hello'] + 4073 bytes of padding"
    assert_line "[24, None, 'hello'] + 4073 bytes of padding"
}

@test "green_fetch runs all ten fetches at once, on one OS thread" {
    left_out green_fetch && skip "green_fetch is not run under TSan (see the top of this file)"
    run -0 "${GREEN[@]}" timeout 60 "$WB_BIN/ch03/green_fetch" -d "$D"
    no_sanitizer_report
    assert_equal "$(result_lines)" 10
    assert_line --regexp '^used time: [0-9.]+ s$'
    assert_equal "$(grep -oE '\(OS thread [0-9]+\)$' <<<"$output" | sort -u | wc -l)" 1
    assert_equal "$(grep -cE '\(OS thread [0-9]+\)$' <<<"$output")" 10
    assert_equal "$(lab_stat peak)" 10
}

# A green thread's guard page costs the process two memory mappings, and the
# kernel allows vm.max_map_count of them (65530 by default): past about half
# that, green_fetch refuses before it maps a stack, instead of dying in
# mprotect() halfway through. Half the limit is refused whatever else the
# process has mapped; nothing is spawned, so the test stays cheap.
@test "green_fetch refuses more green threads than vm.max_map_count allows, in one line" {
    left_out green_fetch && skip "green_fetch is not run under TSan (see the top of this file)"
    local limit n
    limit=$(cat /proc/sys/vm/max_map_count 2>/dev/null) || skip "no /proc/sys/vm/max_map_count"
    n=$((limit / 2))
    [ "$n" -le 100000 ] || skip "vm.max_map_count is $limit: more than -n allows (100000)"
    run --separate-stderr -1 "${GREEN[@]}" timeout 60 "$WB_BIN/ch03/green_fetch" -q -n "$n"
    no_sanitizer_report
    assert_equal "$output" ""
    assert_equal "$(real_stderr | wc -l)" 1
    assert_stderr_contains "green_fetch: $n green threads need $((2 * n)) memory mappings"
    assert_stderr_contains "and vm.max_map_count is $limit: at most "
    assert_equal "$(lab_stat served)" 0 # no fetch at all
}

@test "green_fetch fails a URL too long for its request buffer, and fetches the others" {
    left_out green_fetch && skip "green_fetch is not run under TSan (see the top of this file)"
    local long
    long=$(printf 'x%.0s' $(seq 1 3000))
    run --separate-stderr -1 "${GREEN[@]}" timeout 30 "$WB_BIN/ch03/green_fetch" -q \
        "$LAB_URL/bytes/100?$long" "$LAB_URL/bytes/200"
    no_sanitizer_report
    assert_line --regexp '^\[1\] 200 bytes in '
    refute_line --regexp '^\[0\] '
    assert_stderr_contains ": URL too long"
}

@test "green_fetch fails a body shorter than its Content-Length, as libcurl does" {
    left_out green_fetch && skip "green_fetch is not run under TSan (see the top of this file)"
    odd_start
    run --separate-stderr -1 "${GREEN[@]}" timeout 30 "$WB_BIN/ch03/green_fetch" -q \
        "$ODD_URL/short" "$LAB_URL/bytes/100"
    no_sanitizer_report
    refute_line --regexp '^\[0\] '
    assert_line --regexp '^\[1\] 100 bytes in '
    assert_equal "$(real_stderr)" \
        "green_fetch: $ODD_URL/short: transfer closed with 95 bytes remaining to read"
    # what the libcurl programs say
    run --separate-stderr -1 timeout 30 "$WB_BIN/ch03/sequential_fetch" -q "$ODD_URL/short"
    assert_stderr_contains "sequential_fetch: $ODD_URL/short: transfer closed with 95 bytes remaining"
}

@test "green_fetch says a header too long for it is too long, not that it is not HTTP" {
    left_out green_fetch && skip "green_fetch is not run under TSan (see the top of this file)"
    odd_start
    run --separate-stderr -1 "${GREEN[@]}" timeout 30 "$WB_BIN/ch03/green_fetch" -q \
        "$ODD_URL/long-header" "$LAB_URL/bytes/100"
    no_sanitizer_report
    refute_line --regexp '^\[0\] '
    assert_line --regexp '^\[1\] 100 bytes in '
    assert_equal "$(real_stderr)" "green_fetch: $ODD_URL/long-header: header too long"
}

@test "green_fetch names a port out of range as a bad port, not a bad URL" {
    left_out green_fetch && skip "green_fetch is not run under TSan (see the top of this file)"
    run --separate-stderr -1 "${GREEN[@]}" timeout 30 "$WB_BIN/ch03/green_fetch" -q \
        "http://127.0.0.1:99999/" "http://127.0.0.1:http/" "http://:80/" "$LAB_URL/bytes/100"
    no_sanitizer_report
    assert_line --regexp '^\[3\] 100 bytes in '
    assert_equal "$(result_lines)" 1
    assert_equal "$(real_stderr)" "green_fetch: http://127.0.0.1:99999/: bad port: not a number from 1 to 65535
green_fetch: http://127.0.0.1:http/: bad port: not a number from 1 to 65535
green_fetch: http://:80/: not an http:// URL"
}

@test "sequential_fetch takes at least 5 times as long as thread_fetch over ten 200 ms pages" {
    skip_under_sanitizer
    local seq thr try
    # ideally 10 times (2 s against 0.2 s); on a busy machine, the best of three
    for try in 1 2 3; do
        seq=$(elapsed_ms timeout 60 "$WB_BIN/ch03/sequential_fetch" -q -d 200)
        thr=$(elapsed_ms timeout 60 "$WB_BIN/ch03/thread_fetch" -q -d 200)
        echo "try $try: sequential ${seq} ms, threads ${thr} ms"
        [ "$seq" -ge $((5 * thr)) ] && return 0
    done
    return 1
}

@test "a refused connection and a 404 fail alone: the good pages still come, exit 1" {
    local closed
    closed=$(closed_port)
    for p in "${FETCHERS[@]}"; do
        left_out "$p" && continue
        run --separate-stderr -1 timeout 60 "$WB_BIN/ch03/$p" -q "$LAB_URL/delay/10?i=0" \
            "http://127.0.0.1:$closed/" "$LAB_URL/status/404" "$LAB_URL/bytes/100"
        no_sanitizer_report
        assert_line --regexp '^\[0\] [0-9]+ bytes in [0-9.]+ s  '
        assert_line --regexp '^\[3\] 100 bytes in [0-9.]+ s  '
        refute_line --regexp '^\[[12]\] '
        assert_stderr_contains "$p: http://127.0.0.1:$closed/: "
        assert_stderr_contains "$p: $LAB_URL/status/404: "
        assert_line --regexp 'used time: [0-9.]+ s$'
    done
}

@test "with no lab server, each fetch program says so in one line, and nothing else" {
    local closed
    closed=$(closed_port)
    for p in "${FETCHERS[@]}"; do
        left_out "$p" && continue
        LAB_URL="http://127.0.0.1:$closed" run --separate-stderr -1 \
            timeout 60 "$WB_BIN/ch03/$p" -n 2
        no_sanitizer_report
        assert_equal "$output" ""
        assert_equal "$(wc -l <<<"$stderr")" 1
        assert_stderr_contains "$p: no lab server answers at http://127.0.0.1:$closed"
        assert_stderr_contains "make serve"
    done
}

@test "a failed fetch among good ones is drawn with its own mark, and the legend says so" {
    local closed
    closed=$(closed_port)
    for p in "${FETCHERS[@]}"; do
        left_out "$p" && continue
        local opts=()
        [ "$p" != pool_fetch ] || opts=(-w 2)
        LC_ALL=C run --separate-stderr -1 timeout 60 "$WB_BIN/ch03/$p" "${opts[@]}" \
            "$LAB_URL/delay/20?i=0" "http://127.0.0.1:$closed/" "$LAB_URL/delay/20?i=2"
        no_sanitizer_report
        assert_stderr_contains "$p: http://127.0.0.1:$closed/: "
        # pool_fetch runs both pools: the three tasks twice, rows 0-2 and 3-5
        local failed=1 rows="1"
        [ "$p" != pool_fetch ] || { failed=2 rows="1 4"; }
        assert_line --regexp "^timeline: .*; # ran, x failed \($failed\)$"
        local r
        for r in $rows; do
            assert_line --regexp "^ +$r \.*x+\.*$"
        done
        assert_line --regexp '^ +0 \.*#+\.*$'
        assert_line --regexp '^ +2 \.*#+\.*$'
    done
}

@test "green_switch: green threads take turns on one OS thread, each keeping its own count" {
    left_out green_switch && skip "green_switch is not run under TSan (see the top of this file)"
    run --separate-stderr -0 "${GREEN[@]}" timeout 30 "$WB_BIN/ch03/green_switch" -n 3 -s 2
    no_sanitizer_report
    assert_equal "$(grep -oE '^\[green [0-9]+\] step [0-9]+ of 2' <<<"$output" | tr '\n' ',')" \
        "[green 0] step 1 of 2,[green 1] step 1 of 2,[green 2] step 1 of 2,[green 0] step 2 of 2,[green 1] step 2 of 2,[green 2] step 2 of 2,"
    assert_line --regexp '^hub: 3 green threads took 6 turns, all on OS thread [0-9]+$'
    # every line names the same OS thread, the hub's
    assert_equal "$(grep -oE 'OS thread [0-9]+' <<<"$output" | sort -u | wc -l)" 1
    # many green threads, many turns: still in rounds, still one OS thread
    run --separate-stderr -0 "${GREEN[@]}" timeout 60 "$WB_BIN/ch03/green_switch" -n 200 -s 3
    no_sanitizer_report
    assert_line --regexp '^hub: 200 green threads took 600 turns, all on OS thread [0-9]+$'
    assert_equal "$(sed -n '201p' <<<"$output" | cut -d' ' -f1-4)" "[green 0] step 2"
    assert_equal "$(grep -oE 'OS thread [0-9]+' <<<"$output" | sort -u | wc -l)" 1
}

@test "a thousand URLs through thread_fetch, process_fetch and green_fetch, without one error" {
    local n=1000
    [ -z "$WB_SAN" ] || n=100 # the sanitizers' memory and time per thread and process
    for p in thread_fetch process_fetch green_fetch; do
        left_out "$p" && continue
        run --separate-stderr -0 "${GREEN[@]}" timeout 120 "$WB_BIN/ch03/$p" -q -n "$n" -d 100
        no_sanitizer_report
        assert_equal "$(result_lines)" "$n"
        assert_equal "$(real_stderr)" ""
    done
}

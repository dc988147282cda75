#!/usr/bin/env bats
# ch05: the road of asynchronous I/O, from blocking sockets to select, an
# epoll event loop with callbacks and futures, and libcurl's multi interface,
# checked against a private lab server. Concurrency is read off the server's peak
# counter; CPU time and wall time come from the programs' own output.
# (simple_coroutine, producer_consumer, event_loop_hello and
# coroutine_crawler have their suite in ch05_coroutines.bats.) The modules
# blocking_get.c (blocking_way, process_way, thread_way), nb_fetch.c
# (select_crawler, callback_crawler), cb_loop.c (callback_loop) and
# easy_transfer.c (multi_fetch) are tested through those programs.

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
    PROGS=(blocking_way process_way thread_way nonblocking_way select_crawler
        callback_crawler multi_fetch)
}

# A number from the program's own output: `cpu` or `wall` from its line
# "cpu time: C s (wall W s)", or `used` from "used time: U s".
reported() {
    case $1 in
    cpu) sed -nE 's/^cpu time: ([0-9.]+) s \(wall [0-9.]+ s\)$/\1/p' <<<"$output" ;;
    wall) sed -nE 's/^cpu time: [0-9.]+ s \(wall ([0-9.]+) s\)$/\1/p' <<<"$output" ;;
    used) sed -nE 's/^used time: ([0-9.]+) s$/\1/p' <<<"$output" ;;
    esac
}

# True if the awk comparison holds, e.g. holds "2.1 >= 0.5 * 4".
holds() { awk "BEGIN { exit !($1) }"; }

# Every result line is "[i] N bytes in S s  URL"; count them.
result_lines() { grep -cE '^\[[0-9]+\] [0-9]+ bytes in [0-9.]+ s  ' <<<"$output" || true; }

# ---- one at a time ----------------------------------------------------------

@test "blocking_way fetches one URL after another" {
    run -0 timeout 20 "$WB_BIN/ch05/blocking_way" -q -d 50
    no_sanitizer_report
    assert_equal "$(result_lines)" 10
    assert_line --index 10 --regexp '^cpu time: [0-9.]+ s \(wall [0-9.]+ s\)$'
    assert_line --index 11 --regexp '^used time: [0-9.]+ s$'
    assert_equal "${#lines[@]}" 12 # with -q, used time is the last line
    assert_equal "$(lab_stat peak)" 1
    assert_equal "$(lab_stat served)" 10
}

@test "nonblocking_way is still one at a time, and spins a core while it waits" {
    run -0 timeout 20 "$WB_BIN/ch05/nonblocking_way" -q -d 50
    no_sanitizer_report
    assert_equal "$(result_lines)" 10
    assert_equal "$(lab_stat peak)" 1
    # A loop that asks again and again hears "not yet" thousands of times
    # while a page is on its way; one that slept would not ask at all.
    assert_line --regexp '^wasted calls: [0-9]+ answered "not yet" \(connect [0-9]+, send [0-9]+, recv [0-9]{4,}\)$'
    skip_under_sanitizer "CPU time against blocking_way's"
    # Beside blocking_way, run just after it on the same machine: the sleeper
    # uses almost no CPU, the spinner whatever share of a core it is given,
    # which on a busy machine may be well under half, hence the wide margin.
    local spin_cpu sleep_cpu
    spin_cpu=$(reported cpu)
    run -0 timeout 20 "$WB_BIN/ch05/blocking_way" -q -d 50
    sleep_cpu=$(reported cpu)
    holds "$spin_cpu >= 10 * $sleep_cpu + 0.05" ||
        fail "nonblocking_way used $spin_cpu s of CPU, blocking_way $sleep_cpu s: no spinning to see"
}

# ---- all at once ------------------------------------------------------------

@test "process_way runs all ten fetches at once in forked workers" {
    run -0 timeout 20 "$WB_BIN/ch05/process_way" -q -d 300
    no_sanitizer_report
    assert_equal "$(result_lines)" 10
    assert_line --index 0 --regexp '^\[0\] ' # results come in the order of the URLs
    assert_line --index 9 --regexp '^\[9\] '
    assert_equal "$(lab_stat peak)" 10
}

@test "process_way -w 3 never has more than three fetches at once" {
    run -0 timeout 20 "$WB_BIN/ch05/process_way" -q -d 100 -w 3
    no_sanitizer_report
    assert_equal "$(result_lines)" 10
    assert_equal "$(lab_stat peak)" 3
}

@test "thread_way -w 3 never has more than three fetches at once" {
    run -0 timeout 20 "$WB_BIN/ch05/thread_way" -q -d 100 -w 3
    no_sanitizer_report
    assert_equal "$(result_lines)" 10
    assert_line --index 0 --regexp '^\[0\] ' # still in the order of the URLs
    assert_line --index 9 --regexp '^\[9\] '
    assert_equal "$(lab_stat peak)" 3
}

@test "thread_way runs all ten fetches at once in a pool of threads" {
    run -0 timeout 20 "$WB_BIN/ch05/thread_way" -q -d 300
    no_sanitizer_report
    assert_equal "$(result_lines)" 10
    assert_line --index 0 --regexp '^\[0\] '
    assert_line --index 9 --regexp '^\[9\] '
    assert_equal "$(lab_stat peak)" 10
}

@test "select_crawler runs all ten at once in one thread, and its CPU time stays small" {
    run -0 timeout 20 "$WB_BIN/ch05/select_crawler" -q -d 300
    no_sanitizer_report
    assert_equal "$(result_lines)" 10
    assert_line --index 11 --regexp '^used time: [0-9.]+ s$'
    assert_equal "$(lab_stat peak)" 10
    skip_under_sanitizer "CPU time against wall time"
    local cpu wall
    cpu=$(reported cpu) wall=$(reported wall)
    holds "$cpu < $wall / 5" || fail "cpu time $cpu s is not under a fifth of wall time $wall s"
}

@test "callback_crawler runs all ten at once on its epoll loop" {
    run -0 timeout 20 "$WB_BIN/ch05/callback_crawler" -q -d 300
    no_sanitizer_report
    assert_equal "$(result_lines)" 10
    assert_equal "$(lab_stat peak)" 10
}

@test "callback_loop calls each timer back when it is due, not in the order they were registered" {
    run --separate-stderr -0 timeout 20 "$WB_BIN/ch05/callback_loop" -n 3 -d 100
    no_sanitizer_report
    assert_line --index 0 --regexp '^timer 2 fired after 0\.[0-9]{3} s \(set for 100 ms\)$'
    assert_line --index 1 --regexp '^timer 1 fired after 0\.[0-9]{3} s \(set for 200 ms\)$'
    assert_line --index 2 --regexp '^timer 0 fired after 0\.[0-9]{3} s \(set for 300 ms\)$'
    assert_line --index 3 --regexp '^used time: [0-9.]+ s$'
    assert_equal "${#lines[@]}" 4
    assert_equal "$stderr" ""
}

@test "callback_loop waits for all its timers at once: the last is due at 0.5 s, not 1.5 s" {
    run -0 timeout 20 "$WB_BIN/ch05/callback_loop" -n 5 -d 100
    no_sanitizer_report
    assert_line --index 0 --regexp '^timer 4 '
    assert_line --index 4 --regexp '^timer 0 '
    # one after another the waits would add up to 100 + 200 + ... + 500 ms
    holds "$(reported used) >= 0.5 && $(reported used) < 1.5" ||
        fail "used time $(reported used) s, expected from 0.5 s to under 1.5 s"
}

@test "multi_fetch runs all ten at once through libcurl's multi interface" {
    run -0 timeout 20 "$WB_BIN/ch05/multi_fetch" -q -d 300
    no_sanitizer_report
    assert_equal "$(result_lines)" 10
    assert_equal "$(lab_stat peak)" 10
}

@test "multi_fetch -c 4 never has more than four transfers at once" {
    run -0 timeout 20 "$WB_BIN/ch05/multi_fetch" -q -d 100 -c 4
    no_sanitizer_report
    assert_equal "$(result_lines)" 10
    assert_equal "$(lab_stat peak)" 4
}

@test "multi_fetch fails a URL answered with an HTTP error status, as ch03's libcurl programs do" {
    run -1 --separate-stderr timeout 20 "$WB_BIN/ch05/multi_fetch" -q \
        "$LAB_URL/status/404" "$LAB_URL/status/500" "$LAB_URL/bytes/3"
    no_sanitizer_report
    assert_equal "$(result_lines)" 1
    assert_line --regexp '^\[2\] [0-9]+ bytes in '
    assert_stderr_contains "multi_fetch: $LAB_URL/status/404: The requested URL returned error: 404"
    assert_stderr_contains "multi_fetch: $LAB_URL/status/500: The requested URL returned error: 500"
}

@test "multi_fetch speaks http only: other schemes fail at once, the lab's URL still works" {
    run -1 --separate-stderr timeout 20 "$WB_BIN/ch05/multi_fetch" -q \
        https://127.0.0.1:1/x file:///etc/hostname "$LAB_URL/bytes/3"
    no_sanitizer_report
    assert_equal "$(result_lines)" 1
    assert_line --regexp '^\[2\] [0-9]+ bytes in '
    assert_stderr_contains 'https://127.0.0.1:1/x: Protocol "https" not supported'
    assert_stderr_contains 'file:///etc/hostname: Protocol "file" not supported'
}

@test "without -q the results are followed by the timeline" {
    run -0 timeout 20 "$WB_BIN/ch05/select_crawler" -d 50 -n 3
    no_sanitizer_report
    assert_line --index 4 --regexp '^used time: [0-9.]+ s$'
    assert_line --index 5 --regexp '^timeline: 3 tasks, one column = [0-9.]+ ms$'
}

# ---- scale ------------------------------------------------------------------

# 2,000 URLs of 500 ms each (300 under a sanitizer's slowdown).
scale_n() { if [ -z "$WB_SAN" ]; then echo 2000; else echo 300; fi; }

# The last run took ten delays at most (5 s), not the 2,000 of one fetch after
# another (1,000 s); the margin is wide, since a busy machine with two
# sanitizer runs beside this one can stretch 0.6 s to 1.7 s. If it slowed the
# run further, run the program again, up to three tries in all.
scale_time_ok() {
    local prog=$1 try
    for try in 1 2 3; do
        [ "$try" -eq 1 ] || run -0 timeout 30 "$WB_BIN/ch05/$prog" -q -n 2000 -d 500
        holds "$(reported used) < 5" && return 0
    done
    fail "$prog: used time $(reported used) s, expected under 5 s, ten delays (three tries)"
}

@test "callback_crawler fetches 2,000 slow URLs at once: a peak of 2,000, ten delays at most" {
    local n
    n=$(scale_n)
    run -0 timeout 30 "$WB_BIN/ch05/callback_crawler" -q -n "$n" -d 500
    no_sanitizer_report
    assert_equal "$(result_lines)" "$n"
    assert_equal "$(lab_stat peak)" "$n"
    skip_under_sanitizer "wall time of the scale run"
    scale_time_ok callback_crawler
}

@test "multi_fetch fetches 2,000 slow URLs at once: a peak of 2,000, ten delays at most" {
    local n
    n=$(scale_n)
    run -0 timeout 30 "$WB_BIN/ch05/multi_fetch" -q -n "$n" -d 500
    no_sanitizer_report
    assert_equal "$(result_lines)" "$n"
    assert_equal "$(lab_stat peak)" "$n"
    skip_under_sanitizer "wall time of the scale run"
    scale_time_ok multi_fetch
}

@test "select_crawler -n 2000 stops cleanly at FD_SETSIZE instead of overflowing an fd_set" {
    run --separate-stderr -1 timeout 30 "$WB_BIN/ch05/select_crawler" -q -n 2000
    no_sanitizer_report
    assert_stderr_contains "at or above FD_SETSIZE (1024)"
    assert_stderr_contains "poll() and epoll have no such limit"
    assert_equal "$output" "" # no results, no used time: the run was refused
}

@test "select_crawler under a hard open-file limit of 1024 says once that it ran out before FD_SETSIZE" {
    local hard
    hard=$(ulimit -Hn)
    [ "$hard" = unlimited ] || [ "$hard" -ge 1024 ] || skip "the hard open-file limit is below 1024"
    # Both limits at 1024 for this run only: socket() fails (EMFILE) at the
    # 1022nd socket or so, before any descriptor reaches FD_SETSIZE.
    run --separate-stderr -1 timeout 30 bash -c 'ulimit -n 1024 && exec "$0" -q -n 1100' \
        "$WB_BIN/ch05/select_crawler"
    no_sanitizer_report
    assert_equal "$output" "" # no results, no used time: the run stopped
    assert_stderr_contains "the open-file limit (1024) stops the run before select()'s FD_SETSIZE (1024) does"
    # the one socket that could not be made, and why: not a line per URL left
    [ "${#stderr_lines[@]}" -le 2 ] ||
        fail "${#stderr_lines[@]} lines on stderr, expected at most 2: ${stderr_lines[*]:0:3}"
}

# ---- failures ---------------------------------------------------------------

@test "a refused port and a silent server are reported; the good URLs still print; exit 1" {
    local port dir=$BATS_TEST_TMPDIR p pids=()
    port=$(closed_port)
    # All seven at once, so the one-second timeouts overlap.
    for p in "${PROGS[@]}"; do
        timeout 20 "$WB_BIN/ch05/$p" -q -t 1 "$LAB_URL/delay/10" "127.0.0.1:$port/" \
            "$LAB_URL/hang" "${LAB_URL#http://}/bytes/5000" \
            >"$dir/$p.out" 2>"$dir/$p.err" 3>&- &
        pids+=($!)
    done
    local i rc
    for i in "${!PROGS[@]}"; do
        p=${PROGS[$i]} rc=0
        wait "${pids[$i]}" || rc=$?
        output=$(cat "$dir/$p.out") stderr=$(cat "$dir/$p.err")
        mapfile -t lines <"$dir/$p.out"
        no_sanitizer_report
        [ "$rc" -eq 1 ] || fail "$p exited with $rc, expected 1; stderr: $stderr"
        assert_line --regexp '^\[0\] [0-9]+ bytes in [0-9.]+ s  http://127\.0\.0\.1:[0-9]+/delay/10$'
        assert_line --regexp '^\[3\] 5[0-9]{3} bytes in [0-9.]+ s  127\.0\.0\.1:[0-9]+/bytes/5000$'
        assert_stderr_contains "$p: 127.0.0.1:$port/: "
        assert_stderr_contains "$p: $LAB_URL/hang: "
        assert_equal "$(result_lines)" 2
    done
}

@test "when -t runs out, select_crawler and callback_crawler name their own limit, not a network fault" {
    local p
    for p in select_crawler callback_crawler; do
        run --separate-stderr -1 timeout 20 "$WB_BIN/ch05/$p" -q -t 2 \
            "$LAB_URL/hang" "$LAB_URL/delay/10"
        no_sanitizer_report
        assert_equal "$(result_lines)" 1
        assert_line --index 0 --regexp '^\[1\] [0-9]+ bytes in '
        assert_equal "$stderr" "$p: $LAB_URL/hang: no complete answer within 2 s (-t)"
    done
}

@test "with no lab server, the README's first command says in one line how to start one" {
    local p address
    address="http://127.0.0.1:$(closed_port)"
    export LAB_URL=$address
    # ./ch05/select_crawler first, as the README has it, then every other one
    for p in select_crawler "${PROGS[@]}"; do
        run --separate-stderr -1 timeout 20 "$WB_BIN/ch05/$p"
        no_sanitizer_report
        assert_equal "$output" "" # no result lines, no used time, no timeline
        assert_equal "${#stderr_lines[@]}" 1
        assert_stderr_contains "$p: no lab server answers at $address"
        assert_stderr_contains "make serve"
    done
}

@test "in a mixed run the failed fetch gets its own mark in the timeline, and the exit is 1" {
    local p port
    port=$(closed_port)
    for p in "${PROGS[@]}"; do
        LC_ALL=C run --separate-stderr -1 timeout 20 "$WB_BIN/ch05/$p" \
            "$LAB_URL/delay/50?i=0" "127.0.0.1:$port/" "$LAB_URL/delay/50?i=2"
        no_sanitizer_report
        assert_equal "$(result_lines)" 2
        assert_stderr_contains "$p: 127.0.0.1:$port/: "
        # the legend names both marks; the failed row has only x and dots
        assert_line --regexp '^timeline: 3 tasks, one column = [0-9.]+ ms; # ran, x failed \(1\)$'
        assert_line --regexp '^    0 [.#]*#[.#]*$'
        assert_line --regexp '^    1 [.x]*x[.x]*$'
        assert_line --regexp '^    2 [.#]*#[.#]*$'
    done
}

@test "--help explains and exits 0; a bad option prints the usage and exits 2" {
    local p
    for p in "${PROGS[@]}" callback_loop; do
        run -0 timeout 5 "$WB_BIN/ch05/$p" --help
        assert_line --index 0 --regexp "^Usage: $p "
        # one option a line, as coroutine_crawler and the timer programs have it
        assert_line --regexp '^  -n N +[a-z]'
        assert_line --regexp '^  -d MS +[a-z]'
        run --separate-stderr -2 timeout 5 "$WB_BIN/ch05/$p" --bogus
        assert_stderr_contains "Usage: $p "
        run --separate-stderr -2 timeout 5 "$WB_BIN/ch05/$p" -n 0
        assert_stderr_contains "-n"
    done
    for p in "${PROGS[@]}"; do
        run -0 timeout 5 "$WB_BIN/ch05/$p" --help
        assert_line --regexp '^  -t SECONDS +[a-z]'
        assert_line --regexp '^  -q +[a-z]'
        run --separate-stderr -2 timeout 5 "$WB_BIN/ch05/$p" -t 0
        assert_stderr_contains "-t"
    done
}

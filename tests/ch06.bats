#!/usr/bin/env bats
# ch06: the questions after the talk, each answered by a measurement. How the
# cost of one wake-up grows with select, poll and epoll; libcurl's socket
# interface and a loop per core fetching thousands of slow URLs at once (the
# lab server's peak counter proves it); and the comparison of every model,
# which writes a CSV and, with gnuplot, an SVG. Structural checks only: the
# one comparison of costs is a ratio of ratios within a single run.

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

# True if the awk comparison holds, e.g. holds "2.1 >= 0.5 * 4".
holds() { awk "BEGIN { exit !($1) }"; }

# Every result line is "[i] N bytes in S s  URL"; count them.
result_lines() { grep -cE '^\[[0-9]+\] [0-9]+ bytes in [0-9.]+ s  ' <<<"$output" || true; }

# ---- fd_scaling -------------------------------------------------------------

# The microseconds fd_scaling printed for one method at one N.
cost() { awk -v m="$1" -v n="$2" '$1 == m && $2 == n { print $3 }' <<<"$output"; }

@test "fd_scaling times every method at N = 10 to 10,000 and select stops at FD_SETSIZE" {
    run --separate-stderr -0 timeout 60 "$WB_BIN/ch06/fd_scaling"
    no_sanitizer_report
    local m n
    for n in 10 100 1000 10000; do
        for m in poll epoll; do
            assert_line --regexp "^$m +$n +[0-9]+\.[0-9]+  #+$"
        done
    done
    for n in 10 100 1000; do
        assert_line --regexp "^select +$n +[0-9]+\.[0-9]+  #+$"
    done
    assert_line --regexp '^select +10000 +refused  descriptor [0-9]+ is past FD_SETSIZE \(1024\), the size of select\(\)'"'"'s bitmap$'
    assert_line --regexp '^poll +grows x [0-9.]+ from N = 10 to N = 10000$'
    assert_line --regexp '^select grows x [0-9.]+ from N = 10 to N = 1000$'
}

@test "fd_scaling: from N = 100 to 10,000 epoll's cost grows far less than poll's" {
    run -0 timeout 60 "$WB_BIN/ch06/fd_scaling" -q
    no_sanitizer_report
    local poll_growth epoll_growth
    poll_growth=$(awk "BEGIN { print $(cost poll 10000) / $(cost poll 100) }")
    epoll_growth=$(awk "BEGIN { print $(cost epoll 10000) / $(cost epoll 100) }")
    # poll walks 100 times as many descriptors; epoll hands back the one ready
    holds "$poll_growth > 5 * $epoll_growth" ||
        fail "poll grew x $poll_growth and epoll x $epoll_growth: expected poll's growth over 5 times epoll's"
}

@test "fd_scaling says how far it can go when the open-file limit is low" {
    run --separate-stderr -0 timeout 60 bash -c "ulimit -n 600 && exec '$WB_BIN/ch06/fd_scaling' -q"
    no_sanitizer_report
    assert_stderr_contains "the open-file limit is 600, so N stops at 584"
    assert_line --regexp '^epoll +584 +[0-9.]+$'
}

# ---- multi_socket_fetch and loop_per_core: thousands at once ------------------

# 2,000 URLs of 500 ms; a sanitizer's slower start-up gets 1.5 s, so that every
# fetch is still waiting when the last one arrives.
scale_delay() { if [ -z "$WB_SAN" ]; then echo 500; else echo 1500; fi; }

@test "multi_socket_fetch fetches 2,000 slow URLs at once through libcurl's socket interface" {
    run -0 timeout 60 "$WB_BIN/ch06/multi_socket_fetch" -q -n 2000 -d "$(scale_delay)"
    no_sanitizer_report
    assert_equal "$(result_lines)" 2000
    assert_line --regexp '^used time: [0-9.]+ s$'
    assert_equal "$(lab_stat peak)" 2000
}

@test "multi_socket_fetch --max 4 never has more than four transfers at once" {
    run -0 timeout 20 "$WB_BIN/ch06/multi_socket_fetch" -q -d 100 --max 4
    no_sanitizer_report
    assert_equal "$(result_lines)" 10
    assert_equal "$(lab_stat peak)" 4
}

@test "loop_per_core fetches 2,000 slow URLs at once, dealt out among its loops" {
    run -0 timeout 60 "$WB_BIN/ch06/loop_per_core" -q -w 2 -n 2000 -d "$(scale_delay)"
    no_sanitizer_report
    assert_equal "$(result_lines)" 2000
    assert_line 'loop 0 served 1000 URLs, 0 failed'
    assert_line 'loop 1 served 1000 URLs, 0 failed'
    assert_equal "$(lab_stat peak)" 2000
}

@test "loop_per_core -w 3 runs as many loops as it says: three threads beside main" {
    local out=$BATS_TEST_TMPDIR/out pid child="" threads
    timeout 30 "$WB_BIN/ch06/loop_per_core" -q -w 3 -n 30 -d 2000 >"$out" 2>&1 3>&- &
    pid=$!
    # when the lab server holds all thirty requests, every loop is under way
    for _ in $(seq 200); do
        [ "$(lab_stat active)" = 30 ] && break
        sleep 0.05
    done
    child=$(tr -d " \n" </proc/"$pid"/task/"$pid"/children) # timeout's one child
    threads=$(awk '/^Threads:/ { print $2 }' /proc/"$child"/status)
    wait "$pid"
    output=$(cat "$out")
    no_sanitizer_report
    # the thread sanitizer keeps one thread of its own
    if [ "$WB_SAN" = tsan ]; then threads=$((threads - 1)); fi
    assert_equal "$threads" 4
    run -0 grep -cE '^loop [0-2] served 10 URLs, 0 failed$' "$out"
    assert_output 3
}

@test "the default is one loop per online CPU" {
    run -0 timeout 20 "$WB_BIN/ch06/loop_per_core" -q -n 40 -d 50
    no_sanitizer_report
    assert_equal "$(grep -c '^loop [0-9]* served' <<<"$output")" "$(nproc)"
}

# ---- what both crawlers share with chapter 5 ------------------------------------

CRAWLERS=(multi_socket_fetch loop_per_core)

@test "a refused port, a silent server and a bad URL are reported; the good URLs still print; exit 1" {
    local port p
    port=$(closed_port)
    for p in "${CRAWLERS[@]}"; do
        run --separate-stderr -1 timeout 20 "$WB_BIN/ch06/$p" -q -t 1 "$LAB_URL/delay/10" \
            "127.0.0.1:$port/" "$LAB_URL/hang" "${LAB_URL#http://}/bytes/5000" "nope://x"
        no_sanitizer_report
        assert_line --regexp '^\[0\] [0-9]+ bytes in [0-9.]+ s  http://127\.0\.0\.1:[0-9]+/delay/10$'
        assert_line --regexp '^\[3\] 5[0-9]{3} bytes in [0-9.]+ s  127\.0\.0\.1:[0-9]+/bytes/5000$'
        assert_stderr_contains "$p: 127.0.0.1:$port/: "
        assert_stderr_contains "$p: $LAB_URL/hang: "
        assert_stderr_contains "$p: nope://x: "
        assert_equal "$(result_lines)" 2
    done
}

@test "with no lab server both say how to start one, and exit 1 before any result" {
    local p
    LAB_URL="http://127.0.0.1:$(closed_port)"
    export LAB_URL
    for p in "${CRAWLERS[@]}"; do
        run --separate-stderr -1 timeout 20 "$WB_BIN/ch06/$p" -n 2
        no_sanitizer_report
        assert_stderr_contains "make serve"
        assert_equal "$output" ""
    done
}

@test "--help explains and exits 0; a bad option prints the usage and exits 2" {
    local p
    for p in fd_scaling "${CRAWLERS[@]}"; do
        run -0 timeout 5 "$WB_BIN/ch06/$p" --help
        assert_line --index 0 --regexp "^Usage: $p "
        run --separate-stderr -2 timeout 5 "$WB_BIN/ch06/$p" --bogus
        assert_stderr_contains "Usage: $p "
    done
    run --separate-stderr -2 timeout 5 "$WB_BIN/ch06/loop_per_core" -w 0
    assert_stderr_contains "-w"
    run --separate-stderr -2 timeout 5 "$WB_BIN/ch06/multi_socket_fetch" --max 0
    assert_stderr_contains "-c"
}

# ---- compare_models -------------------------------------------------------------

# The models compare_models knows, as its CSV names them: "name,language".
C_MODELS=(thread_per_url process_pool thread_pool select epoll_callbacks coroutines
    green_threads curl_multi curl_multi_socket loop_per_core)
PY_MODELS=(sequential threads process_pool selectors asyncio)

@test "compare_models --small measures every model, C and Python, into a CSV and an SVG" {
    local dir=$BATS_TEST_TMPDIR/bench csv m skip=()
    # green threads switch stacks, which the thread sanitizer cannot follow (ch03)
    if [ "$WB_SAN" = tsan ]; then skip=(--skip green_threads); fi
    run timeout 150 "$WB_ROOT/chapters/ch06/compare_models" --small -d 200 --budget 5 \
        --out "$dir" "${skip[@]}"
    no_sanitizer_report
    [ "$status" -eq 0 ] || fail "compare_models exited with $status; its table: $output"
    csv=$dir/models.csv
    assert_line "the table as CSV: $csv"
    run -0 head -1 "$csv"
    assert_output "model,language,n,delay_ms,wall_s,beyond_s,cpu_s,rss_mb,group_rss_mb,threads,procs,lab_peak,lab_cpu_s,results,exit,note"

    # a row for every C model; those that ran fetched all fifty, each of the
    # event loops with all fifty requests at the lab server at once
    for m in "${C_MODELS[@]}"; do
        run -0 grep -c "^$m,C,50,200," "$csv"
        assert_output 1
    done
    for m in select epoll_callbacks coroutines curl_multi curl_multi_socket loop_per_core; do
        run -0 grep -E "^$m,C,50,200,[0-9.]+,[0-9.]+,[0-9.]+,[0-9.]+,[0-9.]+,[0-9]+,[0-9]+,50,[0-9.]+,50,0," "$csv"
    done

    # the Python retellings, when there is a python3; one at a time would take
    # 50 x 200 ms, over the 5 s budget, and its row says so
    if command -v python3 >/dev/null; then
        for m in "${PY_MODELS[@]}"; do
            run -0 grep -c "^$m,Python,50,200," "$csv"
            assert_output 1
        done
        run -0 grep -E '^asyncio,Python,50,200,[0-9.]+,.*,50,[0-9.]+,50,0,' "$csv"
        run -0 grep -F 'sequential,Python,50,200,,,,,,,,,,,,skipped: 50 rounds of 200 ms: over the budget of 5 s' "$csv"
    fi

    if ! command -v gnuplot >/dev/null; then
        skip "gnuplot is not installed: no SVG to check"
    fi
    [ -s "$dir/models.svg" ] || fail "no $dir/models.svg"
    if command -v python3 >/dev/null; then
        python3 -c 'import sys, xml.dom.minidom; xml.dom.minidom.parse(sys.argv[1])' "$dir/models.svg" ||
            fail "models.svg is not well-formed XML"
    fi
    grep -q '<svg' "$dir/models.svg" || fail "models.svg has no <svg> element"
}

# A thread per URL in C holds three descriptors (its connection and the
# socket pair of libcurl's curl_easy_perform): under a hard limit of 200,
# 100 URLs would need 300, and the row says so instead of failing fetches.
@test "compare_models skips a thread per URL that the open-file limit cannot hold, and says why" {
    local dir=$BATS_TEST_TMPDIR/bench others=() m
    for m in "${C_MODELS[@]}" "${PY_MODELS[@]}"; do
        [ "$m" = thread_per_url ] || others+=(--skip "$m")
    done
    run -0 timeout 60 bash -c 'ulimit -n 200 && exec "$@"' _ \
        "$WB_ROOT/chapters/ch06/compare_models" -n "10 100" -d 50 --out "$dir" "${others[@]}"
    run -0 grep -c '^thread_per_url,C,10,50,[0-9.]' "$dir/models.csv"
    assert_output 1
    run -0 grep -c '^thread_per_url,C,100,50,,,,,,,,,,,,skipped: an open-file limit: 300 descriptors (a connection and a socket pair a thread), the hard limit is 200$' "$dir/models.csv"
    assert_output 1
}

@test "compare_models --help explains; a bad option exits 2" {
    run -0 timeout 5 "$WB_ROOT/chapters/ch06/compare_models" --help
    assert_line --index 0 --regexp '^Usage: compare_models '
    run -2 timeout 5 "$WB_ROOT/chapters/ch06/compare_models" --bogus
}

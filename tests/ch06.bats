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
# A command a test left running (its PID in the file "command"), stopped.
teardown() {
    local pid
    pid=$(cat "$BATS_TEST_TMPDIR/command" 2>/dev/null) || return 0
    kill -KILL "$pid" 2>/dev/null || true
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

@test "fd_scaling stops with one line when the open-file limit cannot hold N = 10" {
    local limit
    for limit in 10 20; do
        run --separate-stderr -1 timeout 20 bash -c "ulimit -n $limit && exec '$WB_BIN/ch06/fd_scaling' -q"
        no_sanitizer_report
        assert_equal "$stderr" "fd_scaling: the smallest N, 10, needs an open-file limit of 26: Too many open files"
        assert_output ""
    done
}

# ---- multi_socket_fetch and loop_per_core: thousands at once ------------------

# 2,000 URLs of 500 ms; a sanitizer's slower start-up gets 1.5 s, so that every
# fetch is still waiting when the last one arrives.
scale_delay() { if [ -z "$WB_SAN" ]; then echo 500; else echo 1500; fi; }

@test "multi_socket_fetch fetches 2,000 slow URLs at once through libcurl's socket interface" {
    run -0 timeout 60 "$WB_BIN/ch06/multi_socket_fetch" -q -w 1 -n 2000 -d "$(scale_delay)"
    no_sanitizer_report
    assert_equal "$(result_lines)" 2000
    assert_line 'loop 0 served 2000 URLs, 0 failed'
    assert_line --regexp '^used time: [0-9.]+ s$'
    assert_equal "$(lab_stat peak)" 2000
}

@test "multi_socket_fetch -w 2 deals 2,000 slow URLs to two loops, all at once" {
    run -0 timeout 60 "$WB_BIN/ch06/multi_socket_fetch" -q -w 2 -n 2000 -d "$(scale_delay)"
    no_sanitizer_report
    assert_equal "$(result_lines)" 2000
    # every URL printed once: 0 to 1999, each loop's half
    assert_equal "$(grep -oE '^\[[0-9]+\]' <<<"$output" | sort -u | wc -l)" 2000
    assert_line 'loop 0 served 1000 URLs, 0 failed'
    assert_line 'loop 1 served 1000 URLs, 0 failed'
    assert_equal "$(lab_stat peak)" 2000
}

@test "multi_socket_fetch --max 4 never has more than four transfers at once, in one loop or three" {
    local w
    for w in 1 3; do
        lab_reset
        run -0 timeout 20 "$WB_BIN/ch06/multi_socket_fetch" -q -d "$(scale_delay)" -w "$w" --max 4
        no_sanitizer_report
        assert_equal "$(result_lines)" 10
        assert_equal "$(lab_stat peak)" 4
    done
    # one transfer at a time can keep only one loop busy
    run -0 timeout 20 "$WB_BIN/ch06/multi_socket_fetch" -q -n 3 -d 10 -w 4 --max 1
    no_sanitizer_report
    assert_line 'loop 0 served 3 URLs, 0 failed'
    assert_equal "$(grep -c '^loop [0-9]* served' <<<"$output")" 1
    # three at once over two loops: two for loop 0, one for loop 1, and the
    # URLs in the same proportion, so that both take the same rounds
    lab_reset
    run -0 timeout 20 "$WB_BIN/ch06/multi_socket_fetch" -q -n 6 -d "$(scale_delay)" -w 2 --max 3
    no_sanitizer_report
    assert_line 'loop 0 served 4 URLs, 0 failed'
    assert_line 'loop 1 served 2 URLs, 0 failed'
    assert_equal "$(lab_stat peak)" 3
}

@test "loop_per_core fetches 2,000 slow URLs at once, dealt out among its loops" {
    run -0 timeout 60 "$WB_BIN/ch06/loop_per_core" -q -w 2 -n 2000 -d "$(scale_delay)"
    no_sanitizer_report
    assert_equal "$(result_lines)" 2000
    assert_line 'loop 0 served 1000 URLs, 0 failed'
    assert_line 'loop 1 served 1000 URLs, 0 failed'
    assert_equal "$(lab_stat peak)" 2000
}

# Run $1 -w 3 on thirty slow URLs; while the lab holds them all, count the
# program's threads.
loops_are_threads() {
    local out=$BATS_TEST_TMPDIR/out pid child="" threads
    timeout 30 "$WB_BIN/ch06/$1" -q -w 3 -n 30 -d 2000 >"$out" 2>&1 3>&- &
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

@test "-w 3 runs as many loops as it says: three threads beside main" {
    local p
    for p in loop_per_core multi_socket_fetch; do
        lab_reset
        loops_are_threads "$p"
    done
}

@test "the default is one loop per CPU it may run on: taskset -c 0 makes it one" {
    local p
    for p in loop_per_core multi_socket_fetch; do
        run -0 timeout 20 "$WB_BIN/ch06/$p" -q -n 40 -d 50
        no_sanitizer_report
        assert_equal "$(grep -c '^loop [0-9]* served' <<<"$output")" "$(cpus_allowed)"
    done

    command -v taskset >/dev/null || skip "taskset is not installed (util-linux)"
    for p in loop_per_core multi_socket_fetch; do
        run -0 timeout 20 taskset -c 0 "$WB_BIN/ch06/$p" -q -n 40 -d 50
        no_sanitizer_report
        assert_line 'loop 0 served 40 URLs, 0 failed'
        assert_equal "$(grep -c '^loop [0-9]* served' <<<"$output")" 1
    done
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

@test "multi_socket_fetch speaks http only: other schemes fail at once, the lab's URL still works" {
    local https="https://${LAB_URL#http://}/delay/0"
    # -t 30 beyond timeout's 10 s: an https:// left to time out would fail
    run --separate-stderr -1 timeout 10 "$WB_BIN/ch06/multi_socket_fetch" -q -t 30 \
        "$https" file:///etc/hostname "$LAB_URL/bytes/3"
    no_sanitizer_report
    assert_equal "$(result_lines)" 1
    assert_line --regexp '^\[2\] [0-9]+ bytes in '
    assert_stderr_contains "multi_socket_fetch: $https: Unsupported protocol"
    assert_stderr_contains "multi_socket_fetch: file:///etc/hostname: Unsupported protocol"
}

@test "multi_socket_fetch fails a URL answered with an HTTP error status, as multi_fetch does" {
    run --separate-stderr -1 timeout 10 "$WB_BIN/ch06/multi_socket_fetch" -q \
        "$LAB_URL/status/404" "$LAB_URL/bytes/3"
    no_sanitizer_report
    assert_equal "$(result_lines)" 1
    assert_line --regexp '^\[1\] [0-9]+ bytes in '
    assert_stderr_contains "multi_socket_fetch: $LAB_URL/status/404: HTTP response code said error"
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
    for p in "${CRAWLERS[@]}"; do
        run --separate-stderr -2 timeout 5 "$WB_BIN/ch06/$p" -w 0
        assert_stderr_contains "$p: -w: '0' is not a number from 1 to 1024"
    done
    run --separate-stderr -2 timeout 5 "$WB_BIN/ch06/multi_socket_fetch" --max 0
    assert_stderr_contains "-c"
}

# ---- measure ------------------------------------------------------------------------

COST_LINE='^wall [0-9]+\.[0-9]{3} cpu [0-9]+\.[0-9]{3} maxrss_kb [0-9]+ threads [0-9]+ procs [0-9]+ tree_rss_kb [0-9]+ exit'

@test "measure prints what a command cost in one line and exits with its status" {
    run --separate-stderr -3 timeout 20 "$WB_BIN/ch06/measure" sh -c 'echo hello; exit 3'
    no_sanitizer_report
    assert_output hello
    [[ $stderr =~ $COST_LINE\ 3$ ]] || fail "not a cost line: $stderr"
    run --separate-stderr -127 timeout 20 "$WB_BIN/ch06/measure" ./no-such-command
    assert_stderr_contains "measure: ./no-such-command: No such file or directory"
}

@test "measure -o opens its file before the command runs: a bad path costs no run" {
    local dir=$BATS_TEST_TMPDIR
    run --separate-stderr -1 timeout 20 "$WB_BIN/ch06/measure" -o "$dir/no/such/file" touch "$dir/ran"
    no_sanitizer_report
    assert_equal "$stderr" "measure: $dir/no/such/file: No such file or directory"
    [ ! -e "$dir/ran" ] || fail "the command ran"
    run -0 timeout 20 "$WB_BIN/ch06/measure" -o "$dir/cost" true
    run -0 cat "$dir/cost"
    assert_output --regexp "$COST_LINE 0\$"
}

@test "measure --help explains and exits 0; no command or a bad option exits 2 with a line saying why" {
    run --separate-stderr -0 timeout 5 "$WB_BIN/ch06/measure" --help
    assert_line --index 0 'Usage: measure [-i MS] [-o FILE] COMMAND [ARG...]'
    assert_equal "$stderr" ""
    run --separate-stderr -2 timeout 5 "$WB_BIN/ch06/measure"
    assert_equal "$stderr" "measure: no command to run"$'\n'"Usage: measure [-i MS] [-o FILE] COMMAND [ARG...]"
    run --separate-stderr -2 timeout 5 "$WB_BIN/ch06/measure" --bogus true
    assert_stderr_contains "Usage: measure "
    run --separate-stderr -2 timeout 5 "$WB_BIN/ch06/measure" -i 0 true
    assert_stderr_contains "measure: -i: '0' is not a number from 1 to 10000"
}

@test "an INT, TERM or HUP sent to measure is passed on to the command at once, which ends; measure says so" {
    local sig code pid status out=$BATS_TEST_TMPDIR/cost t0
    for sig in INT TERM HUP; do
        rm -f "$BATS_TEST_TMPDIR/command" "$out"
        # the command writes its PID, then becomes a sleep of that PID; -i 10000:
        # measure samples every 10 s, and must not wait for the next sample
        timeout 30 "$WB_BIN/ch06/measure" -i 10000 -o "$out" \
            sh -c 'echo $$ >"$1"; exec sleep 60' sh "$BATS_TEST_TMPDIR/command" 3>&- &
        pid=$!
        wait_until 10 test -s "$BATS_TEST_TMPDIR/command"
        t0=$(date +%s%N)
        signal_program "$sig" "$pid"
        status=0
        wait "$pid" || status=$?
        (($(date +%s%N) - t0 < 5000000000)) || fail "SIG$sig took 5 s or more to pass on"
        code=$((128 + $(kill -l "$sig")))
        assert_equal "$status" "$code"
        run -0 cat "$out"
        assert_output --regexp "$COST_LINE $code\$"
        ! kill -0 "$(cat "$BATS_TEST_TMPDIR/command")" 2>/dev/null ||
            fail "the command still runs after measure got SIG$sig"
    done
}

# The path of a program, `python3 PATH STEP... -- COMMAND...`, that runs
# COMMAND on a terminal of its own (a pseudo-terminal, without echo), in its
# foreground as a shell runs a job, with Ctrl-C's SIGINT not ignored (as a
# background job of a script would have it). A step waits until the terminal
# shows TEXT (wait=TEXT) or until a shell command succeeds (until=COMMAND,
# tried every 50 ms for 15 s at most), or types KEYS (type=KEYS). Then it
# prints all the terminal showed, once nothing holds it any more, and
# "exit N" (-N: killed by signal N).
on_terminal() {
    cat >"$BATS_TEST_TMPDIR/on_terminal.py" <<'EOF'
import os, pty, signal, subprocess, sys, termios, time

end = sys.argv.index("--")
steps, command = sys.argv[1:end], sys.argv[end + 1:]
pid, fd = pty.fork()
if pid == 0:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.execvp(command[0], command)
attrs = termios.tcgetattr(fd)
attrs[3] &= ~termios.ECHO
termios.tcsetattr(fd, termios.TCSANOW, attrs)

shown = b""
def read_more():
    global shown
    try:
        data = os.read(fd, 4096)
    except OSError:  # EIO: every holder of the terminal has closed it
        data = b""
    shown += data
    return data

for step in steps:
    what, _, arg = step.partition("=")
    if what == "wait":
        while arg.encode() not in shown and read_more():
            pass
    elif what == "until":
        give_up = time.monotonic() + 15
        while subprocess.run(["sh", "-c", arg]).returncode != 0 and time.monotonic() < give_up:
            time.sleep(0.05)
    else:
        os.write(fd, arg.encode())
while read_more():
    pass
_, status = os.waitpid(pid, 0)
sys.stdout.write(shown.decode().replace("\r\n", "\n"))
print("exit %d" % os.waitstatus_to_exitcode(status))
EOF
    echo "$BATS_TEST_TMPDIR/on_terminal.py"
}

# A command that says "ready", and "continued" on SIGCONT, then sleeps. Each
# line is one write(), so a Ctrl-C typed as soon as a word shows cannot come
# between the word and its newline.
sleeper() {
    cat >"$BATS_TEST_TMPDIR/sleeper.py" <<'EOF'
import os, signal, time
signal.signal(signal.SIGCONT, lambda *_: os.write(1, b"continued\n"))
os.write(1, b"ready\n")
time.sleep(60)
EOF
    echo "$BATS_TEST_TMPDIR/sleeper.py"
}

@test "on a terminal the command reads it, and Ctrl-C ends the command, then measure" {
    # measure cat: cat reads two lines from the terminal, then ^D
    run -0 timeout 20 python3 "$(on_terminal)" \
        "type=one"$'\n'"two"$'\n\004' -- "$WB_BIN/ch06/measure" cat
    no_sanitizer_report
    assert_line --index 0 one
    assert_line --index 1 two
    assert_line --index 2 --regexp "$COST_LINE 0\$"
    assert_line --index 3 "exit 0"

    # Ctrl-C once the command runs: it ends, then measure, by the same signal
    run -0 timeout 20 python3 "$(on_terminal)" \
        wait=ready "type="$'\003' -- "$WB_BIN/ch06/measure" python3 "$(sleeper)"
    no_sanitizer_report
    assert_line --regexp "$COST_LINE 130\$"
    assert_line --index -1 "exit -2"
}

@test "Ctrl-Z stops the command and measure with it; fg continues both" {
    # a shell with job control runs measure; after the stop it says so and
    # brings measure back with fg, which continues the command
    local script='"$@"; echo "measure stopped: $?"; fg'
    run -0 timeout 30 python3 "$(on_terminal)" \
        wait=ready "type="$'\032' wait=continued "type="$'\003' -- \
        bash -mc "$script" sh "$WB_BIN/ch06/measure" python3 "$(sleeper)"
    no_sanitizer_report
    assert_line "measure stopped: 148"
    assert_line continued
    assert_line --regexp "$COST_LINE 130\$"
}

# ---- compare_models -------------------------------------------------------------

# csv_fields_are N FILE: every row of the CSV has N fields.
csv_fields_are() {
    python3 -c 'import csv, sys
for row in csv.reader(open(sys.argv[2])):
    if len(row) != int(sys.argv[1]):
        sys.exit("%d fields, not %s: %s" % (len(row), sys.argv[1], row))' "$1" "$2"
}

# A folder of programs for WB_BIN: the lab server and measure, and the
# ch05 programs named (links to the real ones).
partial_bin() {
    local bin=$BATS_TEST_TMPDIR/bin p
    mkdir -p "$bin/ch00" "$bin/ch05" "$bin/ch06"
    for p in ch00/labserver ch06/measure "$@"; do
        ln -s "$WB_BIN/$p" "$bin/$p"
    done
    echo "$bin"
}

# The models compare_models knows, as its CSV names them: "name,language".
C_MODELS=(thread_per_url process_pool thread_pool select epoll_callbacks coroutines
    green_threads curl_multi curl_multi_socket curl_socket_1loop loop_per_core)
PY_MODELS=(sequential threads process_pool selectors asyncio)

@test "compare_models --small measures every model, C and Python, into a CSV and an SVG" {
    local dir=$BATS_TEST_TMPDIR/bench csv m skip=() table fastest
    # green threads switch stacks, which the thread sanitizer cannot follow (ch03)
    if [ "$WB_SAN" = tsan ]; then skip=(--skip green_threads); fi
    run timeout 150 "$WB_ROOT/chapters/ch06/compare_models" --small -d 200 --budget 5 \
        --out "$dir" "${skip[@]}"
    no_sanitizer_report
    [ "$status" -eq 0 ] || fail "compare_models exited with $status; its table: $output"
    table=$output
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
    for m in select epoll_callbacks coroutines curl_multi curl_multi_socket curl_socket_1loop \
        loop_per_core; do
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
        run -0 grep -F 'sequential,Python,50,200,,,,,,,,,,,,"skipped: 50 rounds of 200 ms: over the budget of 5 s"' "$csv"
    fi
    csv_fields_are 16 "$csv"

    # below the table, what it answers: the fastest C model is the CSV's
    # (the least time beyond the delay, counted from 1 ms), and libcurl's
    # socket interface is compared with the epoll crawler
    fastest=$(awk -F, '$2 == "C" && $15 == "0" && $14 == 50 {
        b = ($6 > 0.001 ? $6 : 0.001); if (f == "" || b < best) { best = b; f = $1 } }
        END { print f }' "$csv")
    [ -n "$fastest" ] || fail "no C model fetched all fifty"
    grep -qE "^at N = 50:\$" <<<"$table" || fail "no summary below the table: $table"
    grep -qE "^  the fastest C model: $fastest, [0-9.]+ s beyond the delay" <<<"$table" ||
        fail "the summary does not name $fastest as the fastest C model: $table"
    grep -qE '^  curl_multi_socket took [0-9.]+ x the wall time of epoll_callbacks \(with one loop, [0-9.]+ x\)$' \
        <<<"$table" || fail "the summary does not compare curl_multi_socket: $table"

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
    run -0 grep -c '^thread_per_url,C,100,50,,,,,,,,,,,,"skipped: an open-file limit: 300 descriptors (a connection and a socket pair a thread), the hard limit is 200"$' "$dir/models.csv"
    assert_output 1
    # the note has commas: quoted, it is still one field
    csv_fields_are 16 "$dir/models.csv"
}

# SKIP: "--skip NAME" for every model but those named.
skip_all_but() {
    local m
    SKIP=()
    for m in "${C_MODELS[@]}" "${PY_MODELS[@]}"; do
        case " $* " in *" $m "*) ;; *) SKIP+=(--skip "$m") ;; esac
    done
}

# The descriptors each connection needs must fit under the open-file limit
# that the program can raise itself to (the hard one), or under the soft one
# for the pools, which do not raise it: at 300 URLs a limit of 200 cannot
# hold them, and every such row says so instead of failing its fetches.
@test "compare_models skips every model that the open-file limit cannot hold, and says why" {
    local dir=$BATS_TEST_TMPDIR/bench m
    skip_all_but epoll_callbacks loop_per_core thread_pool asyncio
    run -0 timeout 60 bash -c 'ulimit -n 200 && exec "$@"' _ \
        "$WB_ROOT/chapters/ch06/compare_models" -n "10 300" -d 50 --out "$dir" "${SKIP[@]}"
    for m in epoll_callbacks loop_per_core thread_pool; do
        run -0 grep -c "^$m,C,10,50,[0-9.]" "$dir/models.csv"
        assert_output 1
    done
    for m in epoll_callbacks loop_per_core; do
        run -0 grep -cF "$m,C,300,50,,,,,,,,,,,,\"skipped: an open-file limit: 300 descriptors (a connection a URL), the hard limit is 200\"" "$dir/models.csv"
        assert_output 1
    done
    run -0 grep -cF 'thread_pool,C,300,50,,,,,,,,,,,,"skipped: an open-file limit: 300 descriptors (a connection and a socket pair a worker), the soft limit is 200"' "$dir/models.csv"
    assert_output 1
    if command -v python3 >/dev/null; then
        run -0 grep -cF 'asyncio,Python,300,50,,,,,,,,,,,,"skipped: an open-file limit: 300 descriptors (a connection a URL), the hard limit is 200"' "$dir/models.csv"
        assert_output 1
    fi
    csv_fields_are 16 "$dir/models.csv"
}

@test "compare_models reaches its lab server around a proxy that the environment names" {
    local dir=$BATS_TEST_TMPDIR/bench proxy
    proxy="http://127.0.0.1:$(closed_port)"
    skip_all_but epoll_callbacks
    run -0 timeout 60 env http_proxy="$proxy" HTTP_PROXY="$proxy" all_proxy="$proxy" \
        "$WB_ROOT/chapters/ch06/compare_models" -n 10 -d 50 --out "$dir" "${SKIP[@]}"
    # the lab peak, field 12, as the lab server's /stats gave it
    run -0 awk -F, '$1 == "epoll_callbacks" { print $12 }' "$dir/models.csv"
    assert_output 10
}

# A PATH with every command of this one but gnuplot (links in a folder).
path_without_gnuplot() {
    local dir=$BATS_TEST_TMPDIR/path d
    mkdir -p "$dir"
    local IFS=:
    for d in $PATH; do
        [ -d "$d" ] && ln -s "$d"/* "$dir"/ 2>/dev/null
    done
    rm -f "$dir/gnuplot"
    echo "$dir"
}

@test "compare_models with nothing to plot, or nothing to plot with, says so and leaves no old plot" {
    local dir=$BATS_TEST_TMPDIR/bench cm=$WB_ROOT/chapters/ch06/compare_models bin path
    mkdir -p "$dir"

    # every model left out: no run to plot, and no gnuplot run to complain
    echo '<svg>an old plot</svg>' >"$dir/models.svg"
    skip_all_but
    run --separate-stderr -0 timeout 60 "$cm" -n 10 -d 50 --out "$dir" "${SKIP[@]}"
    assert_line "no plot: no run fetched every URL"
    assert_equal "$stderr" ""
    [ ! -e "$dir/models.svg" ] || fail "an old models.svg is left beside the new table"

    # the one model that runs fails: exit 1, and still no plot
    bin=$(partial_bin)
    printf '#!/bin/sh\necho "select_crawler: broken" >&2\nexit 3\n' >"$bin/ch05/select_crawler"
    chmod +x "$bin/ch05/select_crawler"
    echo '<svg>an old plot</svg>' >"$dir/models.svg"
    skip_all_but select
    run --separate-stderr -1 timeout 60 env WB_BIN="$bin" "$cm" -n 10 -d 50 --out "$dir" \
        "${SKIP[@]}"
    assert_line --regexp '^select +C +10 .*  failed: exit 3, 0 of 10 fetched: select_crawler: broken$'
    assert_line "no plot: no run fetched every URL"
    assert_equal "$stderr" "compare_models: a run did not fetch every URL: its note in the table says how"
    [ ! -e "$dir/models.svg" ] || fail "an old models.svg is left beside the new table"

    # a run to plot, but no gnuplot: the table, and no old plot beside it
    path=$(path_without_gnuplot)
    echo '<svg>an old plot</svg>' >"$dir/models.svg"
    skip_all_but epoll_callbacks
    run --separate-stderr -0 timeout 60 env PATH="$path" "$cm" -n 10 -d 50 --out "$dir" \
        "${SKIP[@]}"
    assert_line "no plot: gnuplot is not installed (apt-get install gnuplot-nox)"
    run -0 grep -c '^epoll_callbacks,C,10,50,[0-9.]' "$dir/models.csv"
    assert_output 1
    [ ! -e "$dir/models.svg" ] || fail "an old models.svg is left beside the new table"
}

@test "compare_models names every program that is not built, and runs no model" {
    local bin dir=$BATS_TEST_TMPDIR/bench
    bin=$(partial_bin ch05/callback_crawler)
    run --separate-stderr -1 timeout 20 env WB_BIN="$bin" \
        "$WB_ROOT/chapters/ch06/compare_models" -n 10 -d 50 --out "$dir"
    assert_equal "$stderr" "compare_models: not built in $bin: ch03/thread_fetch ch03/pool_fetch ch05/select_crawler ch05/coroutine_crawler ch03/green_fetch ch05/multi_fetch ch06/multi_socket_fetch ch06/loop_per_core (make ch00 ch03 ch05 ch06)"
    assert_output ""
    [ ! -e "$dir/models.csv" ] || fail "it ran the models all the same"
}

@test "compare_models marks a failed run in the table, leaves it out of the plot, and exits 1" {
    local bin dir=$BATS_TEST_TMPDIR/bench others=() m
    bin=$(partial_bin ch05/callback_crawler)
    # a select_crawler that fails, a coroutine_crawler that fetches five of ten
    printf '#!/bin/sh\necho "select_crawler: broken" >&2\nexit 3\n' >"$bin/ch05/select_crawler"
    printf '#!/bin/sh\nfor i in 0 1 2 3 4; do echo "[$i] 1 bytes in 0.1 s  x"; done\n' \
        >"$bin/ch05/coroutine_crawler"
    chmod +x "$bin/ch05/select_crawler" "$bin/ch05/coroutine_crawler"
    for m in "${C_MODELS[@]}" "${PY_MODELS[@]}"; do
        case $m in select | coroutines | epoll_callbacks) ;; *) others+=(--skip "$m") ;; esac
    done
    run --separate-stderr -1 timeout 60 env WB_BIN="$bin" \
        "$WB_ROOT/chapters/ch06/compare_models" -n 10 -d 50 --out "$dir" "${others[@]}"
    assert_line --regexp '^select +C +10 .*  failed: exit 3, 0 of 10 fetched: select_crawler: broken$'
    assert_line --regexp '^coroutines +C +10 .*  failed: exit 0, 5 of 10 fetched: $'
    # said once more at the end, for whoever runs it (make bench)
    assert_equal "$stderr" "compare_models: a run did not fetch every URL: its note in the table says how"
    run -0 grep -c '^select,C,10,50,.*,0,3,"failed: exit 3, 0 of 10 fetched: select_crawler: broken"$' "$dir/models.csv"
    assert_output 1
    run -0 grep -c '^epoll_callbacks,C,10,50,.*,10,0,""$' "$dir/models.csv"
    assert_output 1

    if ! command -v gnuplot >/dev/null; then
        skip "gnuplot is not installed: no SVG to check"
    fi
    grep -q 'epoll_callbacks (C)' "$dir/models.svg" || fail "the run that worked is not plotted"
    ! grep -qE '(select|coroutines) \(C\)' "$dir/models.svg" || fail "a failed run is plotted"
}

@test "compare_models --help explains; a bad option or value is one line and the usage, exit 2" {
    local cm=$WB_ROOT/chapters/ch06/compare_models usage
    run -0 timeout 5 "$cm" --help
    assert_line --index 0 --regexp '^Usage: compare_models '
    usage=${lines[0]}
    run --separate-stderr -2 timeout 5 "$cm" --bogus
    assert_equal "$stderr" "compare_models: unknown option '--bogus'"$'\n'"$usage"
    run --separate-stderr -2 timeout 5 "$cm" -n
    assert_equal "$stderr" "compare_models: -n needs a value"$'\n'"$usage"
    run --separate-stderr -2 timeout 5 "$cm" -w 0
    assert_equal "$stderr" "compare_models: -w: '0' is not a number from 1 to 100"$'\n'"$usage"
    run --separate-stderr -2 timeout 5 "$cm" -d abc
    assert_equal "$stderr" "compare_models: -d: 'abc' is not a number from 0 to 60000"$'\n'"$usage"
    run --separate-stderr -2 timeout 5 "$cm" -n "10 1e3"
    assert_equal "$stderr" "compare_models: -n: '1e3' is not a number from 1 to 100000"$'\n'"$usage"
    run --separate-stderr -2 timeout 5 "$cm" --budget -1
    assert_equal "$stderr" "compare_models: --budget: '-1' is not a number from 1 to 86400"$'\n'"$usage"
    run --separate-stderr -2 timeout 5 "$cm" --skip selct
    assert_equal "$stderr" "compare_models: --skip: no model is called 'selct'"$'\n'"$usage"
}

# ---- the Python programs ------------------------------------------------------------

PY_PROGRAMS=(sequential threads process_pool select_callbacks asyncio_fetch)

# The bytes of result line [0].
bytes_of_0() { sed -nE 's/^\[0\] ([0-9]+) bytes in .*/\1/p' <<<"$output"; }

@test "each Python program counts the bytes as its C counterpart: urllib the body, the socket ones the whole answer" {
    local url=$LAB_URL/delay/10 body whole p
    run -0 timeout 20 "$WB_BIN/ch03/sequential_fetch" -q "$url"
    body=$(bytes_of_0)
    run -0 timeout 20 "$WB_BIN/ch05/callback_crawler" -q "$url"
    whole=$(bytes_of_0)
    [ "$body" -gt 0 ] && [ "$whole" -gt "$body" ] || fail "body $body, whole answer $whole"
    for p in sequential threads process_pool; do
        run -0 timeout 20 python3 "$WB_ROOT/chapters/ch06/python/$p.py" "$url"
        assert_equal "$(bytes_of_0)" "$body"
    done
    for p in select_callbacks asyncio_fetch; do
        run -0 timeout 20 python3 "$WB_ROOT/chapters/ch06/python/$p.py" "$url"
        assert_equal "$(bytes_of_0)" "$whole"
    done
}

@test "the Python programs fetch http:// only, and a LAB_URL that is not one is one line, exit 1" {
    local p
    for p in "${PY_PROGRAMS[@]}"; do
        run --separate-stderr -1 timeout 20 env LAB_URL=ftp://127.0.0.1:1 \
            python3 "$WB_ROOT/chapters/ch06/python/$p.py" -n 2
        assert_equal "$stderr" "$p.py: LAB_URL is ftp://127.0.0.1:1: not an http:// URL (it should look like http://127.0.0.1:8000)"
        assert_output ""
        run --separate-stderr -1 timeout 20 python3 "$WB_ROOT/chapters/ch06/python/$p.py" \
            file:///etc/hostname "$LAB_URL/bytes/3"
        assert_stderr_contains "$p.py: file:///etc/hostname: not an http:// URL"
        assert_equal "$(result_lines)" 1
    done
}

@test "a URL that is not ASCII fails alone in each Python program: the other URLs still print" {
    local p
    for p in "${PY_PROGRAMS[@]}"; do
        run --separate-stderr -1 timeout 20 python3 "$WB_ROOT/chapters/ch06/python/$p.py" \
            "$LAB_URL/é" "$LAB_URL/bytes/3"
        assert_stderr_contains "$p.py: $LAB_URL/é: 'ascii' codec can't encode"
        [[ $stderr != *Traceback* ]] || fail "$p.py: a traceback: $stderr"
        assert_line --regexp '^\[1\] [0-9]+ bytes in '
        assert_equal "$(result_lines)" 1
    done
}

# "the lab server holds N requests now", for on_terminal's until= step
holds_requests() { echo "curl -s --noproxy '*' '$LAB_URL/stats' | grep -q '\"active\": $1,'"; }

@test "Ctrl-C stops each Python program at once, without a traceback: exit 130" {
    local p args at_once
    for p in "${PY_PROGRAMS[@]}"; do
        # two requests the lab server never answers; -t 60: only Ctrl-C ends them
        args=(-t 60 "$LAB_URL/hang?1" "$LAB_URL/hang?2") at_once=2
        case $p in
        sequential) at_once=1 ;;
        process_pool) args+=(-w 2) ;;
        esac
        wait_until 10 lab_stat_is active 0
        # Ctrl-C once every request it sends at once is held
        run -0 timeout 20 python3 "$(on_terminal)" "until=$(holds_requests "$at_once")" \
            "type="$'\003' -- python3 "$WB_ROOT/chapters/ch06/python/$p.py" "${args[@]}"
        [[ $output != *Traceback* ]] || fail "$p.py: a traceback: $output"
        assert_line --index -1 "exit 130"
        assert_equal "${#lines[@]}" 1
    done
}

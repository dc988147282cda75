#!/usr/bin/env bats
# tests/exercises/ch06_poll_crawler.bats - grades the crawler moved from
# select() to poll() (chapter 6, exercise: exercises/ch06/poll_crawler.c).
#
# Runs "$WB_EX/ch06/poll_crawler" (solutions/ by default, exercises/ under
# `make grade`) against a private lab server, and judges by structure: the
# lab's /barrier/2000 answers only once two thousand requests wait at once,
# which select() cannot watch (FD_SETSIZE is 1024) and which needs more open
# files than the usual soft limit of 1024 (the test sets that limit; the
# program must raise it); /drip/N sends its answer in small pieces; a port
# where nothing listens must be reported as a failed connect (poll() says
# POLLERR); and strace counts the poll() calls.
#
# Points: a graded test's name ends with [N pts] (tests/exercises/README.md).

setup() {
    load ../helper
    load crawler
    PROG="$WB_EX/ch06/poll_crawler"
    # the grader builds the chapter programs a suite names, the lab server too
    [ -x "$WB_BIN/ch00/labserver" ] || fail "no lab server at $WB_BIN/ch00/labserver: make ch00"
    lab_start -b 10
}

teardown() {
    lab_stop
}

@test "two thousand fetches of /barrier/2000 pass, under a soft limit of 1024 open files [5 pts]" {
    local hard
    hard="$(ulimit -Hn)"
    [ "$hard" = unlimited ] || [ "$hard" -ge 2100 ] ||
        skip "the hard open-file limit here is $hard: two thousand connections need about 2100 (raise it, e.g. ulimit -Hn 4096 as root, or in /etc/security/limits.conf)"
    local urls=() i
    for i in $(seq 0 1999); do urls+=("$LAB_URL/barrier/2000?i=$i"); done
    CMD="ulimit -Sn 1024; ${PROG#"$WB_ROOT"/} -t 20 \$LAB_URL/barrier/2000?i=0 ... ?i=1999"
    # shellcheck disable=SC2016 # the inner bash expands them
    run --separate-stderr bash -c 'ulimit -Sn 1024 && timeout 60 "$@" | head -c 1000000; exit "${PIPESTATUS[0]}"' \
        _ "$PROG" -t 20 "${urls[@]}"
    local answered
    answered="$(grep -cE '^\[[0-9]+\] [0-9]+ bytes in' <<<"$output" || true)"
    [ "$status" -eq 0 ] && [ "$answered" -eq 2000 ] && return 0
    explain "2000 result lines (the lab answers /barrier/2000 only when all 2000 wait at once), exit status 0; $answered came" \
        "raise the open-file limit first (wb_raise_fd_limit), then keep every connection in the pollfd array (build_pollfds) and wait for all of them in one poll() (exercises/ch06/poll_crawler.c)"
}

@test "counts every byte of answers that come in small pieces (/drip) [3 pts]" {
    local a b c
    a="$(lab_bytes /drip/3000)"
    b="$(lab_bytes /drip/7000)"
    c="$(lab_bytes /drip/150)"
    crawl 20 -t 5 "$LAB_URL/drip/3000" "$LAB_URL/drip/7000" "$LAB_URL/drip/150"
    has_result 0 "$a" "$LAB_URL/drip/3000" && has_result 1 "$b" "$LAB_URL/drip/7000" &&
        has_result 2 "$c" "$LAB_URL/drip/150" && [ "$status" -eq 0 ] && return 0
    explain "[0] $a bytes, [1] $b bytes, [2] $c bytes (headers and body, as the lab sent them)" \
        "RECEIVING asks for POLLIN each round, and every wake-up with news moves the connection a step: the steps (crawl_conn.c) read until the server closes"
}

@test "a port where nothing listens is a failed connect, and the others still come [3 pts]" {
    local port
    port="$(closed_port)"
    crawl 20 -t 5 "$LAB_URL/delay/100?i=0" "http://127.0.0.1:$port/" "$LAB_URL/delay/100?i=2"
    local answered
    answered="$(grep -cE '^\[[02]\] [0-9]+ bytes in' <<<"$output" || true)"
    [ "$status" -eq 1 ] && [ "$answered" -eq 2 ] &&
        grep -qF "http://127.0.0.1:$port/: connect: Connection refused" <<<"$stderr" && return 0
    explain "lines [0] and [2], exit status 1, and on stderr: poll_crawler: http://127.0.0.1:$port/: connect: Connection refused" \
        "a refused connect comes back as POLLERR (with POLLOUT or POLLHUP): any revents that is not 0 is news, and conn_on_writable() then finds the error with SO_ERROR"
}

@test "poll() is called a few times per URL, not once per spin [3 pts]" {
    local trace="$BATS_TEST_TMPDIR/strace" calls
    CMD="strace -f -c -e trace=poll,ppoll ${PROG#"$WB_ROOT"/} -t 5 -n 10 -d 300"
    # (LeakSanitizer cannot run under strace: leaks are checked by the other tests)
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
        run --separate-stderr timeout 30 strace -f -qq -c -o "$trace" -e trace=poll,ppoll \
        "$PROG" -t 5 -n 10 -d 300
    calls="$(awk '$NF ~ /^p?poll$/ { n += $4 } END { print n + 0 }' "$trace" 2>/dev/null)"
    local answered
    answered="$(grep -cE '^\[[0-9]\] [0-9]+ bytes in' <<<"$output" || true)"
    [ "$status" -eq 0 ] && [ "$answered" -eq 10 ] && [ "$calls" -ge 1 ] && [ "$calls" -le 40 ] &&
        return 0
    explain "ten result lines after at most 40 poll() calls in all (strace counted $calls)" \
        "poll() must sleep until a socket has news: give it the time left until the deadline in milliseconds, not a timeout of 0"
}

@test "at the deadline (-t) a silent server is given up, and the rest printed [2 pts]" {
    crawl 10 -t 2 "$LAB_URL/delay/100?i=0" "$LAB_URL/hang" "$LAB_URL/delay/200?i=2"
    local answered
    answered="$(grep -cE '^\[[02]\] [0-9]+ bytes in' <<<"$output" || true)"
    [ "$status" -eq 1 ] && [ "$answered" -eq 2 ] &&
        grep -qF "$LAB_URL/hang: no answer before the deadline" <<<"$stderr" && return 0
    explain "lines [0] and [2], then after about 2 s exit status 1 with: poll_crawler: \$LAB_URL/hang: no answer before the deadline" \
        "give poll() the time left until the deadline, and leave the loop when it has passed; main reports what is not finished"
}

#!/usr/bin/env bats
# tests/exercises/ch05_select_crawler.bats - grades the student's own select()
# crawler (chapter 5, exercise: exercises/ch05/select_crawler.c).
#
# Runs "$WB_EX/ch05/select_crawler" (solutions/ by default, exercises/ under
# `make grade`) against a private lab server, and judges by structure: the
# lab's /barrier/10 answers only once ten requests wait at once (a crawler
# that fetches one at a time can never pass it, however fast); /drip/N sends
# its answer in small pieces with pauses (a crawler that stops at the first
# piece gets the count wrong); a port where nothing listens must be reported
# as a failed connect (SO_ERROR); and strace counts the select() calls.
#
# Points: a graded test's name ends with [N pts] (tests/exercises/README.md).

setup() {
    load ../helper
    load crawler
    PROG="$WB_EX/ch05/select_crawler"
    # the grader builds the chapter programs a suite names, the lab server too
    [ -x "$WB_BIN/ch00/labserver" ] || fail "no lab server at $WB_BIN/ch00/labserver: make ch00"
    lab_start -b 3
}

teardown() {
    lab_stop
}

@test "ten fetches of /barrier/10 pass: all ten connections wait at once [5 pts]" {
    local urls=() i
    for i in $(seq 0 9); do urls+=("$LAB_URL/barrier/10?i=$i"); done
    crawl 20 -t 5 "${urls[@]}"
    local answered
    answered="$(grep -cE '^\[[0-9]\] [0-9]+ bytes in' <<<"$output" || true)"
    [ "$status" -eq 0 ] && [ "$answered" -eq 10 ] && return 0
    explain "ten result lines (the lab answers /barrier/10 only when ten requests wait at once), exit status 0; $answered came" \
        "start every connection first, then one select() loop over all of them: on_writable() sends each request, on_readable() reads each answer (exercises/ch05/select_crawler.c)"
}

@test "counts every byte of answers that come in small pieces (/drip) [4 pts]" {
    local a b c
    a="$(lab_bytes /drip/3000)"
    b="$(lab_bytes /drip/7000)"
    c="$(lab_bytes /drip/150)"
    crawl 20 -t 5 "$LAB_URL/drip/3000" "$LAB_URL/drip/7000" "$LAB_URL/drip/150"
    has_result 0 "$a" "$LAB_URL/drip/3000" && has_result 1 "$b" "$LAB_URL/drip/7000" &&
        has_result 2 "$c" "$LAB_URL/drip/150" && [ "$status" -eq 0 ] && return 0
    explain "[0] $a bytes, [1] $b bytes, [2] $c bytes (headers and body, as the lab sent them)" \
        "an answer comes in many pieces: add each recv() to c->bytes and finish only when recv() returns 0, not after the first piece"
}

@test "a port where nothing listens is a failed connect, and the others still come [3 pts]" {
    local port
    port="$(closed_port)"
    crawl 20 -t 5 "$LAB_URL/delay/100?i=0" "http://127.0.0.1:$port/" "$LAB_URL/delay/100?i=2"
    local answered
    answered="$(grep -cE '^\[[02]\] [0-9]+ bytes in' <<<"$output" || true)"
    [ "$status" -eq 1 ] && [ "$answered" -eq 2 ] &&
        grep -qF "http://127.0.0.1:$port/: connect: Connection refused" <<<"$stderr" && return 0
    explain "lines [0] and [2], exit status 1, and on stderr: select_crawler: http://127.0.0.1:$port/: connect: Connection refused" \
        "writable does not mean connected: in CONNECTING, ask getsockopt(SO_ERROR) and report its error as conn_finish(c, \"connect\", err)"
}

@test "select() is called a few times per URL, not once per spin [3 pts]" {
    local trace="$BATS_TEST_TMPDIR/strace" calls
    CMD="strace -f -c -e trace=select,pselect6 ${PROG#"$WB_ROOT"/} -t 5 -n 10 -d 300"
    # (LeakSanitizer cannot run under strace: leaks are checked by the other tests)
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
        run --separate-stderr timeout 30 strace -f -qq -c -o "$trace" -e trace=select,pselect6 \
        "$PROG" -t 5 -n 10 -d 300
    calls="$(awk '$NF ~ /^(p?select6?)$/ { n += $4 } END { print n + 0 }' "$trace" 2>/dev/null)"
    local answered
    answered="$(grep -cE '^\[[0-9]\] [0-9]+ bytes in' <<<"$output" || true)"
    [ "$status" -eq 0 ] && [ "$answered" -eq 10 ] && [ "$calls" -ge 1 ] && [ "$calls" -le 40 ] &&
        return 0
    explain "ten result lines after at most 40 select() calls in all (strace counted $calls)" \
        "select() must sleep until a socket is ready: build the sets again before each call, and give it the time left until the deadline, not a timeout of 0"
}

@test "at the deadline (-t) a silent server is given up, and the rest printed [3 pts]" {
    crawl 10 -t 2 "$LAB_URL/delay/100?i=0" "$LAB_URL/hang" "$LAB_URL/delay/200?i=2"
    local answered
    answered="$(grep -cE '^\[[02]\] [0-9]+ bytes in' <<<"$output" || true)"
    [ "$status" -eq 1 ] && [ "$answered" -eq 2 ] &&
        grep -qF "$LAB_URL/hang: no answer before the deadline" <<<"$stderr" && return 0
    explain "lines [0] and [2], then after about 2 s exit status 1 with: select_crawler: \$LAB_URL/hang: no answer before the deadline" \
        "give select() the time left until the deadline, and leave the loop when it has passed; main reports what is not finished"
}

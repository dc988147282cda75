#!/usr/bin/env bats
# The first five minutes: the tour and the build speak to a newcomer.

setup() {
    load helper
    skip_under_sanitizer "the tour runs the plain programs"
    cd "$WB_ROOT"
}

teardown() {
    lab_stop
}

@test "make demo CH=02 tours chapter 2 only, and stops its lab server" {
    run -0 timeout 240 make --no-print-directory WERROR=1 demo CH=02 </dev/null
    assert_line --partial "Chapter 2"
    refute_line --partial "Chapter 3"
    refute_line --partial "Chapter 1"
    assert_line --partial "make serve"
    assert_line --partial "slides/build/index.html"
    local lab
    lab=$(printf '%s\n' "$output" | grep -o 'http://127.0.0.1:[0-9]*' | head -n 1)
    [ -n "$lab" ]
    run ! curl -s -o /dev/null --max-time 2 "$lab/stats"
}

@test "the tour takes a chapter as 5, 05 or ch05, and refuses one it does not have" {
    run -2 timeout 20 bash chapters/tour.sh 99
    assert_output --partial "chapter ch99 has no tour"
    run -2 timeout 20 bash chapters/tour.sh five
    assert_output --partial "not a chapter"
    run -0 timeout 60 bash chapters/tour.sh 0 </dev/null
    assert_line --partial "Chapter 0"
}

@test "a tour that is stopped leaves no lab server behind" {
    local out="$BATS_TEST_TMPDIR/tour.out"
    timeout 60 bash chapters/tour.sh 03 </dev/null >"$out" 2>&1 3>&- &
    local tour=$!
    wait_until 30 grep -q 'http://127.0.0.1:[0-9]*' "$out" || fail "no lab server named in 30 s: $(cat "$out")"
    local lab
    lab=$(grep -o 'http://127.0.0.1:[0-9]*' "$out" | head -n 1)
    sleep 1
    # a background job ignores SIGINT, so stop it as a terminal close would
    signal_program TERM "$tour"
    run timeout 20 tail --pid="$tour" -f /dev/null
    assert_success
    run ! curl -s -o /dev/null --max-time 2 "$lab/stats"
}

@test "make chNN says when no lab server answers for a chapter that needs one" {
    export LAB_URL="http://127.0.0.1:$(closed_port)"
    run -0 timeout 300 make --no-print-directory WERROR=1 ch03
    assert_line --partial "no lab server answers at $LAB_URL"
    assert_line --partial "make serve"
    lab_start
    run -0 timeout 300 make --no-print-directory WERROR=1 ch03
    # (refute_line cannot take an output with no line at all)
    [[ $output != *"no lab server answers"* ]]
}

@test "make serve on a port that is taken says a lab may be running, and how to move" {
    lab_start
    run ! timeout 60 make --no-print-directory WERROR=1 serve PORT="$LAB_PORT"
    assert_output --partial "already be running"
    assert_output --partial "make serve PORT="
    assert_output --partial "LAB_URL=http://127.0.0.1:"
}

#!/usr/bin/env bats
# ch01: why concurrency. latency measures the cost ladder, from one
# arithmetic step to an fsync, against a private lab server; these tests check
# the shape of its table (every row, a positive time, a bar, the lesson last)
# and how it behaves when the lab server or the disk is missing. They never
# check the numbers themselves: those belong to the machine.

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
    # Fewer samples under a sanitizer: its fork is ten times slower.
    REPS=5
    [ -z "$WB_SAN" ] || REPS=3
    ROWS=("arithmetic step" "memory read, cache miss" "system call" "thread switch"
        "thread create" "process fork" "loopback TCP round trip" "lab server request"
        "write 4 KiB")
}

no_sanitizer_report() {
    if grep -qE 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|WARNING: ThreadSanitizer' \
        <<<"$output${stderr:-}"; then
        echo "sanitizer report:" >&2
        echo "$output${stderr:-}" >&2
        return 1
    fi
}

# The measured row that starts with $1: "<time> <factor>x <bar>", or nothing.
row() {
    local line
    for line in "${lines[@]}"; do
        if [[ "$line" == "$1"* && "$line" =~ \ ([0-9]+\.[0-9])\ ns\ +([0-9]+)x\ \ (#+)$ ]]; then
            echo "${BASH_REMATCH[1]} ${BASH_REMATCH[2]} ${BASH_REMATCH[3]}"
            return 0
        fi
    done
    return 1
}

@test "latency prints every row, each with a positive time and a bar, and ends with the lesson" {
    run -0 timeout 60 "$WB_BIN/ch01/latency" -r "$REPS"
    no_sanitizer_report
    local label measured
    for label in "${ROWS[@]}"; do
        measured=$(row "$label") || fail "no measured row for '$label' in:"$'\n'"$output"
        awk -v t="${measured%% *}" 'BEGIN { exit !(t > 0) }' ||
            fail "'$label' took $measured: not a positive time"
    done
    assert_equal "$(grep -cE ' ns +[0-9]+x  #+$' <<<"$output")" "${#ROWS[@]}"
    assert_equal "${lines[${#lines[@]} - 1]}" "the bottleneck is everything off the CPU"
}

@test "latency: the first row is the unit, and every bar has one # per doubling of the cost" {
    run -0 timeout 60 "$WB_BIN/ch01/latency" -q -r 1
    no_sanitizer_report
    local label time factor bar
    read -r time factor bar <<<"$(row "arithmetic step")"
    assert_equal "$factor" 1
    assert_equal "$bar" "#"
    # The factor is printed rounded, so a bar may be one # off its exact length.
    for label in "${ROWS[@]}"; do
        read -r time factor bar <<<"$(row "$label")" || continue
        awk -v f="$factor" -v n="${#bar}" 'BEGIN { e = 1 + log(f) / log(2); exit !(n >= e - 1 && n <= e + 1) }' ||
            fail "'$label': ${factor}x drawn as '$bar'"
    done
}

# The lesson itself, as ratios inside one run (a busy machine slows every row
# alike): a read that really misses the cache costs tens of arithmetic steps or
# more (a cache hit costs a few), and everything else at least ten.
@test "latency: off the CPU everything costs far more than an arithmetic step" {
    run -0 timeout 60 "$WB_BIN/ch01/latency" -r "$REPS"
    no_sanitizer_report
    local label time factor bar min
    for label in "${ROWS[@]:1}"; do
        read -r time factor bar <<<"$(row "$label")"
        min=10
        [ "$label" != "memory read, cache miss" ] || min=30
        [ "$factor" -ge "$min" ] || fail "'$label' costs only ${factor}x an arithmetic step:"$'\n'"$output"
    done
}

@test "latency -q without a lab server skips that row, says so, and measures the rest" {
    LAB_URL="http://127.0.0.1:$(closed_port)" run -0 timeout 60 "$WB_BIN/ch01/latency" -q -r 1
    no_sanitizer_report
    assert_line --regexp '^lab server request +skipped: no lab server at http://127\.0\.0\.1:[0-9]+$'
    row "loopback TCP round trip" >/dev/null || fail "the TCP row is missing"
    row "write 4 KiB" >/dev/null || fail "the fsync row is missing"
    assert_equal "${lines[${#lines[@]} - 1]}" "the bottleneck is everything off the CPU"
}

@test "latency -q without a writable folder skips the fsync row and says so" {
    TMPDIR=/nonexistent run -0 timeout 60 "$WB_BIN/ch01/latency" -q -r 1
    no_sanitizer_report
    assert_line --regexp '^write 4 KiB \+ fsync +skipped: cannot make a file in /nonexistent$'
    row "lab server request" >/dev/null || fail "the lab server row is missing"
}

@test "latency without -q and without a lab server fails at once and says how to start one" {
    LAB_URL="http://127.0.0.1:$(closed_port)" run --separate-stderr -1 timeout 20 "$WB_BIN/ch01/latency"
    no_sanitizer_report
    assert_stderr_contains "make serve"
    assert_stderr_contains "-q"
    assert_equal "$output" ""
}

@test "latency: --help exits 0, a bad option or number exits 2 with the usage" {
    run -0 timeout 10 "$WB_BIN/ch01/latency" --help
    assert_line --partial "Usage: latency"
    run --separate-stderr -2 timeout 10 "$WB_BIN/ch01/latency" --bogus
    assert_stderr_contains "Usage: latency"
    run --separate-stderr -2 timeout 10 "$WB_BIN/ch01/latency" -r 0
    run --separate-stderr -2 timeout 10 "$WB_BIN/ch01/latency" -r 3x
    run --separate-stderr -2 timeout 10 "$WB_BIN/ch01/latency" extra
}

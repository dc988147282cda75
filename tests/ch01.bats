#!/usr/bin/env bats
# ch01: why concurrency. latency and io_latency measure the cost ladder, from
# one arithmetic step to an fsync, the second against a private lab server;
# these tests check the shape of their tables (every row, a positive time, a
# bar, the lesson last) and what io_latency does when the lab server or a
# writable folder is missing. The only numbers they judge are ratios inside one
# run, with margins of ten and more: a busy machine slows every row alike.

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
    LATENCY_ROWS=("arithmetic step" "memory read, cache miss" "system call" "thread switch"
        "thread create" "process fork")
    IO_ROWS=("arithmetic step" "loopback TCP round trip" "lab server request" "write 4 KiB")
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

# Every row named in the arguments is measured, in a positive time; there are
# no other rows; and the lesson is the last line.
every_row_measured() {
    local label measured
    for label in "$@"; do
        measured=$(row "$label") || fail "no measured row for '$label' in:"$'\n'"$output"
        awk -v t="${measured%% *}" 'BEGIN { exit !(t > 0) }' ||
            fail "'$label' took $measured: not a positive time"
    done
    assert_equal "$(grep -cE ' ns +[0-9]+x  #+$' <<<"$output")" "$#"
    assert_equal "${lines[${#lines[@]} - 1]}" "the bottleneck is everything off the CPU"
}

# The first row is the unit, and each bar has a # per doubling of the cost
# (the factor is printed rounded, so a bar may be one # off its exact length).
bars_double() {
    local label time factor bar
    read -r time factor bar <<<"$(row "arithmetic step")"
    assert_equal "$factor" 1
    assert_equal "$bar" "#"
    for label in "$@"; do
        read -r time factor bar <<<"$(row "$label")" || continue
        awk -v f="$factor" -v n="${#bar}" 'BEGIN { e = 1 + log(f) / log(2); exit !(n >= e - 1 && n <= e + 1) }' ||
            fail "'$label': ${factor}x drawn as '$bar'"
    done
}

# The lesson itself, as ratios inside one run: a read that really misses the
# cache costs tens of arithmetic steps or more (a cache hit costs a few), and
# everything else at least ten.
costs_far_more() {
    local label time factor bar min
    for label in "$@"; do
        [ "$label" != "arithmetic step" ] || continue
        read -r time factor bar <<<"$(row "$label")"
        min=10
        [ "$label" != "memory read, cache miss" ] || min=30
        [ "${factor:-0}" -ge "$min" ] || fail "'$label' costs only ${factor}x an arithmetic step:"$'\n'"$output"
    done
}

@test "latency prints every row, each with a positive time and a bar, and ends with the lesson" {
    run -0 timeout 60 "$WB_BIN/ch01/latency" -r "$REPS"
    no_sanitizer_report
    assert_line "latency: what one operation costs on this machine (median of $REPS samples)"
    every_row_measured "${LATENCY_ROWS[@]}"
    bars_double "${LATENCY_ROWS[@]}"
    costs_far_more "${LATENCY_ROWS[@]}"
}

@test "io_latency with a lab server measures every row, and each costs far more than a step" {
    run -0 timeout 60 "$WB_BIN/ch01/io_latency" -r "$REPS"
    no_sanitizer_report
    assert_line "io_latency: what waiting costs on this machine (median of $REPS samples)"
    every_row_measured "${IO_ROWS[@]}"
    bars_double "${IO_ROWS[@]}"
    costs_far_more "${IO_ROWS[@]}"
    refute_output --partial "not measured"
}

@test "io_latency without a lab server marks that row as not measured, says how to start one, and exits 0" {
    LAB_URL="http://127.0.0.1:$(closed_port)" run -0 timeout 60 "$WB_BIN/ch01/io_latency" -r 1
    no_sanitizer_report
    assert_line --regexp '^lab server request \(/bytes/0\) +not measured: http://127\.0\.0\.1:[0-9]+/bytes/0: .+$'
    assert_line --regexp "^ +\(start a lab server with 'make serve', or set LAB_URL\)$"
    every_row_measured "arithmetic step" "loopback TCP round trip" "write 4 KiB"
}

@test "io_latency with a LAB_URL that is not an http://host:port address says so" {
    local url
    for url in htp://127.0.0.1:8000 http://127.0.0.1:99999; do
        LAB_URL=$url run -0 timeout 60 "$WB_BIN/ch01/io_latency" -r 1
        no_sanitizer_report
        assert_line --regexp "^lab server request \(/bytes/0\) +not measured: ${url//./\\.}/bytes/0: .+\$"
        assert_line --regexp '^ +\(LAB_URL is not an http://host:port address: check it\)$'
    done
}

@test "io_latency -q leaves out the hint, for scripts" {
    LAB_URL="http://127.0.0.1:$(closed_port)" run -0 timeout 60 "$WB_BIN/ch01/io_latency" -q -r 1
    no_sanitizer_report
    assert_line --regexp '^lab server request \(/bytes/0\) +not measured: '
    refute_output --partial "make serve"
    every_row_measured "arithmetic step" "loopback TCP round trip" "write 4 KiB"
}

@test "io_latency without a writable folder marks the fsync row as not measured and exits 0" {
    TMPDIR=/nonexistent run -0 timeout 60 "$WB_BIN/ch01/io_latency" -r 1
    no_sanitizer_report
    assert_line --regexp '^write 4 KiB \+ fsync +not measured: cannot make a file in /nonexistent: .+$'
    assert_line --regexp '^ +\(set TMPDIR to a folder on a disk that you may write to\)$'
    every_row_measured "arithmetic step" "loopback TCP round trip" "lab server request"
}

@test "latency and io_latency: --help exits 0, a bad option or number exits 2 with the usage" {
    local p
    for p in latency io_latency; do
        run -0 timeout 10 "$WB_BIN/ch01/$p" --help
        assert_line --partial "Usage: $p"
        assert_line --partial "-r, --repeat N"
        run --separate-stderr -2 timeout 10 "$WB_BIN/ch01/$p" --bogus
        assert_stderr_contains "Usage: $p"
        assert_equal "$output" ""
        run --separate-stderr -2 timeout 10 "$WB_BIN/ch01/$p" -r 0
        assert_stderr_contains "-r: '0' is not a number from 1 to 1000"
        run --separate-stderr -2 timeout 10 "$WB_BIN/ch01/$p" -r 3x
        run --separate-stderr -2 timeout 10 "$WB_BIN/ch01/$p" extra
        assert_stderr_contains "Usage: $p"
    done
}

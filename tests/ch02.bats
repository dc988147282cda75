#!/usr/bin/env bats
# ch02: the glossary, one program per pair of words. Speed-ups are ratios of
# two runs inside one program, checked with wide margins, skipped under a
# sanitizer or on one core, and retried a few times because the machine may
# be busy with other work (a parallel speed-up needs a second core that is
# free); everything else is checked exactly.

setup() {
    load helper
    export LC_ALL=C # the timelines draw '#' and '.', which awk can count
    MS=60           # how long one task takes alone, in ms
    [ -z "$WB_SAN" ] || MS=30
}

no_sanitizer_report() {
    if grep -qE 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|WARNING: ThreadSanitizer' \
        <<<"$output${stderr:-}"; then
        echo "sanitizer report:" >&2
        echo "$output${stderr:-}" >&2
        return 1
    fi
}

need_two_cores() {
    [ "$(nproc)" -ge 2 ] || skip "this machine gives us one core: nothing can run in parallel"
}

# From the summary at the end: the wall time on the line that starts with $1,
# or its speed-up ("free threads  0.152 s  speed-up 1.97x").
wall() { sed -nE "s/^$1 +([0-9.]+) s.*/\1/p" <<<"$output"; }
speedup() { sed -nE "s/^$1 +[0-9.]+ s +speed-up ([0-9.]+)x.*/\1/p" <<<"$output"; }
at_least() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'; }

# The bars of the timeline drawn in the section whose heading starts with $1.
bars() {
    awk -v h="$1" 'index($0, h) == 1 { inside = 1; next }
        inside && /^== / { exit }
        inside && /^ +[0-9]+ [#.]+$/ { print $2 }' <<<"$output"
}
# Succeeds if some column of the bars on stdin has a '#' in two rows or more.
overlap() {
    awk '{ for (i = 1; i <= length($0); i++) if (substr($0, i, 1) == "#") n[i]++ }
        END { for (i in n) if (n[i] > 1) exit 0; exit 1 }'
}

@test "buns: each run draws a timeline; the parallel bars overlap, the sequential ones never do" {
    run -0 timeout 30 "$WB_BIN/ch02/buns" -t "$MS"
    no_sanitizer_report
    assert_equal "$(grep -c '^timeline: 3 tasks' <<<"$output")" 3
    assert_equal "$(bars '== sequential' | wc -l)" 3
    assert_equal "$(bars '== parallel' | wc -l)" 3
    bars '== parallel' | overlap || fail "the parallel run's bars do not overlap"
    bars '== concurrent' | overlap || fail "the concurrent run's bars do not overlap"
    ! bars '== sequential' | overlap || fail "the sequential run's bars overlap"
    assert_line --regexp '^== concurrent .*'
    assert_line --regexp '^ +\(3 threads, all pinned to CPU [0-9]+: only one of them runs at any moment\)$'
}

@test "buns: pinned to one core, the concurrent run takes at least 1.5 times as long as the parallel one" {
    skip_under_sanitizer "a CPU speed-up"
    need_two_cores
    local attempt con par ratios=
    for attempt in 1 2 3 4 5; do
        run -0 timeout 30 "$WB_BIN/ch02/buns" -t "$MS"
        con=$(wall concurrent) par=$(wall parallel)
        ratios+=" $con/$par"
        at_least "$con" "$(awk -v p="$par" 'BEGIN { print 1.5 * p }')" && return 0
        sleep 0.2 # another program may hold a core for a moment: let it pass
    done
    fail "concurrent/parallel wall times in five attempts:$ratios"
}

@test "buns: taking turns on one core is no faster than one bun after another" {
    skip_under_sanitizer "a CPU speed-up"
    local attempt seq con times=
    for attempt in 1 2 3; do
        run -0 timeout 30 "$WB_BIN/ch02/buns" -t "$MS"
        seq=$(wall sequential) con=$(wall concurrent)
        times+=" $seq/$con"
        at_least "$con" "$(awk -v s="$seq" 'BEGIN { print 0.8 * s }')" && return 0
    done
    fail "sequential/concurrent wall times in three attempts:$times"
}

@test "gil: without the lock the threads are at least 1.5 times faster than one thread" {
    skip_under_sanitizer "a CPU speed-up"
    need_two_cores
    local attempt s seen=
    for attempt in 1 2 3 4 5; do
        run -0 timeout 30 "$WB_BIN/ch02/gil" -n 2 -t "$MS"
        s=$(speedup "free threads")
        seen+=" $s"
        at_least "$s" 1.5 && return 0
        sleep 0.2 # another program may hold a core for a moment: let it pass
    done
    fail "speed-ups of the free threads in five attempts:$seen"
}

@test "gil: with the global lock the threads are not even 1.3 times faster than one thread" {
    skip_under_sanitizer "a CPU speed-up"
    need_two_cores
    local attempt s seen=
    for attempt in 1 2 3; do
        run -0 timeout 30 "$WB_BIN/ch02/gil" -n 2 -t "$MS"
        s=$(speedup "GIL threads")
        seen+=" $s"
        at_least "$s" 1.3 || return 0
    done
    fail "speed-ups of the GIL threads in three attempts:$seen"
}

@test "gil: three timelines, and with the lock every thread gets its turn again and again" {
    run -0 timeout 30 "$WB_BIN/ch02/gil" -n 3 -t "$MS"
    no_sanitizer_report
    assert_equal "$(grep -c '^timeline: 3 tasks' <<<"$output")" 3
    assert_equal "$(grep -cE '^  thread [0-9]: [0-9.]+ s of CPU within [0-9.]+ s$' <<<"$output")" 3
    local turns
    turns=$(sed -nE 's/.*, had the lock ([0-9]+) times$/\1/p' <<<"$output")
    assert_equal "$(wc -l <<<"$turns")" 3
    for t in $turns; do
        at_least "$t" 10 || fail "a thread had the lock only $t times:"$'\n'"$output"
    done
    assert_line --regexp '^one thread +[0-9.]+ s$'
}

@test "fork_vs_thread: the child's change stays in the child, the thread's change reaches main" {
    run -0 timeout 30 "$WB_BIN/ch02/fork_vs_thread" -n 20
    no_sanitizer_report
    assert_line "process: after the child set value = 1, the parent sees value = 0"
    assert_line "thread:  after the thread set value = 1, main sees value = 1"
    assert_line --regexp '^process: child process [0-9]+ sets value = 1$'
}

@test "fork_vs_thread: a process and a thread both cost a positive time" {
    run -0 timeout 30 "$WB_BIN/ch02/fork_vs_thread" -n 50
    no_sanitizer_report
    local p t
    p=$(sed -nE 's/^cost of a process .*: +([0-9.]+) us \(mean of 50\)$/\1/p' <<<"$output")
    t=$(sed -nE 's/^cost of a thread .*: +([0-9.]+) us \(mean of 50\)$/\1/p' <<<"$output")
    [ -n "$p" ] && [ -n "$t" ] || fail "no cost lines in:"$'\n'"$output"
    awk -v p="$p" -v t="$t" 'BEGIN { exit !(p > 0 && t > 0) }' || fail "costs: $p us, $t us"
}

@test "blocking: the blocking reader does no other work while it waits, the non-blocking one does" {
    run -0 timeout 30 "$WB_BIN/ch02/blocking" -d 100
    no_sanitizer_report
    local units
    units=($(sed -nE 's/^  other work done while waiting: ([0-9]+) units$/\1/p' <<<"$output"))
    assert_equal "${#units[@]}" 2
    assert_equal "${units[0]}" 0
    at_least "${units[1]}" 1 || fail "the non-blocking reader did no other work"
    # EAGAIN shows up in the non-blocking run only.
    assert_equal "$(sed -n '/^== blocking/,/^== non-blocking/p' <<<"$output" | grep -c EAGAIN)" 0
    assert_equal "$(sed -n '/^== non-blocking/,$p' <<<"$output" | grep -c 'EAGAIN')" 1
    assert_line --regexp '^  [0-9.]+ s  reader: read\(\) returned 17 bytes on try 1: "your bun is ready"$'
}

@test "row_lock --lock: the stock is always exact" {
    local items=200000
    [ -z "$WB_SAN" ] || items=20000
    for attempt in 1 2 3; do
        run -0 timeout 30 "$WB_BIN/ch02/row_lock" --lock -t 8 -i "$items"
        no_sanitizer_report
        assert_line "stock: 0 expected: 0 OK"
    done
}

@test "row_lock without the lock loses updates (a race: it may take a few runs)" {
    local items=1000000 attempt
    [ -z "$WB_SAN" ] || items=100000
    for attempt in $(seq 10); do
        run -0 timeout 30 "$WB_BIN/ch02/row_lock" -t 8 -i "$items"
        no_sanitizer_report
        if [[ "${lines[${#lines[@]} - 1]}" =~ ^stock:\ ([0-9]+)\ expected:\ 0\ LOST\ ([0-9]+)\ updates$ ]]; then
            assert_equal "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}"
            return 0
        fi
        assert_equal "${lines[${#lines[@]} - 1]}" "stock: 0 expected: 0 OK"
    done
    fail "no update was lost in ten runs"
}

@test "ch02: every program answers --help with its usage and a bad option with exit 2" {
    for p in buns gil fork_vs_thread blocking row_lock; do
        run -0 timeout 10 "$WB_BIN/ch02/$p" --help
        assert_line --partial "Usage: $p"
        run --separate-stderr -2 timeout 10 "$WB_BIN/ch02/$p" --bogus
        assert_stderr_contains "Usage: $p"
        run --separate-stderr -2 timeout 10 "$WB_BIN/ch02/$p" extra
    done
    run --separate-stderr -2 timeout 10 "$WB_BIN/ch02/buns" -n 0
    run --separate-stderr -2 timeout 10 "$WB_BIN/ch02/gil" -t x
    run --separate-stderr -2 timeout 10 "$WB_BIN/ch02/row_lock" -i -5
}

#!/usr/bin/env bats
# tests/exercises/ch05_timer_loop.bats - grades the event loop's timers
# (chapter 5, exercise: exercises/ch05/timer_loop.c).
#
# The program under test is "$WB_EX/ch05/timer_harness": the given harness
# linked with the student's timer_loop.c. It runs the loop on a fake clock
# that moves only when the loop calls loop_wait(), so it knows which timer
# must ring next and how long every wait must be, and ends with three
# verdict lines (rang N of N timers / order: ... / waits: ...). No stopwatch:
# the same seed gives the same run on any machine. Only the harness's own
# verdict counts: each run writes a fresh key into a file named by
# WB_GRADE_KEY_FILE, which the harness (grade_key.c) reads and deletes before
# main() starts and puts in front of each verdict line, so a line that the
# loop prints itself does not count. The three lines must come once, last,
# and the exit status must be the harness's (0 when all three hold).
#
# Points: a graded test's name ends with [N pts] (tests/exercises/README.md).

setup() {
    load ../helper
    PROG="$WB_EX/ch05/timer_harness"
    RIGHT_ORDER='order: right \(each at its deadline, ties first in, first out\)'
}

# harness ARGS...: run it (10 s at most, stdout and stderr together cut at
# 1 MB: a program that prints more is stopped by SIGPIPE, status 141) under
# `run`, with a fresh key, and keep the command line as a student would type
# it. The timeout stops the harness only, not the head, so what it printed
# before is kept. Then VERDICT: the harness's lines, their key taken off,
# and BLOCK: what is wrong with them as a whole ('' if nothing).
harness() {
    CMD="${PROG#"$WB_ROOT"/} $*"
    KEY="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
    local keyfile="$BATS_TEST_TMPDIR/key.$RANDOM$RANDOM" keyed want=1
    printf '%s\n' "$KEY" >"$keyfile"
    # shellcheck disable=SC2016 # the inner bash expands them
    run bash -c 'WB_GRADE_KEY_FILE="$1" timeout 10 "${@:2}" 2>&1 | head -c 1000000; exit "${PIPESTATUS[0]}"' \
        _ "$keyfile" "$PROG" "$@"
    rm -f "$keyfile"
    VERDICT="$(sed -n "s/^\[$KEY\] //p" <<<"$output")"
    keyed="$(grep -c "^\[$KEY\] " <<<"$output" || true)"
    BLOCK=''
    if [ "$keyed" -eq 0 ]; then
        BLOCK="the harness never gave its verdict: loop_run() must return to it (not exit, not hang), once no timer is left"
    elif [ "$keyed" -ne 3 ] || [ "$(tail -n 3 <<<"$output" | grep -c "^\[$KEY\] ")" -ne 3 ]; then
        BLOCK="the harness's three verdict lines must be the last lines, once: something was printed after them"
    else
        # the harness exits 0 when all three lines hold, 1 when not
        grep -qx 'rang \([0-9]*\) of \1 timers' <<<"$VERDICT" && grep -qxE "$RIGHT_ORDER" <<<"$VERDICT" &&
            grep -qxE 'waits: [0-9]+, each until the next deadline' <<<"$VERDICT" && want=0
        [ "$status" -eq "$want" ] || [ "$status" -gt 128 ] ||
            BLOCK="the harness exits with status $want after that verdict, but the program ended with status $status: something ran after it"
    fi
}

# verdict LINE HINT: the harness's verdict must have LINE as a whole line (a
# regular expression: "waits: [0-9]+, ..." takes any count); if not, say what
# came and where to look.
verdict() {
    [ -z "$BLOCK" ] && grep -qxE -- "$1" <<<"$VERDICT" && return 0
    local ending='' got hint="$2"
    if [ -n "$VERDICT" ]; then
        got="$(paste -sd '|' <<<"$VERDICT" | sed 's/|/ | /g') (the harness's verdict)"
    else
        got="$(tail -n 3 <<<"$output" | cut -c1-200 | paste -sd '|' | sed 's/|/ | /g')"
    fi
    case "$status" in
    0 | 1) [ -z "$BLOCK" ] || hint="$BLOCK" ;;
    124) ending=$'\nTIMEOUT: it was still running after 10 s' ;;
    141)
        got="$(head -n 3 <<<"$output" | cut -c1-100 | paste -sd '|' | sed 's/|/ | /g') ..."
        ending=$'\nmore than 1 MB of output: the test stopped reading (status 141)'
        hint="more than 1 MB of output: remove debugging prints (the harness prints a line per ring unless -q; a printf() in a loop prints millions)"
        ;;
    *) if [ "$status" -gt 128 ]; then
        ending=$'\n'"CRASH: it was killed by signal $((status - 128)) (SIG$(kill -l "$((status - 128))" 2>/dev/null))"
    else
        ending=$'\n'"it exited with status $status"
        [ -z "$BLOCK" ] || hint="$BLOCK"
    fi ;;
    esac
    fail "$(printf 'command: %s\nexpected: the line: %s (from the harness)\ngot: %s%s\nhint: %s' \
        "$CMD" "${1//\\/}" "$got" "$ending" "$hint")"
}

# order_hint HINT: the hint for a wrong order or a wrong wait, from the
# harness's own words on its order line: a timer due later that rang before
# one due earlier is the heap's fault (and every wait after it is wrong
# too), whatever the test is about; else HINT, the test's own.
order_hint() {
    local line
    line="$(grep -m 1 '^order: WRONG: ' <<<"$VERDICT")"
    if [[ "$line" =~ \(due\ at\ ([0-9]+)\ ms,[^\)]*\)\ rang\ before\ timer\ [0-9]+\ \(due\ at\ ([0-9]+)\ ms ]] &&
        [ "${BASH_REMATCH[1]}" != "${BASH_REMATCH[2]}" ]; then
        echo "a timer due later rang before one due earlier, so heap[0] was not the earliest timer: in loop_add_timer(), sift the new timer up (swap it with its parent while it is earlier); when the top is taken off, sift the last timer down from the top"
    elif [[ "$line" == *" rang twice"* ]]; then
        echo "a timer rang twice: take it off the heap before calling its callback, and never put it back"
    else
        echo "$1"
    fi
}

@test "ten timers ring, each at its own deadline, in the order of the deadlines [3 pts]" {
    harness -n 10 -r 1000
    verdict "rang 10 of 10 timers" \
        "loop_run() must run every timer before it returns (exercises/ch05/timer_loop.c)"
    verdict "$RIGHT_ORDER" \
        "$(order_hint "heap[0] must always be the earliest timer: sift a new timer up in loop_add_timer(), the last one down when the top is taken")"
}

@test "a thousand timers with many ties ring in order, ties first in, first out [4 pts]" {
    harness -q -n 1000 -r 50 -s 7
    verdict "rang 1000 of 1000 timers" \
        "loop_run() must run every timer before it returns"
    verdict "$RIGHT_ORDER" \
        "$(order_hint "of two timers with the same deadline, the one with the smaller seq goes first: compare seq when the deadlines are equal, both when sifting up and down")"
}

@test "every wait lasts exactly until the next deadline: no polling, no oversleeping [4 pts]" {
    harness -q -n 200 -r 500 -s 3
    verdict "rang 200 of 200 timers" \
        "loop_run() must run every timer before it returns"
    verdict "waits: [0-9]+, each until the next deadline" \
        "$(order_hint "wait only when heap[0] is not due yet, for heap[0].deadline - loop_now() ms: a wait of 0 is polling, a longer one makes the timer late")"
}

@test "after a late wake-up, every timer already due rings before the next wait [3 pts]" {
    harness -q -n 300 -r 200 -s 11 --late
    verdict "rang 300 of 300 timers" \
        "loop_run() must run every timer before it returns"
    verdict "$RIGHT_ORDER" \
        "$(order_hint "after loop_wait(), run every timer whose deadline has passed (deadline <= loop_now()), not just one")"
    verdict "waits: [0-9]+, each until the next deadline" \
        "$(order_hint "after a wait, read loop_now() again: the wait may have lasted longer than asked")"
}

@test "after an early wake-up, it waits again for the rest of the time [3 pts]" {
    harness -q -n 300 -r 2000 -s 5 --early
    verdict "rang 300 of 300 timers" \
        "loop_run() must run every timer before it returns"
    verdict "$RIGHT_ORDER" \
        "$(order_hint "loop_wait() may come back before the deadline (a socket was ready): check the deadline against loop_now() again, never assume the timer is due")"
    verdict "waits: [0-9]+, each until the next deadline" \
        "$(order_hint "after an early wake-up, wait again for deadline - loop_now(), the time that is left")"
}

@test "a callback can add timers, even one due at once [3 pts]" {
    harness -q -n 400 -r 100 -s 2 --chain
    verdict "rang 600 of 600 timers" \
        "a callback may call loop_add_timer(): take the timer off the heap before calling its callback, and keep running until the heap is empty"
    verdict "$RIGHT_ORDER" \
        "$(order_hint "a timer added by a callback with ms == 0 is due at once, after the timers already due at that moment (it has a larger seq)")"
}

#!/usr/bin/env bats
# tests/exercises/ch03_bounded_pool.bats - grades the bounded thread pool
# (chapter 3, exercise: exercises/ch03/bounded_pool.c).
#
# Runs "$WB_EX/ch03/bounded_pool" (solutions/ by default, exercises/ under
# `make grade`) against a private lab server, and judges by structure, not
# by a stopwatch: the lab's peak of fetches at once, the order of the lines,
# the CPU time the process burns while it can only wait, the threads it
# created and joined, and runs with yields and spurious wake-ups injected.
# The program is linked with tests/exercises/yield_shim.c: with
# WB_YIELD_SEED=N its lock, unlock and wait calls may give the core away
# first, and a pthread_cond_wait() may return without a signal (POSIX allows
# it); at exit it says on stderr how many threads were created and joined.
# The ThreadSanitizer test runs the same source built with -fsanitize=thread
# ("$WB_EX_TSAN/ch03/bounded_pool", built by the grader into build/tsan/).
#
# Points: a graded test's name ends with [N pts] (tests/exercises/README.md).

setup() {
    load ../helper
    PROG="$WB_EX/ch03/bounded_pool"
    : "${WB_EX_TSAN:=$WB_ROOT/build/tsan/$(basename "$WB_EX")}"
    # the grader builds the chapter programs a suite names, the lab server too
    [ -x "$WB_BIN/ch00/labserver" ] || fail "no lab server at $WB_BIN/ch00/labserver: make ch00"
    lab_start
    BG_PID=
}

teardown() {
    if [ -n "$BG_PID" ]; then
        kill -KILL "$BG_PID" 2>/dev/null || true
        wait "$BG_PID" 2>/dev/null || true
    fi
    lab_stop
}

# pool LIMIT ARGS...: run the program under `run --separate-stderr` for LIMIT
# seconds at most, output cut at 1 MB; keep the command for the messages.
# The timeout stops the program only, not the head that cuts its output, so
# the lines a hung program printed still reach "got:".
pool() {
    CMD="${PROG#"$WB_ROOT"/} ${*:2}"
    # how many result lines the run should print: -n N, or one per URL
    local a
    WANT=0
    for a in "${@:2}"; do [[ "$a" != http* ]] || WANT=$((WANT + 1)); done
    for ((a = 2; a < $#; a++)); do [ "${!a}" != -n ] || { a=$((a + 1)); WANT="${!a}"; break; }; done
    # shellcheck disable=SC2016 # the inner bash expands them
    run --separate-stderr bash -c 'timeout "$1" "${@:2}" | head -c 1000000; exit "${PIPESTATUS[0]}"' \
        _ "$1" "$PROG" "${@:2}"
}

# How the last run ended, for the messages.
ending() {
    case "$status" in
    0) echo "it exited with status 0" ;;
    124) echo "TIMEOUT: it was still running when the test stopped it" ;;
    13[2-9]) echo "CRASH: it was killed by signal $((status - 128))" ;;
    *) echo "it exited with status $status" ;;
    esac
}

# explain EXPECTED HINT: fail with the command, what was expected, what came.
# A run that printed every result in order (WANT of them) but then hung did
# the queue's part: what is missing is the stop, whatever the test's hint.
explain() {
    local hint="$2"
    if [ "$status" -eq 124 ] && [ "${WANT:-0}" -gt 0 ] && in_order "$WANT"; then
        hint="every result came, $WANT of $WANT in order, then it hung on the way out: pool_stop() must, under the lock, set p->stop and pthread_cond_broadcast(&p->not_empty) so that every idle worker wakes, then pthread_join() each worker; queue_get() returns false once the pool stops and the queue is empty (exercises/ch03/bounded_pool.c)"
    fi
    fail "$(printf 'command: %s\nexpected: %s\ngot: %s\n%s\nstderr: %s\nhint: %s' "$CMD" "$1" \
        "$(head -n 6 <<<"$output")" "$(ending)" "$(head -n 4 <<<"$stderr")" "$hint")"
}

# in_order N: the output has exactly N result lines, [0] to [N-1], each for
# the URL with ?i=K (or the K-th of $URLS) at its end.
in_order() {
    awk -v n="$1" 'BEGIN { k = 0 }
        /^\[/ { if ($1 != "[" k "]" || $NF !~ ("[?&]i=" k "$")) bad = 1; k++ }
        END { exit !(k == n && !bad) }' <<<"$output"
}

@test "W workers: the lab sees exactly W fetches at once, never more [4 pts]" {
    pool 20 -w 3 -c 2 -n 12 -d 300
    local peak
    peak="$(lab_stat peak)"
    in_order 12 && [ "$peak" = 3 ] && return 0
    explain "12 result lines, and a lab peak of exactly 3 fetches at once (it was ${peak:-?})" \
        "three workers, each taking one URL at a time from the queue: write queue_put() and queue_get() (exercises/ch03/bounded_pool.c)"
}

@test "results come out in input order, though later URLs finish first [3 pts]" {
    pool 20 -w 5 -c 5 "$LAB_URL/delay/800?i=0" "$LAB_URL/delay/600?i=1" \
        "$LAB_URL/delay/400?i=2" "$LAB_URL/delay/200?i=3" "$LAB_URL/delay/0?i=4"
    in_order 5 && [ "$status" -eq 0 ] && return 0
    explain "five lines, [0] to [4], in the order of the URLs" \
        "main prints result i only once wait_result(i) returns; the queue must hand the URLs out oldest first (the head of the ring)"
}

@test "idle workers sleep while the one busy worker waits four seconds [3 pts]" {
    local url="$LAB_URL/delay/4000?i=0"
    WANT=1
    CMD="WB_YIELD_SEED=0 ${PROG#"$WB_ROOT"/} -w 3 $url"
    WB_YIELD_SEED=0 "$PROG" -w 3 "$url" >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" 3>&- &
    BG_PID=$!

    # CPU time (utime + stime, fields 14 and 15 of /proc/PID/stat, in clock
    # ticks) from 0.5 s to 2 s, while two workers have nothing to do
    sleep 0.5
    local t0 t1 hz i
    hz="$(getconf CLK_TCK)"
    t0="$(awk '{ print $14 + $15 }' "/proc/$BG_PID/stat" 2>/dev/null || true)"
    sleep 1.5
    t1="$(awk '{ print $14 + $15 }' "/proc/$BG_PID/stat" 2>/dev/null || true)"

    # then let it end (20 s at most)
    for ((i = 0; i < 200; i++)); do
        kill -0 "$BG_PID" 2>/dev/null || break
        sleep 0.1
    done
    status=0
    if kill -0 "$BG_PID" 2>/dev/null; then
        hang_autopsy "$BG_PID"
        kill -KILL "$BG_PID" 2>/dev/null || true
        wait "$BG_PID" 2>/dev/null || true
        status=124
    else
        wait "$BG_PID" 2>/dev/null || status=$?
    fi
    BG_PID=
    output="$(cat "$BATS_TEST_TMPDIR/out")"
    stderr="$(cat "$BATS_TEST_TMPDIR/err")"

    # a thread that spins on the mutex instead of waiting locks it thousands
    # of times; one that sleeps in pthread_cond_wait() a few times
    local locks
    locks="$(sed -nE 's/^yield_shim: mutex locks: ([0-9]+),.*/\1/p' <<<"$stderr")"
    if [ -z "$t0" ] || [ -z "$t1" ] || ! in_order 1 || [ "$status" -ne 0 ] || [ -z "$locks" ]; then
        explain "one result line after about 4 s, exit status 0" \
            "a worker takes the URL from the queue and fetches it while main waits for its result"
    fi
    if [ "$locks" -gt 1000 ] || [ $(((t1 - t0) * 5)) -gt "$hz" ]; then
        fail "$(printf 'command: %s\nexpected: a few mutex locks and about 0 s of CPU time while two workers are idle\ngot: %s mutex locks, %s s of CPU time in 1.5 s\nhint: %s' \
            "$CMD" "$locks" "$(awk -v t=$((t1 - t0)) -v hz="$hz" 'BEGIN { printf "%.2f", t / hz }')" \
            "an idle worker must sleep in pthread_cond_wait() (wait_on(&p->not_empty, p)) until a URL comes, not go round a loop that unlocks and locks again")"
    fi
}

@test "stopping the pool wakes every idle worker and joins it [3 pts]" {
    WB_YIELD_SEED=0 pool 20 -w 5 -c 5 -n 3 -d 0
    in_order 3 && [ "$status" -eq 0 ] && grep -qxF 'yield_shim: threads created: 5, joined: 5' <<<"$stderr" &&
        return 0
    explain "three result lines, then an exit with status 0, and every one of the 5 workers joined (yield_shim counts them)" \
        "pool_stop(): under the lock set p->stop and pthread_cond_broadcast(&p->not_empty) so that every idle worker wakes and sees it, then pthread_join() each worker; queue_get() returns false when the pool stops and the queue is empty"
}

@test "ten runs with seeded yields and spurious wake-ups: every one right [4 pts]" {
    local seed served runs=0 failed=() first=''
    for seed in 1 2 3 4 5 6 7 8 9 10; do
        lab_reset
        WB_YIELD_SEED=$seed pool 10 -w 4 -c 1 -n 60 -d 0
        runs=$((runs + 1))
        served="$(lab_stat served)"
        in_order 60 && [ "$status" -eq 0 ] && [ "$served" = 60 ] && continue
        failed+=("$seed")
        if [ -z "$first" ]; then
            first="WB_YIELD_SEED=$seed $CMD"
            FIRST_OUT="$output" FIRST_ERR="$stderr" FIRST_STATUS=$status FIRST_SERVED=$served
        fi
        # three failures say enough, and a hang costs 10 s each
        [ ${#failed[@]} -lt 3 ] || break
    done
    [ ${#failed[@]} -eq 0 ] && return 0
    CMD="$first" output="$FIRST_OUT" stderr="$FIRST_ERR" status=$FIRST_STATUS
    explain "60 result lines in order, each URL fetched once, exit status 0, for every seed; $((runs - ${#failed[@]})) of $runs seeds passed, failed: ${failed[*]} (the command replays the first; the lab served $FIRST_SERVED)" \
        "when pthread_cond_wait() returns, the condition may be false again: another worker took the URL first, or the wake-up was spurious. Wait in a while loop, never under an if, and keep not_empty and not_full apart"
}

@test "ThreadSanitizer finds no data race and no thread left unjoined [3 pts]" {
    local tsan="$WB_EX_TSAN/ch03/bounded_pool"
    [ -x "$tsan" ] || skip "no ThreadSanitizer build: make SAN=thread ${tsan#"$WB_ROOT"/build/tsan/}"
    CMD="${tsan#"$WB_ROOT"/} -w 4 -c 50 -n 50 -d 0"
    WANT=50
    run --separate-stderr timeout 30 env TSAN_OPTIONS=halt_on_error=1 "$tsan" -w 4 -c 50 -n 50 -d 0
    if grep -q 'WARNING: ThreadSanitizer' <<<"$stderr"; then
        fail "$(printf 'command: %s\nexpected: no ThreadSanitizer report\ngot: %s\nhint: %s' "$CMD" \
            "$(grep -A 12 'WARNING: ThreadSanitizer' <<<"$stderr" | head -n 20)" \
            "data race: the queue or a result touched without the lock; thread leak: a worker that ended but was never joined (pool_stop)")"
    fi
    in_order 50 && [ "$status" -eq 0 ] && return 0
    explain "50 result lines in order, exit status 0" "write queue_put(), queue_get() and pool_stop()"
}

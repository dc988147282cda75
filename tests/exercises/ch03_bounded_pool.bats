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
    # seconds a run that printed every result in order is given to end by
    # itself; then it is stopped, and passes all the same (AFTER_RESULTS=1):
    # stopping is the stop test's business, not every test's
    GRACE=2
}

teardown() {
    if [ -n "$BG_PID" ]; then
        kill -KILL "$BG_PID" 2>/dev/null || true
        wait "$BG_PID" 2>/dev/null || true
    fi
    lab_stop
}

# pool LIMIT ARGS...: run the program (supervise) for LIMIT seconds at most;
# keep the command for the messages, and WANT, how many result lines the run
# should print: -n N, or one per URL.
pool() {
    CMD="${PROG#"$WB_ROOT"/} ${*:2}"
    local a
    WANT=0
    for a in "${@:2}"; do [[ "$a" != http* ]] || WANT=$((WANT + 1)); done
    for ((a = 2; a < $#; a++)); do [ "${!a}" != -n ] || { a=$((a + 1)); WANT="${!a}"; break; }; done
    supervise "$1" "$PROG" "${@:2}"
}

# supervise LIMIT COMMAND...: run COMMAND under `timeout LIMIT` in the
# background, stdout and stderr each into a file cut at 1 MB (ulimit -f: a
# program that writes more is stopped by SIGXFSZ, status 153, instead of
# filling the disk and the grader's memory), until it ends; then output,
# stderr and status, as `run --separate-stderr` sets them. With GRACE set, a
# run that has printed its WANT results in order and has not ended GRACE s
# later is stopped there: status 124, AFTER_RESULTS=1. The timeout stops the
# program only, and whatever it wrote before is in the files.
supervise() {
    local limit=$1 out="$BATS_TEST_TMPDIR/out" err="$BATS_TEST_TMPDIR/err" since='' child
    shift
    (ulimit -f 1000 && exec timeout "$limit" "$@") >"$out" 2>"$err" 3>&- &
    BG_PID=$!
    AFTER_RESULTS=''
    while ! ended "$BG_PID"; do
        if [ -n "$GRACE" ] && [ -z "$since" ] && [ "$WANT" -gt 0 ] && in_order "$WANT" "$out"; then
            since=$SECONDS
        elif [ -n "$since" ] && [ $((SECONDS - since)) -ge "$GRACE" ]; then
            child=$(program_pid "$BG_PID") && kill -KILL "$child" 2>/dev/null
            AFTER_RESULTS=1
            break
        fi
        sleep 0.05
    done
    status=0
    wait "$BG_PID" 2>/dev/null || status=$?
    BG_PID=
    [ -z "$AFTER_RESULTS" ] || status=124
    output="$(head -c 1000000 "$out")"
    stderr="$(head -c 1000000 "$err")"
}

# How the last run ended, for the messages.
ending() {
    case "$status" in
    0) echo "it exited with status 0" ;;
    124) if [ -n "${AFTER_RESULTS:-}" ]; then
        echo "every result came; it had not ended $GRACE s later, and was stopped there (the stop test grades the exit)"
    else
        echo "TIMEOUT: it was still running when the test stopped it"
    fi ;;
    141 | 153) echo "it wrote more than 1 MB of output: the test stopped it (status $status)" ;;
    13[2-9]) echo "CRASH: it was killed by signal $((status - 128))" ;;
    *) echo "it exited with status $status" ;;
    esac
}

# explain EXPECTED HINT: fail with the command, what was expected, what came.
# A run that printed every result in order (WANT of them) but then hung did
# the queue's part: what is missing is the stop, whatever the test's hint.
explain() {
    local hint="$2"
    if [ "$status" -eq 124 ] && [ -z "${AFTER_RESULTS:-}" ] && [ "${WANT:-0}" -gt 0 ] && in_order "$WANT"; then
        hint="every result came, $WANT of $WANT in order, then it hung on the way out: pool_stop() must, under the lock, set p->stop and pthread_cond_broadcast(&p->not_empty) so that every idle worker wakes, then pthread_join() each worker; queue_get() returns false once the pool stops and the queue is empty (exercises/ch03/bounded_pool.c)"
    elif [ "$status" -eq 141 ] || [ "$status" -eq 153 ]; then
        hint="more than 1 MB of output: remove debugging prints (a printf() in a loop that waits, or spins, prints millions of lines)"
    fi
    fail "$(printf 'command: %s\nexpected: %s\ngot: %s\n%s\nstderr: %s\nhint: %s' "$CMD" "$1" \
        "$(head -n 6 <<<"$output" | cut -c1-200)" "$(ending)" "$(head -n 4 <<<"$stderr" | cut -c1-200)" "$hint")"
}

# in_order N [FILE]: the output (or FILE) has exactly N result lines, [0] to
# [N-1], each for the URL with ?i=K (or the K-th of $URLS) at its end.
in_order() {
    awk -v n="$1" 'BEGIN { k = 0 }
        /^\[/ { if ($1 != "[" k "]" || $NF !~ ("[?&]i=" k "$")) bad = 1; k++ }
        END { exit !(k == n && !bad) }' "${2:-/dev/stdin}" <<<"$output"
}

# ended_well: the last run exited 0, or was stopped after every result came.
ended_well() { [ "$status" -eq 0 ] || [ -n "$AFTER_RESULTS" ]; }

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
    in_order 5 && ended_well && return 0
    explain "five lines, [0] to [4], in the order of the URLs" \
        "main prints result i only once wait_result(i) returns; the queue must hand the URLs out oldest first (the head of the ring)"
}

@test "idle workers sleep while the one busy worker waits four seconds [3 pts]" {
    local url="$LAB_URL/delay/4000?i=0"
    WANT=1
    CMD="WB_YIELD_SEED=0 ${PROG#"$WB_ROOT"/} -w 3 $url"
    # ulimit -f: a program that writes more than 1 MB is stopped (SIGXFSZ)
    (ulimit -f 1000 && WB_YIELD_SEED=0 exec "$PROG" -w 3 "$url") \
        >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/err" 3>&- &
    BG_PID=$!

    # CPU time (utime + stime, fields 14 and 15 of /proc/PID/stat, in clock
    # ticks) from 0.5 s to 2 s, while two workers have nothing to do
    sleep 0.5
    local t0 t1 hz i since=''
    hz="$(getconf CLK_TCK)"
    t0="$(awk '{ print $14 + $15 }' "/proc/$BG_PID/stat" 2>/dev/null || true)"
    sleep 1.5
    t1="$(awk '{ print $14 + $15 }' "/proc/$BG_PID/stat" 2>/dev/null || true)"

    # then let it end (20 s at most; GRACE s after its result, which is
    # enough here: stopping is the stop test's business)
    AFTER_RESULTS=''
    for ((i = 0; i < 400; i++)); do
        ended "$BG_PID" && break
        if [ -z "$since" ] && in_order 1 "$BATS_TEST_TMPDIR/out"; then
            since=$SECONDS
        elif [ -n "$since" ] && [ $((SECONDS - since)) -ge "$GRACE" ]; then
            AFTER_RESULTS=1
            break
        fi
        sleep 0.05
    done
    status=0
    if ! ended "$BG_PID"; then
        [ -n "$AFTER_RESULTS" ] || hang_autopsy "$BG_PID"
        kill -KILL "$BG_PID" 2>/dev/null || true
        wait "$BG_PID" 2>/dev/null || true
        status=124
    else
        AFTER_RESULTS=''
        wait "$BG_PID" 2>/dev/null || status=$?
    fi
    BG_PID=
    output="$(head -c 1000000 "$BATS_TEST_TMPDIR/out")"
    stderr="$(head -c 1000000 "$BATS_TEST_TMPDIR/err")"

    # a thread that spins on the mutex instead of waiting locks it thousands
    # of times; one that sleeps in pthread_cond_wait() a few times
    # (yield_shim says it at exit: a run stopped after its result is judged
    # by its CPU time alone)
    local locks
    locks="$(sed -nE 's/^yield_shim: mutex locks: ([0-9]+),.*/\1/p' <<<"$stderr")"
    if [ -z "$t0" ] || [ -z "$t1" ] || ! in_order 1 || ! ended_well ||
        { [ -z "$locks" ] && [ -z "$AFTER_RESULTS" ]; }; then
        explain "one result line after about 4 s, exit status 0" \
            "a worker takes the URL from the queue and fetches it while main waits for its result"
    fi
    if [ "${locks:-0}" -gt 1000 ] || [ $(((t1 - t0) * 5)) -gt "$hz" ]; then
        fail "$(printf 'command: %s\nexpected: a few mutex locks and about 0 s of CPU time while two workers are idle\ngot: %s mutex locks, %s s of CPU time in 1.5 s\nhint: %s' \
            "$CMD" "${locks:-(not said: it did not exit)}" "$(awk -v t=$((t1 - t0)) -v hz="$hz" 'BEGIN { printf "%.2f", t / hz }')" \
            "an idle worker must sleep in pthread_cond_wait() (wait_on(&p->not_empty, p)) until a URL comes, not go round a loop that unlocks and locks again")"
    fi
}

@test "stopping the pool wakes every idle worker and joins it [3 pts]" {
    # no grace here: this test is the one that wants the exit
    GRACE='' WB_YIELD_SEED=0 pool 20 -w 5 -c 5 -n 3 -d 0
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
        in_order 60 && ended_well && [ "$served" = 60 ] && continue
        failed+=("$seed")
        if [ -z "$first" ]; then
            first="WB_YIELD_SEED=$seed $CMD"
            FIRST_OUT="$output" FIRST_ERR="$stderr" FIRST_STATUS=$status FIRST_SERVED=$served
            FIRST_AFTER="$AFTER_RESULTS"
        fi
        # three failures say enough, and a hang costs 10 s each
        [ ${#failed[@]} -lt 3 ] || break
    done
    [ ${#failed[@]} -eq 0 ] && return 0
    CMD="$first" output="$FIRST_OUT" stderr="$FIRST_ERR" status=$FIRST_STATUS AFTER_RESULTS="$FIRST_AFTER"
    explain "60 result lines in order, each URL fetched once, for every seed; $((runs - ${#failed[@]})) of $runs seeds passed, failed: ${failed[*]} (the command replays the first; the lab served $FIRST_SERVED)" \
        "when pthread_cond_wait() returns, the condition may be false again: another worker took the URL first, or the wake-up was spurious. Wait in a while loop, never under an if, and keep not_empty and not_full apart"
}

@test "ThreadSanitizer finds no data race and no thread left unjoined [3 pts]" {
    local tsan="$WB_EX_TSAN/ch03/bounded_pool"
    [ -x "$tsan" ] || skip "no ThreadSanitizer build: make SAN=thread ${tsan#"$WB_ROOT"/build/tsan/}"
    CMD="${tsan#"$WB_ROOT"/} -w 4 -c 50 -n 50 -d 0"
    WANT=50
    supervise 30 env TSAN_OPTIONS=halt_on_error=1 "$tsan" -w 4 -c 50 -n 50 -d 0
    # its runtime died before the program began: again with ASLR off (the
    # usual way around it) where the machine allows it, else not graded here
    local arch
    arch="$(uname -m)"
    if grep -q 'FATAL: ThreadSanitizer' <<<"$stderr" && setarch "$arch" -R true 2>/dev/null; then
        supervise 30 setarch "$arch" -R env TSAN_OPTIONS=halt_on_error=1 "$tsan" -w 4 -c 50 -n 50 -d 0
    fi
    if tsan_cannot_start; then
        skip "ThreadSanitizer cannot start on this machine, not even for an empty program ($(grep -m 1 -o 'FATAL: ThreadSanitizer: [a-z ]*[a-z]' <<<"$stderr"): a kernel with vm.mmap_rnd_bits=32, which sysctl vm.mmap_rnd_bits=28 mends)"
    fi
    if grep -q 'WARNING: ThreadSanitizer' <<<"$stderr"; then
        fail "$(printf 'command: %s\nexpected: no ThreadSanitizer report\ngot: %s\nhint: %s' "$CMD" \
            "$(grep -A 12 'WARNING: ThreadSanitizer' <<<"$stderr" | head -n 20)" \
            "data race: the queue or a result touched without the lock; thread leak: a worker that ended but was never joined (pool_stop)")"
    fi
    in_order 50 && ended_well && return 0
    explain "50 result lines in order, exit status 0" "write queue_put(), queue_get() and pool_stop()"
}

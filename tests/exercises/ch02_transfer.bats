#!/usr/bin/env bats
# tests/exercises/ch02_transfer.bats - grades the bank transfers under row locks
# (chapter 2, exercise: exercises/ch02/transfer.c).
#
# Runs "$WB_EX/ch02/transfer" (solutions/ by default, exercises/ under `make
# grade`): tellers in threads moving money between accounts, each transfer
# under the locks of its two accounts. bank.c keeps the books the tests read:
# every transfer done, the total kept, how many threads made transfers (one
# per teller: a program that runs the tellers one after the other in main
# never needs a lock, so it proves nothing about them), and with --meet how
# many transfers were inside their locks at the same moment (one big lock
# allows only one). The
# ThreadSanitizer test runs the same source built with -fsanitize=thread
# ("$WB_EX_TSAN/ch02/transfer", which the grader builds into build/tsan/): it
# reports a data race, and also two locks taken in opposite orders by two
# threads, even on a run that happened not to deadlock.
#
# Points: a graded test's name ends with [N pts] (tests/exercises/README.md).

setup() {
    load ../helper
    PROG="$WB_EX/ch02/transfer"
    : "${WB_EX_TSAN:=$WB_ROOT/build/tsan/$(basename "$WB_EX")}"
    SCALE=1 # sanitizer builds are slower: fewer transfers, same checks
    [ -z "$WB_SAN" ] || SCALE=10
}

# bank LIMIT ARGS...: run the program under `run` for LIMIT seconds at most
# (output cut at 1 MB), keeping the command line for the messages. The
# timeout stops the program only, not the head that cuts its output, so what
# a hung program printed still reaches "got:".
bank() {
    CMD="${PROG#"$WB_ROOT"/} ${*:2}"
    # shellcheck disable=SC2016 # the inner bash expands them
    run bash -c 'timeout "$1" "${@:2}" | head -c 1000000; exit "${PIPESTATUS[0]}"' _ "$1" "$PROG" "${@:2}"
}

# books LINE HINT: the output must have LINE; else say what came, how the
# program ended, and where to look.
books() {
    grep -qxF -- "$1" <<<"$output" && return 0
    local ending=''
    if [ "$status" -eq 124 ]; then
        ending=$'\n''TIMEOUT: still running when the test stopped it (a deadlock: two tellers each holding the lock the other waits for, or a lock taken twice)'
    elif [ "$status" -gt 128 ]; then
        ending=$'\n'"CRASH: killed by signal $((status - 128))"
    fi
    fail "$(printf 'command: %s\nexpected: the line: %s\ngot: %s%s\nhint: %s' \
        "$CMD" "$1" "$(tail -n 5 <<<"$output" | paste -sd '|' | sed 's/|/ | /g')" "$ending" "$2")"
}

# tellers N: the books say that N threads made transfers, one per teller.
tellers() {
    local threads
    threads="$(sed -n 's/^threads that made transfers: \([0-9]*\)$/\1/p' <<<"$output")"
    if [ "$threads" = 1 ] && [ "$1" -gt 1 ]; then
        books "threads that made transfers: $1" \
            "only one thread made all the transfers: the tellers took turns, so no lock was ever tested. Start each teller in a thread of its own, pthread_create(&team[k].thread, NULL, teller_run, &team[k]), all of them before you pthread_join() any (exercises/ch02/transfer.c)"
    else
        books "threads that made transfers: $1" \
            "run each of the $1 tellers in a thread of its own (pthread_create() with teller_run), and join them all before the books are read"
    fi
}

@test "4 tellers make half a million transfers each among 10 accounts, and the total is kept [4 pts]" {
    local n=$((500000 / SCALE))
    bank 15 -t 4 -n "$n" -a 10
    books "transfers done: $((4 * n)) of $((4 * n))" \
        "start one thread per teller running teller_run(), join them all, and make transfer() call bank_move() (exercises/ch02/transfer.c)"
    books "total before: 1000, after: 1000: kept" \
        "bank_move() must run holding the locks of both accounts, so that no two moves on one account mix"
    tellers 4
}

@test "a transfer from an account to itself locks it once and changes nothing [3 pts]" {
    bank 10 -t 2 -n $((100000 / SCALE)) -a 1
    books "transfers done: $((200000 / SCALE)) of $((200000 / SCALE))" \
        "with one account every transfer has from == to: lock that row once (a second pthread_mutex_lock() on a mutex the thread holds waits for itself, forever)"
    books "total before: 100, after: 100: kept" \
        "bank_move() must run holding the account's lock"
    tellers 2
}

@test "eight tellers fighting over three accounts never deadlock [3 pts]" {
    local n=$((100000 / SCALE))
    bank 15 -t 8 -n "$n" -a 3
    books "transfers done: $((8 * n)) of $((8 * n))" \
        "lock the two rows in one order for everyone, the lower account number first: then no two tellers can each hold the row the other waits for"
    books "total before: 300, after: 300: kept" \
        "bank_move() must run holding the locks of both accounts"
    tellers 8
}

@test "ThreadSanitizer finds no data race and no lock-order inversion [4 pts]" {
    local tsan="$WB_EX_TSAN/ch02/transfer"
    [ -x "$tsan" ] || skip "no ThreadSanitizer build: make SAN=thread ${tsan#"$WB_ROOT"/build/tsan/}"
    CMD="${tsan#"$WB_ROOT"/} -t 4 -n 20000 -a 5"
    run --separate-stderr timeout 20 env TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
        "$tsan" -t 4 -n 20000 -a 5
    if grep -q 'WARNING: ThreadSanitizer' <<<"$stderr"; then
        fail "$(printf 'command: %s\nexpected: no ThreadSanitizer report\ngot: %s\nhint: %s' "$CMD" \
            "$(grep -A 12 'WARNING: ThreadSanitizer' <<<"$stderr" | head -n 20)" \
            "lock-order-inversion: two threads took the same two locks in opposite orders (lock the lower account number first); data race: a balance was touched without its lock")"
    fi
    books "transfers done: 80000 of 80000" \
        "every transfer must be made, with both locks held"
    books "total before: 500, after: 500: kept" \
        "bank_move() must run holding the locks of both accounts"
    tellers 4
}

@test "transfers between different accounts are inside their locks at the same time [4 pts]" {
    bank 30 --meet -t 2 -a 4 -n 1
    local hint="one lock for the whole bank lets only one transfer in at a time: give each account its own lock (accounts[i].lock) and take only the two a transfer needs"
    case "$(sed -n 's/^threads that made transfers: //p' <<<"$output")" in
    0) hint="no transfer reached bank_move(): write transfer() (lock the two rows, bank_move(), unlock them), and start every teller in a thread of its own with pthread_create() before you pthread_join() any (exercises/ch02/transfer.c)" ;;
    1) hint="only one thread made the transfers, so two were never inside at once: start every teller with pthread_create(&team[k].thread, NULL, teller_run, &team[k]) before you pthread_join() any (exercises/ch02/transfer.c)" ;;
    2) hint="the two tellers ran in threads, but never inside their locks together: either one lock guards the whole bank (give each account its own lock, accounts[i].lock, and take only the two a transfer needs), or each thread is joined before the next is created (create them all, then join them all)" ;;
    esac
    books "most transfers inside their locks at once: 2" "$hint"
    books "total before: 400, after: 400: kept" \
        "bank_move() must run holding the locks of both accounts"
    tellers 2
}

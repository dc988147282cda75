#!/usr/bin/env bats
# tests/exercises/ch02_transfer.bats - grades the bank transfers under row locks
# (chapter 2, exercise: exercises/ch02/transfer.c).
#
# Runs "$WB_EX/ch02/transfer" (solutions/ by default, exercises/ under `make
# grade`): tellers in threads moving money between accounts, each transfer
# under the locks of its two accounts. bank.c, which is given, keeps the books
# in its own static variables and bank_close() prints them: every transfer
# done, the total kept (each account holding what its moves add up to), how
# many threads made transfers (one per teller: a program that runs the
# tellers one after the other in main never needs a lock, so it proves
# nothing about them), and with --meet how many transfers were inside their
# locks at the same moment (one big lock allows only one). The tests read
# only those lines: each run writes a fresh key into a file named by
# WB_GRADE_KEY_FILE, which bank.c reads and deletes before main() starts and
# puts in front of each line it prints, so a line that transfer.c prints
# itself does not count; the books must come once, as the last lines, and
# the program must exit with status 0. The
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
    WRAP=()
}

# bank LIMIT ARGS...: run PROG (under WRAP, if set) under `run
# --separate-stderr` for LIMIT seconds at most, stdout and stderr each cut at
# 1 MB (a program that prints more is stopped by SIGPIPE: status 141),
# keeping the command line for the messages. The timeout stops the program
# only, not the heads that cut its output, so what a hung program printed
# still reaches "got:". Then read the books (books_of).
bank() {
    CMD="${PROG#"$WB_ROOT"/} ${*:2}"
    KEY="$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')"
    local keyfile="$BATS_TEST_TMPDIR/key.$RANDOM$RANDOM"
    printf '%s\n' "$KEY" >"$keyfile"
    # shellcheck disable=SC2016 # the inner bash expands them
    # (stderr and stdout cut as in crawler.bash: both heads in a pipeline, so
    # bash waits for them, and no line the program wrote is lost)
    run --separate-stderr bash -c '{ WB_GRADE_KEY_FILE="$2" timeout "$1" "${@:3}" 2>&1 1>&3 3>&- |
        head -c 1000000 >&2; exit "${PIPESTATUS[0]}"; } 3>&1 | head -c 1000000
        exit "${PIPESTATUS[0]}"' _ "$1" "$keyfile" "${WRAP[@]}" "$PROG" "${@:2}"
    rm -f "$keyfile"
    books_of
}

# books_of: BOOKS, the lines bank_close() printed, their key taken off, and
# BLOCK, what is wrong with them as a whole ('' if nothing): they must come
# once, as the last lines of the output.
books_of() {
    local keyed
    BOOKS="$(sed -n "s/^\[$KEY\] //p" <<<"$output")"
    keyed="$(grep -c "^\[$KEY\] " <<<"$output" || true)"
    BLOCK=''
    if [ "$keyed" -eq 0 ]; then
        BLOCK="bank_close() never printed the books: main() must end with bank_close(&bank), once every teller is joined (as given)"
    elif [ "$(grep -c '^transfers done: ' <<<"$BOOKS")" -ne 1 ]; then
        BLOCK="bank_close() printed the books more than once: call it once, at the end of main()"
    elif [ "$(tail -n "$keyed" <<<"$output" | grep -c "^\[$KEY\] ")" -ne "$keyed" ]; then
        BLOCK="something was printed after the books: bank_close() comes last, after every teller is joined"
    fi
}

# ending: how the last run ended, in words; '' for status 0.
ending() {
    case "$status" in
    0) ;;
    124) echo "TIMEOUT: still running when the test stopped it (a deadlock: two tellers each holding the lock the other waits for, or a lock taken twice)" ;;
    141) echo "more than 1 MB of output: the test stopped reading (status 141)" ;;
    *) if [ "$status" -gt 128 ]; then
        echo "CRASH: killed by signal $((status - 128)) (SIG$(kill -l "$((status - 128))" 2>/dev/null))"
    else
        echo "it exited with status $status"
    fi ;;
    esac
}

# books LINE HINT: the books must have LINE, and the program exit 0; else say
# what came, how the program ended, and where to look.
books() {
    if [ -z "$BLOCK" ] && [ "$status" -eq 0 ] && grep -qxF -- "$1" <<<"$BOOKS"; then
        return 0
    fi
    local got hint="$2" end
    end="$(ending)"
    if [ -n "$BOOKS" ]; then
        got="$(paste -sd '|' <<<"$BOOKS" | sed 's/|/ | /g') (bank_close()'s lines)"
    else
        got="$(tail -n 5 <<<"$output" | paste -sd '|' | sed 's/|/ | /g')"
    fi
    if [ "$status" -eq 141 ]; then
        got="$(head -n 3 <<<"$output" | cut -c1-100 | paste -sd '|' | sed 's/|/ | /g') ..."
        hint="more than 1 MB of output: remove debugging prints (a printf() in transfer() prints once per transfer, millions of times)"
    elif [ -n "$BLOCK" ] && [ "$status" -eq 0 ]; then
        hint="$BLOCK"
    fi
    [ -z "$stderr" ] || end="${end:+$end$'\n'}stderr: $(head -n 3 <<<"$stderr" | cut -c1-200 | paste -sd '|' | sed 's/|/ | /g')"
    fail "$(printf 'command: %s\nexpected: the line: %s (from bank_close()), and exit status 0\ngot: %s%s\nhint: %s' \
        "$CMD" "$1" "$got" "${end:+$'\n'$end}" "$hint")"
}

# tellers N: the books say that N threads made transfers, one per teller.
tellers() {
    local threads
    threads="$(sed -n 's/^threads that made transfers: \([0-9]*\)$/\1/p' <<<"$BOOKS")"
    if [ "$threads" = 1 ] && [ "$1" -gt 1 ]; then
        books "threads that made transfers: $1" \
            "only one thread made all the transfers: the tellers took turns, so no lock was ever tested. Start each teller in a thread of its own, pthread_create(&team[k].thread, NULL, teller_run, &team[k]), all of them before you pthread_join() any (exercises/ch02/transfer.c)"
    else
        books "threads that made transfers: $1" \
            "run each of the $1 tellers in a thread of its own (pthread_create() with teller_run), and join them all before bank_close() reads the books"
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
    local tsan="$WB_EX_TSAN/ch02/transfer" arch
    [ -x "$tsan" ] || skip "no ThreadSanitizer build: make SAN=thread ${tsan#"$WB_ROOT"/build/tsan/}"
    PROG="$tsan" TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 bank 20 -t 4 -n 20000 -a 5
    # its runtime died before the program began: again with ASLR off (the
    # usual way around it) where the machine allows it, else not graded here
    arch="$(uname -m)"
    if grep -q 'FATAL: ThreadSanitizer' <<<"$stderr" && setarch "$arch" -R true 2>/dev/null; then
        WRAP=(setarch "$arch" -R)
        PROG="$tsan" TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 bank 20 -t 4 -n 20000 -a 5
        WRAP=()
    fi
    if tsan_cannot_start; then
        skip "ThreadSanitizer cannot start on this machine, not even for an empty program ($(grep -m 1 -o 'FATAL: ThreadSanitizer: [a-z ]*[a-z]' <<<"$stderr"): a kernel with vm.mmap_rnd_bits=32, which sysctl vm.mmap_rnd_bits=28 mends)"
    fi
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
    case "$(sed -n 's/^threads that made transfers: //p' <<<"$BOOKS")" in
    0) hint="no transfer reached bank_move(): write transfer() (lock the two rows, bank_move(), unlock them), and start every teller in a thread of its own with pthread_create() before you pthread_join() any (exercises/ch02/transfer.c)" ;;
    1) hint="only one thread made the transfers, so two were never inside at once: start every teller with pthread_create(&team[k].thread, NULL, teller_run, &team[k]) before you pthread_join() any (exercises/ch02/transfer.c)" ;;
    2) hint="the two tellers ran in threads, but never inside their locks together: either one lock guards the whole bank (give each account its own lock, accounts[i].lock, and take only the two a transfer needs), or each thread is joined before the next is created (create them all, then join them all)" ;;
    esac
    books "most transfers inside their locks at once: 2" "$hint"
    books "total before: 400, after: 400: kept" \
        "bank_move() must run holding the locks of both accounts"
    tellers 2
}

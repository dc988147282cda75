#!/usr/bin/env bats
# ch04_syslog.bats - grades the syslog capture tool (chapter 4, practice, exercise 1)
#
# Runs "$WB_EX/ch04/syslog" (solutions/ by default, exercises/ under `make grade`)
# on a free UDP port of 127.0.0.1, its stdin a fifo the test types commands
# into, and feeds it with real senders: logger (util-linux), bts_sim and
# python3 sockets. A test whose name ends in [N pts] is worth N points
# (tests/exercises/README.md). Every program runs under `timeout`, so a
# program that hangs or crashes fails its test with a message, and the
# grader goes on.

setup() {
    load ../helper
    PROG="$WB_EX/ch04/syslog"
    PORT="$(free_udp_port)"
    LOG="$BATS_TEST_TMPDIR/capture.txt"
    OUT="$BATS_TEST_TMPDIR/stdout"
    ERR="$BATS_TEST_TMPDIR/stderr"
    FIFO="$BATS_TEST_TMPDIR/stdin"
    SCALE=1 # sanitizer builds are slower: fewer messages, same checks
    [ -z "$WB_SAN" ] || SCALE=3
    CAP_PID=
    STATUS=
}

teardown() {
    if [ -n "$CAP_PID" ] && kill -0 "$CAP_PID" 2>/dev/null; then
        kill -KILL -- "-$CAP_PID" 2>/dev/null || kill -KILL "$CAP_PID" 2>/dev/null || true
    fi
    [ -z "$CAP_PID" ] || wait "$CAP_PID" 2>/dev/null || true
    [ -z "${HOLD_PID:-}" ] || { kill "$HOLD_PID" 2>/dev/null; wait "$HOLD_PID" 2>/dev/null; } || true
}

# --- helpers ------------------------------------------------------------------

# A UDP port of 127.0.0.1 that nobody holds right now.
free_udp_port() {
    python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# The command line as a student would type it, for the failure messages.
shown_cmd() { echo "${PROG#"$WB_ROOT"/} -l $LOG -b 127.0.0.1 -p $PORT"; }

# Start the program in the background; its stdin is the fifo, held open on
# fd $CAP_IN (read-write, so neither side blocks). `ulimit -f` keeps a
# runaway program from filling the disk; timeout's own process group lets a
# test pause or kill the program with the group.
start_capture() {
    CMD="$(shown_cmd)"
    mkfifo "$FIFO"
    exec {CAP_IN}<>"$FIFO"
    (ulimit -f 20480 && exec timeout --foreground -k 5 30 "$PROG" -l "$LOG" -b 127.0.0.1 -p "$PORT") \
        <"$FIFO" >"$OUT" 2>"$ERR" 3>&- {CAP_IN}>&- &
    CAP_PID=$!
}

# Type one command line into the program.
type_cmd() { printf '%s\n' "$1" >&"$CAP_IN"; }

running() { kill -0 "$CAP_PID" 2>/dev/null; }

# Wait (at most $1 s) for a line of stdout that `grep -q "${@:2}"` finds;
# give up early if the program has ended.
wait_for() {
    local i tries=$(($1 * 20))
    shift
    for ((i = 0; i < tries; i++)); do
        grep -q "$@" "$OUT" 2>/dev/null && return 0
        running || { grep -q "$@" "$OUT" 2>/dev/null; return; }
        sleep 0.05
    done
    return 1
}

banner() { echo "capturing syslog on udp://127.0.0.1:$PORT into $LOG, type 'stop' to stop"; }

# Start it and wait for the banner that says it is bound and listening.
start_and_wait() {
    start_capture
    wait_for 5 -xF -- "$(banner)" && return 0
    wait_exit 1 || true
    explain "the line: $(banner)" \
        "open_socket() binds the port, then main prints that line (fflush or line-buffered stdout)"
}

# Wait (at most $1 s) for the program to end; sets STATUS. Returns 1 if it
# is still running (and then kills it: STATUS=timeout).
wait_exit() {
    local i
    WAITED=${1:-5}
    # 2>/dev/null around it all: bash's own notice that its background job
    # was "Killed" would otherwise land in the student's failure message.
    {
        for ((i = 0; i < ${1:-5} * 20; i++)); do
            running || break
            sleep 0.05
        done
        if running; then
            hang_autopsy "$CAP_PID"
            kill -KILL -- "-$CAP_PID" || kill -KILL "$CAP_PID" || true
            wait "$CAP_PID" || true
            STATUS=timeout
        else
            STATUS=0
            wait "$CAP_PID" || STATUS=$?
        fi
    } 2>/dev/null
    [ "$STATUS" != timeout ]
}

# How the program ended, in words.
how_it_ended() {
    if [ -z "${STATUS:-}" ] && [ -n "$CAP_PID" ] && ! running; then
        STATUS=0
        wait "$CAP_PID" || STATUS=$?
    fi
    case "${STATUS:-}" in
    '') echo "still running" ;;
    timeout) echo "TIMEOUT: it was still running $WAITED s later, so the test stopped it" ;;
    124) echo "TIMEOUT: it ran until the test's 30 s limit" ;;
    0 | 1 | 2) echo "it exited with status $STATUS" ;;
    *)
        if ((STATUS > 128)); then
            local sig
            sig="SIG$(kill -l $((STATUS - 128)) 2>/dev/null || echo "$((STATUS - 128))")"
            case "$sig" in
            SIGSEGV | SIGBUS | SIGABRT | SIGFPE | SIGILL) echo "CRASH: it was killed by $sig" ;;
            SIGXFSZ) echo "it was killed by SIGXFSZ: it wrote more than 20 MiB, a flood (a loop that never ends?)" ;;
            *) echo "it was killed by $sig (no handler for it?)" ;;
            esac
        else
            echo "it exited with status $STATUS"
        fi
        ;;
    esac
}

# "stderr:  first line", then the next lines (15 at most) indented.
show() {
    local first
    first="$(head -c 2000 "$2" 2>/dev/null | head -n 1)"
    echo "$1:   ${first:-(nothing)}"
    head -c 2000 "$2" 2>/dev/null | sed -n '2,15p' | sed 's/^/          /'
}

# Print what a student needs to see, then fail: the command, what was
# expected, what came, and where to look.
explain() {
    {
        echo "command:  $CMD"
        echo "expected: $1"
        echo "got:      $(how_it_ended)"
        show stdout "$OUT"
        show stderr "$ERR"
        if [ -e "$LOG" ]; then
            echo "$(basename "$LOG") ($(wc -l <"$LOG") lines), first lines:"
            head -c 600 "$LOG" | head -n 5 | tr '\0' '@' | cut -c 1-120 | sed 's/^/    /'
        fi
        echo "hint:     $2 (see the TODO(student) notes in exercises/ch04/syslog.c and syslog_receiver.c)"
    } >&2
    return 1
}

# Type stop (or end it some other way first), wait for the end and check
# that it stopped cleanly with the expected count. $3: the hint for a wrong count.
expect_stopped() {
    local n="$1" how="$2"
    local count_hint="${3:-count each datagram (atomic_fetch_add) and print the count after pthread_join}"
    wait_exit 3 || explain "to stop within 3 s after $how, printing 'stopped: $n messages captured into $LOG'" \
        "after $how, main tells the receiving thread to stop, joins it and prints the line"
    [ "$STATUS" = 0 ] || explain "exit status 0 after $how" "a clean stop returns 0 from main"
    ! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:|WARNING: ThreadSanitizer' "$ERR" ||
        explain "no sanitizer report on stderr" "read the report: it names the line and the threads"
    local want="stopped: $n messages captured into $LOG"
    [ "$(tail -n 1 "$OUT")" = "$want" ] ||
        explain "the last line of stdout to be: $want" "$count_hint"
}

# Wait (at most 1.5 s) until FILE has $1 lines: a program that writes as it
# goes lets the test move on at once; one that buffers costs only the wait.
settle() {
    local i
    for ((i = 0; i < 30; i++)); do
        [ -e "$LOG" ] && [ "$(wc -l <"$LOG")" -ge "$1" ] && return 0
        running || return 0
        sleep 0.05
    done
    return 0
}

# Send each argument as one datagram; Python escapes (\n, \x00) allowed.
udp_send() {
    timeout 10 python3 - "$PORT" "$@" <<'EOF'
import codecs, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for text in sys.argv[2:]:
    s.sendto(codecs.escape_decode(text.encode())[0], ("127.0.0.1", int(sys.argv[1])))
EOF
}

# Send N datagrams 'PREFIX 1' to 'PREFIX N', as fast as python can.
udp_send_many() {
    timeout 10 python3 -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(1, int(sys.argv[3]) + 1):
    s.sendto(b"%s %d" % (sys.argv[2].encode(), i), ("127.0.0.1", int(sys.argv[1])))' "$PORT" "$1" "$2"
}

# Check that FILE holds exactly the lines given (each a fixed string).
expect_file() {
    local want got
    want="$(printf '%s\n' "$@")"
    got="$(cat "$LOG" 2>/dev/null)"
    [ "$got" = "$want" ] || explain "$(basename "$LOG") to hold exactly these $# lines:
$(printf '    %s\n' "$@")" "each datagram becomes one line: its bytes, then one newline"
}

# --- the tests ------------------------------------------------------------------

@test "starts, says where it captures, and stops on 'stop' [2 pts]" {
    start_and_wait
    sleep 0.3
    running || explain "to keep running until 'stop' is typed" \
        "command_loop() reads stdin until it sees the line 'stop'"
    type_cmd stop
    expect_stopped 0 "'stop'"
}

@test "captures each message of a standard syslog client as one line [3 pts]" {
    start_and_wait
    local i
    for i in 1 2 3; do
        if logger --help 2>/dev/null | grep -q -- '--rfc3164'; then
            timeout 10 logger --udp --server 127.0.0.1 --port "$PORT" --rfc3164 -t bts "hello $i"
        else # no util-linux logger: the same RFC 3164 datagram by hand
            udp_send "<13>$(LC_ALL=C date '+%b %e %H:%M:%S') $(hostname) bts: hello $i"
        fi
    done
    settle 3
    type_cmd stop
    expect_stopped 3 "3 messages and 'stop'"
    [ "$(wc -l <"$LOG")" -eq 3 ] && [ "$(grep -c -E '^<13>[A-Z][a-z]{2} [ 0-9][0-9] [0-9:]{8} .* bts: hello [1-3]$' "$LOG")" -eq 3 ] ||
        explain "3 lines like '<13>Nov 24 17:12:01 host bts: hello 1'" \
            "write each datagram as received, followed by one newline"
}

@test "captures every numbered message from bts_sim at 5000 a second [4 pts]" {
    local count=$((3000 / SCALE)) rate=$((5000 / SCALE))
    start_and_wait
    run timeout 20 "$WB_BIN/ch04/bts_sim" -c "$count" -r "$rate" "127.0.0.1:$PORT"
    assert_success
    settle "$count"
    type_cmd stop
    expect_stopped "$count" "$count messages from bts_sim and 'stop'"
    local seqs
    seqs="$(grep -oaE 'bts\[[0-9]+\]: seq=[0-9]+ ' "$LOG" | sed -E 's/.*seq=([0-9]+) /\1/' | sort -n | uniq)"
    [ "$seqs" = "$(seq 1 "$count")" ] && [ "$(wc -l <"$LOG")" -eq "$count" ] ||
        explain "$count lines, seq=1 to seq=$count each once ($(grep -c . <<<"$seqs") distinct seen)" \
            "a slow receiver loses datagrams: recv in a tight loop, write with stdio (buffered), and a bigger SO_RCVBUF helps"
}

@test "does not double a trailing newline, and keeps a line whole around a NUL [2 pts]" {
    start_and_wait
    udp_send 'first\n' 'sec\x00ond' 'third'
    settle 3
    type_cmd stop
    expect_stopped 3 "3 messages and 'stop'"
    [ "$(wc -l <"$LOG")" -eq 3 ] && [ "$(sed -n 1p "$LOG")" = first ] &&
        [ "$(sed -n 3p "$LOG")" = third ] && sed -n 2p "$LOG" | grep -qa '^sec.*ond$' ||
        explain "3 lines: 'first' (its own newline not doubled), 'sec<NUL>ond' (all of it), 'third'" \
            "fwrite(buf, 1, n, file) writes all n bytes, NUL or not; fputs stops at the NUL"
}

@test "captures a 65507-byte datagram, the largest UDP allows, whole [2 pts]" {
    start_and_wait
    timeout 10 python3 -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(b"A" * 65500 + b"the end", ("127.0.0.1", int(sys.argv[1])))
s.sendto(b"next", ("127.0.0.1", int(sys.argv[1])))' "$PORT"
    settle 2
    type_cmd stop
    expect_stopped 2 "2 messages and 'stop'"
    local first
    first="$(sed -n 1p "$LOG")"
    [ "${#first}" -eq 65507 ] && [ "${first: -7}" = "the end" ] && [ "$(sed -n 2p "$LOG")" = next ] ||
        explain "line 1: 65507 bytes ending in 'the end' (got ${#first} bytes), line 2: 'next'" \
            "the receive buffer must hold a whole datagram (DATAGRAM_MAX): recv() silently cuts a longer one"
}

@test "'status' tells how many messages were captured so far [2 pts]" {
    start_and_wait
    udp_send one two three four
    settle 4
    type_cmd status
    wait_for 3 -E '(^|[^0-9])4 messages?' && running ||
        explain "a line with '4 messages' (as in 'captured 4 messages so far'), and the program still running" \
            "on 'status', print the count (atomic_load) and go on reading commands"
    udp_send five
    settle 5
    type_cmd status
    wait_for 3 -E '(^|[^0-9])5 messages?' ||
        explain "after one more message, a line with '5 messages'" "the count grows with every datagram"
    type_cmd stop
    expect_stopped 5 "5 messages and 'stop'"
}

@test "names an unknown command, and goes on capturing [2 pts]" {
    start_and_wait
    type_cmd 'hello there'
    wait_for 3 -xF "unknown command 'hello there', type 'stop' to stop" && running ||
        explain "the line: unknown command 'hello there', type 'stop' to stop (and still running)" \
            "any line that is not stop or status gets that answer"
    udp_send 'after the typo'
    settle 1
    type_cmd stop
    expect_stopped 1 "a typo, 1 message and 'stop'"
    expect_file 'after the typo'
}

@test "end of input on stdin stops it like 'stop' [2 pts]" {
    start_and_wait
    udp_send one two
    settle 2
    exec {CAP_IN}>&- # close the last writer: the program reads end of file
    expect_stopped 2 "2 messages and end of input (Ctrl-D)"
    expect_file one two
}

@test "SIGTERM stops it like 'stop' [2 pts]" {
    start_and_wait
    udp_send one two
    settle 2
    signal_program TERM "$CAP_PID" 3 || true
    expect_stopped 2 "2 messages and SIGTERM"
    expect_file one two
}

@test "SIGINT (Ctrl-C) stops it like 'stop' [2 pts]" {
    start_and_wait
    udp_send one two
    settle 2
    signal_program INT "$CAP_PID" 3 || true
    expect_stopped 2 "2 messages and SIGINT"
    expect_file one two
}

@test "on 'stop' it first takes what the socket already holds [3 pts]" {
    # Freeze it, queue n datagrams in its socket and 'stop' on its stdin,
    # then let it run: both wait for it at the same moment. A receiver that
    # quits as soon as it sees the stop may still win the race now and then,
    # so there are six rounds.
    local n=200 round # 200 short datagrams fit in the default receive buffer
    for round in 1 2 3 4 5 6; do
        LOG="$BATS_TEST_TMPDIR/capture$round.txt" OUT="$BATS_TEST_TMPDIR/stdout$round"
        FIFO="$BATS_TEST_TMPDIR/stdin$round" STATUS=
        start_and_wait
        kill -STOP -- "-$CAP_PID" || true
        udp_send_many queued $n
        type_cmd stop
        kill -CONT -- "-$CAP_PID" || true
        expect_stopped $n "$n messages that arrived before 'stop' (round $round of 6)" \
            "they were in the socket before 'stop' came: before the receiver ends, it reads the socket until EAGAIN (recv with MSG_DONTWAIT)"
        [ "$(wc -l <"$LOG")" -eq $n ] ||
            explain "$n lines in the file" "before the receiver ends, it reads the socket until EAGAIN (MSG_DONTWAIT)"
        exec {CAP_IN}>&-
    done
}

@test "appends to an existing file and keeps what was there [2 pts]" {
    printf 'old line 1\nold line 2\n' >"$LOG"
    start_and_wait
    udp_send 'new line'
    settle 3
    type_cmd stop
    expect_stopped 1 "1 message and 'stop'"
    expect_file 'old line 1' 'old line 2' 'new line'
}

@test "a file it cannot open is an error, before anything is captured [2 pts]" {
    LOG="$BATS_TEST_TMPDIR/no/such/folder/capture.txt"
    CMD="$(shown_cmd) < /dev/null"
    STATUS=0
    (ulimit -f 20480 && exec timeout -k 2 10 "$PROG" -l "$LOG" -b 127.0.0.1 -p "$PORT") \
        </dev/null >"$OUT" 2>"$ERR" 3>&- || STATUS=$?
    [ "$STATUS" = 1 ] && grep -qF "$LOG" "$ERR" && grep -qi 'no such file' "$ERR" &&
        ! grep -q capturing "$OUT" ||
        explain "exit status 1, no banner, and on stderr the file's name and why: No such file or directory" \
            "check fopen(); wb_die(cap.path) says 'syslog: FILE: reason' and exits 1"
}

@test "a port it cannot bind is an error, and the file is left as it was [2 pts]" {
    printf 'kept\n' >"$LOG"
    # Someone else holds the port: a python socket bound to it.
    timeout 20 python3 -c 'import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
open(sys.argv[2], "w").close()
time.sleep(15)' "$PORT" "$BATS_TEST_TMPDIR/held" 3>&- &
    HOLD_PID=$!
    wait_until 10 test -e "$BATS_TEST_TMPDIR/held"
    CMD="$(shown_cmd) < /dev/null   (while another socket holds the port)"
    STATUS=0
    (ulimit -f 20480 && exec timeout -k 2 10 "$PROG" -l "$LOG" -b 127.0.0.1 -p "$PORT") \
        </dev/null >"$OUT" 2>"$ERR" 3>&- || STATUS=$?
    [ "$STATUS" = 1 ] && grep -qi 'address already in use' "$ERR" && ! grep -q capturing "$OUT" ||
        explain "exit status 1, no banner, and on stderr why: Address already in use" \
            "check bind(): print 'syslog: bind udp://ADDR:PORT: strerror(errno)' and exit(1)"
    [ "$(cat "$LOG")" = kept ] || explain "$(basename "$LOG") unchanged ('kept')" "open the file for appending"
}

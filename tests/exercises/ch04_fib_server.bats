#!/usr/bin/env bats
# tests/exercises/ch04_fib_server.bats - grades fib_server (exercises/ch04/fib_server.c,
# with the protocol in fib_protocol.c and the numbers in fib.c)
#
# Every test starts its own server, "$WB_EX/ch04/fib_server -p 0", reads the
# port from its line "fib_server listening on port N" and stops it by its
# PID in teardown (a sanitizer report on its stderr fails the test). The
# clients are real ones: nc and socat for the plain cases, and Python
# sockets (peer.py, written out in setup_file) for the rest: exact answers
# computed with Python's integers, many connections at once, clients that
# stall, vanish or send garbage. Everything is bounded in time, so a server
# that hangs fails its test instead of holding the grader. The numbers come
# from fib.c, which ch04_fib.bats grades: fib_probe (built in setup_file from
# the same fib.c) tells when a wrong number is fib()'s own, so that the
# message sends the student there, not to the protocol.
#
# Points: a graded test's name ends with [N pts], a stretch test's with
# [N pts, stretch] (tests/exercises/README.md).

setup_file() {
    load ../helper
    PEER="$BATS_FILE_TMPDIR/peer.py"
    # fib_probe N...: what fib(N) in the fib.c that the server was built with
    # gives, one line per N: "value V", "out of range" (-1) or "returned R"
    # (not built if it does not compile: then nothing is blamed on it)
    FIB_SRC="$WB_EX/ch04"
    [ -f "$FIB_SRC/fib.c" ] || FIB_SRC="$WB_ROOT/$(basename "$WB_EX")/ch04"
    FIB_PROBE="$BATS_FILE_TMPDIR/fib_probe"
    export PEER FIB_PROBE
    cat >"$FIB_PROBE.c" <<'EOF'
/* fib_probe.c - what fib() gives, for tests/exercises/ch04_fib_server.bats */
#include "fib.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        uint64_t v = 0;
        int r = fib(strtol(argv[i], NULL, 10), &v);
        if (r == 0)
            printf("value %" PRIu64 "\n", v);
        else if (r == -1)
            printf("out of range\n");
        else
            printf("returned %d\n", r);
        fflush(stdout);
    }
    return 0;
}
EOF
    ${CC:-cc} -std=c17 -D_GNU_SOURCE -O1 -I"$WB_ROOT/common" -I"$FIB_SRC" -o "$FIB_PROBE" \
        "$FIB_PROBE.c" "$FIB_SRC/fib.c" >/dev/null 2>&1 || rm -f "$FIB_PROBE"
    cat >"$PEER" <<'EOF'
"""The clients of ch04_fib_server.bats. Usage: peer.py MODE PORT [ARGS]
Each mode talks to fib_server on 127.0.0.1:PORT and exits 0 if all was well;
else it prints what it did, what it expected, what came and a hint (the lines
the grader shows a student) and exits 1."""
import os, random, socket, subprocess, sys, threading, time

LIMIT = 64  # the longest request line, without its line end
FLOOD = 4 << 20  # bytes a client holds unread at most: far more than any test's answers
WHERE = "exercises/ch04/fib_server.c"
PROTOCOL = "exercises/ch04/fib_protocol.c"
NUMBERS = "exercises/ch04/fib.c"


def fib(n):
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a


def want(line, strict=False):
    """The answers fib_server may give to one request line (bytes, no LF);
    a choice ending in "..." stands for any line that starts so."""
    if line.endswith(b"\r"):
        line = line[:-1]
    if len(line) > LIMIT:
        return ["ERR line too long"]
    body = line[1:] if line[:1] == b"-" else line
    if not body or not all(48 <= c <= 57 for c in body):
        return ["ERR not a number"]
    if line[:1] == b"-":
        return ["ERR negative"]
    n = int(line)
    if n <= 93:
        return [str(fib(n))]
    if n <= 10000:  # a server without the stretch part may refuse it
        return [str(fib(n))] + ([] if strict else ["ERR out of range..."])
    return ["ERR out of range..."]


def fib_blame(*pairs):
    """Pairs of a request line (bytes, no LF) and the answer that came to it
    (None: none came). If an answer is what fib() in fib.c gave for it, and
    that is wrong (or fib() did not return within 5 s), the hint that says
    so, for the first such line; else None. fib_probe runs the fib.c the
    server was built with: F(n) for n <= 93, -1 past it, in linear time."""
    probe = os.environ.get("FIB_PROBE", "")
    asked = {}
    for line, answer in pairs:
        body = line[:-1] if line.endswith(b"\r") else line
        if body.isdigit() and len(body) <= 18 and int(body) not in asked:
            asked[int(body)] = answer
    if not asked or not os.access(probe, os.X_OK):
        return None
    ns = list(asked)
    try:
        out = subprocess.run([probe] + [str(n) for n in ns], capture_output=True, timeout=5,
                             text=True).stdout
    except subprocess.TimeoutExpired as e:  # what it said before, then the slow one
        out = (e.stdout or b"").decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        out = "\n".join(out.splitlines()[:len(ns) - 1] + ["(slow)"])
    plain = lambda r: r[6:] if r.startswith("value ") else "-1 (out of range)" if r == "out of range" else r
    for n, got in zip(ns, out.splitlines() + [""] * len(ns)):
        right, answer = "value %d" % fib(n) if n <= 93 else "out of range", asked[n]
        if got == right:
            continue
        if got == "(slow)":
            said = "did not return within 5 s (a recursion? one loop of n steps)"
        elif answer is not None and (answer == plain(got) or
                                     got == "out of range" and answer.startswith("ERR out of range")):
            said = "gave %s, not %s" % (plain(got), plain(right))
        else:
            continue  # the server did not answer with what fib() gave: not fib()'s doing
        return ("fib(%d) in %s %s, and the server answers with what fib() gives: fib() in %s "
                "returned it: grade ch04/fib first (make grade EX=ch04/fib), then the server again"
                % (n, NUMBERS, said, NUMBERS))
    return None


def describe(choices):
    return " or ".join("a line starting %r" % c[:-3] if c.endswith("...") else repr(c)
                       for c in choices)


def fits(answer, choices):
    return any(answer == c or (c.endswith("...") and answer.startswith(c[:-3])) for c in choices)


def show(data, width=70):
    """Bytes as a Python literal, cut if long."""
    text = repr(bytes(data))[1:]
    return text if len(text) <= width else "%s... (%d bytes)" % (text[:width], len(data))


def show_line(line):
    """A request line as sent: short ones whole, long ones cut, with their length."""
    if len(line) <= 40:
        return show(line + b"\n")
    return "'%s...' (%d bytes, then '\\n')" % (repr(bytes(line[:30]))[2:-1], len(line))


def fail(command, expected, got, hint, *more):
    print("command: " + command)
    print("expected: " + expected)
    print("got: " + got)
    print("hint: " + hint)
    print("\n".join(more)) if more else None
    sys.exit(1)


class Conn:
    def __init__(self, port, timeout=5.0, sock=None):
        try:
            self.s = sock or socket.create_connection(("127.0.0.1", port), timeout=timeout)
        except OSError as e:
            fail("connect to 127.0.0.1:%d" % port, "a connection",
                 "%s" % (e.strerror or e), "has the server crashed? (see below)")
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""

    def send(self, data):
        try:
            self.s.sendall(data)
            return None
        except OSError as e:
            return "sending failed: %s" % (e.strerror or e)

    def answers(self, count, timeout=5.0):
        """Up to count answer lines, and why there are fewer (or None)."""
        out, deadline = [], time.monotonic() + timeout
        while True:
            while b"\n" in self.buf and len(out) < count:
                line, self.buf = self.buf.split(b"\n", 1)
                out.append(line.decode("latin-1"))
            if len(out) >= count:
                return out, None
            left = deadline - time.monotonic()
            try:
                if left <= 0:
                    raise socket.timeout
                self.s.settimeout(left)
                data = self.s.recv(65536)
            except socket.timeout:
                return out, "no further answer within %g s" % timeout
            except OSError as e:
                return out, "the connection failed (%s)" % (e.strerror or e)
            if not data:
                return out, "the server closed the connection"
            self.buf += data
            if len(self.buf) > FLOOD:  # a server that never stops talking
                return out, ("more than %d MiB of output, far more than the answers asked for "
                             "(a flood: one answer per line, once)" % (FLOOD >> 20))

    def close(self):
        self.s.close()


def converse(conn, data, strict=False, lenient=False, what="", timeout=5.0, before=b"",
             hint="answer every line, in order, on the same connection (fib_converse() in %s)" % PROTOCOL,
             wrong="look at fib_answer() and fib_converse() in %s" % PROTOCOL):
    """Send data, all at once, read one answer per line in it and check each.
    lenient: any ERR will do for every line but the last. before: the start
    of the first line, sent earlier. what: the situation, for the message."""
    lines = (before + data).split(b"\n")[:-1]
    command = "%ssent %d request line%s on one connection: %s" % (
        what, len(lines), "s" if len(lines) > 1 else "", show(data))
    why = conn.send(data)
    got, short = conn.answers(len(lines), timeout)
    for i, (line, answer) in enumerate(zip(lines, got)):
        choices = want(line, strict)
        if lenient and i < len(lines) - 1:
            choices = ["ERR ..."] + [c for c in choices if not c.startswith("ERR")]
        if not fits(answer, choices):
            fail(command, "answer %d, to %s: %s" % (i + 1, show_line(line), describe(choices)),
                 show(answer.encode("latin-1")) + (" (the answers before it were right)" if i else ""),
                 fib_blame((line, answer)) or wrong)
    if short or why:
        fail(command, "%d answers, one per line" % len(lines),
             "%d answer%s, then %s" % (len(got), "" if len(got) == 1 else "s", why or short),
             fib_blame(*[(line, None) for line in lines[len(got):]]) or hint)


def mode_check(port, args):
    """check [--crlf|--lockstep|--bytewise|--strict] LINE...: one connection."""
    flags = [a for a in args if a.startswith("--")]
    lines = [a.encode("latin-1") for a in args if not a.startswith("--")]
    end = b"\r\n" if "--crlf" in flags else b"\n"
    c = Conn(port)
    if "--lockstep" in flags:  # one request, its answer, then the next request
        for line in lines:
            converse(c, line + end, what="one after another, ")
    elif "--bytewise" in flags:  # every byte in a packet of its own
        data = b"".join(line + end for line in lines)
        for i in range(len(data)):
            why = c.send(data[i:i + 1])
            if why:
                fail("sent %s one byte at a time" % show(data), "every byte taken",
                     "after %d bytes: %s" % (i, why), "see fib_converse() in %s" % PROTOCOL)
            time.sleep(0.002)
        got, short = c.answers(len(lines))
        expected = [want(line)[0] for line in lines]
        if got != expected:
            fail("sent %s one byte at a time" % show(data), repr(expected),
                 repr(got) + (" (then %s)" % short if short else ""),
                 fib_blame(*zip(lines, got + [None] * len(lines))) or
                 "a line may come in many pieces: keep the unfinished line between recv() calls "
                 "(fib_converse() in %s)" % PROTOCOL)
    elif "--strict" in flags:  # the stretch part
        converse(c, b"".join(line + end for line in lines), strict=True,
                 wrong="past 93, fib_answer() answers with fib_decimal(), the stretch part of "
                 "exercises/ch04/fib.c, and says 'ERR out of range (max 10000)' only past 10000")
    else:
        converse(c, b"".join(line + end for line in lines))
    c.close()


def mode_toolong(port, args):
    data = (b"1" * 65 + b"\n10\n" + b"9" * 100000 + b"\n" + b"0" * 62 + b"10\n" + b"7" * 64
            + b"0\n20\n")
    converse(Conn(port), data, what="lines of 65, 100000, 64 and 65 bytes: ")


def mode_garbage(port, args):
    rnd = random.Random(4)
    junk = bytes(rnd.getrandbits(8) for _ in range(65536))
    converse(Conn(port), junk + b"\n10\n", lenient=True, what="64 KiB of random bytes, then '10': ")
    converse(Conn(port), b"93\n", what="after the garbage, a new client ")


WAITING = ("the server still waits for the other client: serve every client at once "
           "(the TODO in main() of %s)" % WHERE)


def mode_silent(port, args):
    quiet = Conn(port)  # connects and says nothing (yet)
    time.sleep(0.2)
    converse(Conn(port), b"10\n20\n", timeout=3.0, hint=WAITING,
             what="while another client is connected and silent, a second client ")
    converse(quiet, b"5\n", what="the silent client, speaking at last, ")


def mode_halfline(port, args):
    slow = Conn(port)
    slow.send(b"1")  # half a request, and then nothing for a while
    time.sleep(0.2)
    converse(Conn(port), b"10\n93\n", timeout=3.0, hint=WAITING,
             what="while another client has sent '1' and stalls, a second client ")
    converse(slow, b"0\n", before=b"1", what="the stalled client, after its '1', ")


def mode_vanish(port, args):
    for i in range(30):
        c = Conn(port)
        if i % 3 == 0:  # a pile of requests, then gone without reading a single answer
            c.send(b"93\n" * 20000)
        elif i % 3 == 1:  # half a request, then gone
            c.send(b"12")
        else:  # a pile of requests, the first answers, then a reset (RST)
            c.send(b"93\n" * 20000)
            c.answers(1)
            c.s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        c.close()
    time.sleep(0.3)
    converse(Conn(port), b"".join(b"%d\n" % n for n in range(10)),
             what="after 30 clients left in mid-conversation, a new client ")


def mode_crowd(port, args):
    n, k = int(args[0]), int(args[1])
    barrier = threading.Barrier(n, timeout=10)
    problems, wrong, first, wrong_lines = [], [], [0], []
    lock = threading.Lock()

    def client(i):
        def trouble(text, kind=problems):
            with lock:
                kind.append("client %d: %s" % (i, text))
            barrier.abort()

        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
        except OSError as e:
            return trouble("could not connect: %s" % (e.strerror or e))
        c = Conn(port, sock=s)
        for j in range(k):
            line = b"%d" % ((i * 7 + j) % 94)
            why = c.send(line + b"\n")
            got, short = c.answers(1, timeout=10)
            if why or short:
                return trouble("request %d (%s): %s" % (j + 1, line.decode(), why or short))
            if got[0] != want(line)[0]:
                wrong_lines.append((line, got[0]))
                return trouble("sent %s, expected %s, got %s" % (line.decode(), want(line)[0],
                               show(got[0].encode("latin-1"))), wrong)
            if j == 0:
                with lock:  # an answer that came only after the wait was given up does not count
                    first[0] += not barrier.broken
                try:  # nobody goes on before every client has had its first answer
                    barrier.wait()
                except threading.BrokenBarrierError:
                    return None
        s.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    command = "%d clients connected at once, each sending %d requests, one after another" % (n, k)
    if wrong:
        fail(command, "every answer right", "%d clients got a wrong answer, for example:" % len(wrong),
             fib_blame(*sorted(wrong_lines)) or "look at fib_answer() in %s" % PROTOCOL,
             *sorted(wrong)[:3])
    if first[0] < n:
        fail(command, "every client's first answer while all %d are connected" % n,
             "%d of them got it, within 10 s" % first[0],
             "a server that serves one client at a time, or a fixed number of them, stops here: "
             "serve every client at once (the TODO in main() of %s)" % WHERE, *sorted(problems)[:3])
    if problems:
        fail(command, "every answer, right", "%d clients had trouble, for example:" % len(problems),
             "see fib_converse() in %s and main() in %s" % (PROTOCOL, WHERE),
             *sorted(problems)[:5])


if __name__ == "__main__":
    globals()["mode_" + sys.argv[1]](int(sys.argv[2]), sys.argv[3:])
EOF
}

setup() {
    load ../helper
    SERVER="$WB_EX/ch04/fib_server"
    OUT="$BATS_TEST_TMPDIR/server.out" ERR="$BATS_TEST_TMPDIR/server.err"
    if [ ! -x "$SERVER" ]; then
        fail "BUILD ERROR: $SERVER was not built: run 'make exercises' and read the compiler's messages"
    fi
    # SIGINT at its default action, as in a terminal (a script's background
    # jobs would otherwise ignore it). `ulimit -f`: a server that floods its
    # output is stopped at 20 MiB (SIGXFSZ) instead of filling the disk.
    : >"$OUT" # exists before the server starts writing to it
    (ulimit -f 20480 && exec env --default-signal=INT "$SERVER" -p 0) >"$OUT" 2>"$ERR" 3>&- &
    SERVER_PID=$!
    PORT=
    local i
    for i in $(seq 1 200); do
        PORT=$(sed -n 's/^fib_server listening on port \([0-9][0-9]*\)$/\1/p' "$OUT" || true)
        [ -n "$PORT" ] && break
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.05
    done
    if [ -z "$PORT" ] && [ "$WB_SAN" = tsan ] && grep -q 'FATAL: ThreadSanitizer: unexpected memory mapping' "$ERR"; then
        skip "ThreadSanitizer cannot start on this machine ($(grep -m 1 -o 'FATAL: ThreadSanitizer: [a-z ]*[a-z]' "$ERR"): a kernel with vm.mmap_rnd_bits=32, which sysctl vm.mmap_rnd_bits=28 mends)"
    fi
    if [ -z "$PORT" ]; then
        fail "$(printf 'command: %s -p 0\nexpected: the line "fib_server listening on port N" on stdout (flushed) within 10 s\ngot: %s\nstderr: %s\nhint: keep the printf() and fflush() after listen_on() in main()' \
            "$SERVER" "$(head -c 300 "$OUT")" "$(head -c 600 "$ERR")")"
    fi
}

teardown() {
    # 2>/dev/null around it: bash's own notice that its background job was
    # "Killed" is no message for a student.
    {
        if [ -n "${SERVER_PID:-}" ] && kill -0 "$SERVER_PID"; then
            kill -TERM "$SERVER_PID"
            timeout 5 tail -s 0.05 --pid="$SERVER_PID" -f /dev/null ||
                { hang_autopsy "$SERVER_PID"; kill -KILL "$SERVER_PID"; }
        fi
        wait "$SERVER_PID" || true
    } 2>/dev/null
    if [ -z "${BATS_TEST_COMPLETED:-}" ] && [ -s "$ERR" ]; then
        echo "the server's stderr (the first lines):"
        head -n 20 "$ERR"
    fi
    if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:|WARNING: ThreadSanitizer' "$ERR" 2>/dev/null; then
        echo "the sanitizer reported errors in the server:"
        head -n 40 "$ERR"
        return 1
    fi
}

# peer MODE ARGS...: a Python client (see setup_file), bounded in time. If
# it fails, say so, and whether the server is still there.
peer() {
    run timeout 60 python3 "$PEER" "$1" "$PORT" "${@:2}"
    [ "$status" -ne 124 ] || output+=$'\nTIMEOUT: the test client itself ran out of time (60 s)'
    if [ "$status" -ne 0 ]; then
        fail "$output$(server_gone)"
    fi
}

# Nothing if the server is running; else how it ended, on lines of their own.
server_gone() {
    kill -0 "$SERVER_PID" 2>/dev/null && return 0
    local st=0
    { wait "$SERVER_PID" || st=$?; } 2>/dev/null
    if [ "$st" -eq $((128 + $(kill -l XFSZ))) ]; then
        printf '\nthe server was stopped by SIGXFSZ: it wrote more than 20 MiB to stdout or stderr (a print in a loop?)'
    elif [ "$st" -gt 128 ]; then
        printf '\nCRASH: the server was killed by SIG%s. One client must never take the whole server down.' \
            "$(kill -l "$((st - 128))")"
    else
        printf '\nthe server is gone: it exited with status %d. One client must never end the whole server.' "$st"
    fi
    [ "$st" -ne 141 ] || printf '\nhint: send() to a client that has left raises SIGPIPE, which kills the process: pass MSG_NOSIGNAL to send()'
}

# fib_blame N ANSWER...: pairs of a number sent and the line that came back
# for it; the hint that blames fib.c if an answer is what fib(N) there gave
# and that is wrong (as fib_blame in peer.py does); nothing else.
fib_blame() {
    local n answer got right
    [ -x "$FIB_PROBE" ] || return 0
    while [ $# -ge 2 ]; do
        n=$1 answer=$2
        shift 2
        right="$(python3 -c 'import sys; n = int(sys.argv[1]); a, b = 0, 1
for _ in range(min(n, 94)): a, b = b, a + b
print("value %d" % a if n <= 93 else "out of range")' "$n")"
        got="$(timeout 5 "$FIB_PROBE" "$n" 2>/dev/null)" || got='(slow)'
        [ "$got" != "$right" ] || continue
        if [ "$got" = '(slow)' ]; then
            got="nothing within 5 s (a recursion? one loop of n steps)"
        elif [ "$got" = "value $answer" ]; then
            got="${got#value }"
        else
            continue # the server did not answer with what fib() gave
        fi
        right="${right#value }"
        [ "$right" != "out of range" ] || right="-1 (out of range)"
        echo "fib($n) in exercises/ch04/fib.c gave $got, not $right, and the server answers with what fib() gives: fib() in exercises/ch04/fib.c returned it: grade ch04/fib first (make grade EX=ch04/fib), then the server again"
        return 0
    done
}

# The server must still be running after what a test put it through.
assert_alive() {
    local gone
    gone=$(server_gone)
    [ -z "$gone" ] || fail "${gone#$'\n'}"$'\nhint: look at fib_converse() in exercises/ch04/fib_protocol.c'
}

@test "answers 0 1 2 3 4 with 0 1 1 2 3 (nc, one connection) [2 pts]" {
    # head -c: a server that floods the connection cannot flood the grader
    # shellcheck disable=SC2016 # the inner bash expands them
    run timeout 10 bash -c 'nc -N 127.0.0.1 "$1" | head -c 100000' _ "$PORT" < <(printf '0\n1\n2\n3\n4\n')
    if [ "$output" != $'0\n1\n1\n2\n3' ]; then
        local hint
        local got=()
        mapfile -t got <<<"$output"
        hint="$(fib_blame 0 "${got[0]-}" 1 "${got[1]-}" 2 "${got[2]-}" 3 "${got[3]-}" 4 "${got[4]-}")"
        fail "$(printf "command: printf '0\\\\n1\\\\n2\\\\n3\\\\n4\\\\n' | nc -N 127.0.0.1 PORT\nexpected: 0 1 1 2 3, one per line\ngot: %s\nhint: %s" \
            "$(head -c 300 <<<"$output" | paste -sd' ')" \
            "${hint:-look at fib_answer() and fib_converse() in exercises/ch04/fib_protocol.c}")"
    fi
}

@test "answers every n from 0 to 93 exactly [3 pts]" {
    peer check $(seq 0 93)
}

@test "answers ERR not a number to words, empty lines, fractions and hex [2 pts]" {
    peer check abc "" 1.5 12abc 0x10 - "1 2" 10
}

@test "answers ERR negative to -1 and -500 [1 pts]" {
    peer check -1 -500 -93 5
}

@test "answers ERR out of range past its limit, even past 64 bits [2 pts]" {
    peer check 10001 18446744073709551617 99999999999999999999999999999999 1000000 93
}

@test "takes CRLF line ends as well as LF (socat) [2 pts]" {
    # shellcheck disable=SC2016 # the inner bash expands them
    run timeout 10 bash -c 'socat -t 5 - "TCP:127.0.0.1:$1" | head -c 100000' _ "$PORT" \
        < <(printf '10\r\n20\n-3\r\nabc\r\n93\r\n')
    local expected=$'55\n6765\nERR negative\nERR not a number\n12200160415121876738'
    if [ "$output" != "$expected" ]; then
        local hint
        local got=()
        mapfile -t got < <(tr -d '\r' <<<"$output")
        hint="$(fib_blame 10 "${got[0]-}" 20 "${got[1]-}" 93 "${got[4]-}")"
        fail "$(printf "command: printf '10\\\\r\\\\n20\\\\n-3\\\\r\\\\nabc\\\\r\\\\n93\\\\r\\\\n' | socat - TCP:127.0.0.1:PORT\nexpected: %s\ngot: %s\nhint: %s" \
            "$(paste -sd'|' <<<"$expected")" "$(head -c 300 <<<"$output" | sed 's/\r/\\r/g' | paste -sd'|')" \
            "${hint:-a '\\r' just before the '\\n' belongs to the line end, not to the request (fib_converse() in exercises/ch04/fib_protocol.c)}")"
    fi
}

@test "answers a thousand requests on one connection, in order, however they arrive [3 pts]" {
    peer check $(seq 0 999 | awk '{ print $1 % 94 }')
    peer check --lockstep 10 abc 20 -1 30
    peer check --bytewise 93 12 abc 7
}

@test "the connection stays usable after every kind of error [2 pts]" {
    peer check abc 10 -1 20 99999 30 "" 40 "$(printf '%070d' 7)" 50
}

@test "a line over 64 bytes is an error and the rest of it is discarded [2 pts]" {
    peer toolong
}

@test "200 clients at once, 100 requests each, all answered right [4 pts]" {
    if [ -n "$WB_SAN" ]; then
        peer crowd 50 20 # the same structure, at a scale a sanitizer's slowdown allows
    else
        peer crowd 200 100
    fi
    assert_alive
}

@test "a client that connects and says nothing delays nobody [2 pts]" {
    peer silent
}

@test "a client that sends half a line and stalls delays nobody [2 pts]" {
    peer halfline
}

@test "clients that vanish mid-request cost only themselves [2 pts]" {
    peer vanish
    assert_alive
}

@test "binary garbage costs only the client that sends it [2 pts]" {
    peer garbage
    assert_alive
}

# stop_with SIGNAL: send it while one client is idle and one is mid-line;
# the server must be gone within 5 s with exit status 0.
stop_with() {
    peer check 10 # it works before the signal
    exec {idle}<>"/dev/tcp/127.0.0.1/$PORT" {busy}<>"/dev/tcp/127.0.0.1/$PORT"
    printf '12' >&"$busy"
    sleep 0.2
    kill -"$1" "$SERVER_PID"
    local stopped=0
    timeout 5 tail -s 0.05 --pid="$SERVER_PID" -f /dev/null && stopped=1
    exec {idle}>&- {busy}>&-
    local command="kill -$1 (one client connected and idle, one in the middle of a line)"
    local hint="the TODO about signals in main() of exercises/ch04/fib_server.c; a thread blocked in recv() needs waking: shutdown()"
    if [ "$stopped" -eq 0 ]; then
        fail "$(printf 'TIMEOUT: the server was still running 5 s after SIG%s\ncommand: %s\nexpected: the server exits within 5 s, status 0\ngot: still running\nhint: %s' \
            "$1" "$command" "$hint")"
    fi
    local st=0
    wait "$SERVER_PID" || st=$?
    SERVER_PID=
    if [ "$st" -ne 0 ]; then
        fail "$(printf 'command: %s\nexpected: exit status 0 (a clean stop)\ngot: exit status %d%s\nhint: %s' \
            "$command" "$st" "$([ "$st" -gt 128 ] && echo " (killed by SIG$(kill -l $((st - 128))): nothing caught it)")" "$hint")"
    fi
}

@test "SIGTERM stops it cleanly with clients connected: exit status 0 [2 pts]" {
    stop_with TERM
}

@test "SIGINT (Ctrl-C) stops it cleanly too [1 pts]" {
    stop_with INT
}

@test "answers fib(94) to fib(10000) exactly, and past 10000 out of range [2 pts, stretch]" {
    peer check --strict 94 100 1000 4321 9999 10000 10001
}

#!/usr/bin/env bats
# tests/exercises/ch04_fib.bats - grades the Fibonacci module: fib() and,
# as a stretch, fib_decimal() (exercises/ch04/fib.h and fib.c).
#
# How the module is reached: the exercise folder holds only the module and
# the server (fib_server.c and its protocol, fib_protocol.c), and the grade
# must not depend on the server. So this suite carries its own small driver
# program (written out below, in setup_file), compiles it together with the
# fib.c under test and calls the two functions through it: `fib_driver fib
# N...` prints fib(N) or "out of range" per N, `fib_driver dec N...` the same
# for fib_decimal(), `fib_driver fit N SIZE...` calls fib_decimal() with a
# buffer of exactly SIZE bytes, fenced on both sides.
# The sources are taken from where the programs under test are built
# ("$WB_EX/ch04/fib.c": exercises/ and solutions/ are built in place). A
# sanitized build tree (WB_EX=build/asan/solutions) holds only programs: the
# sources are then those of the folder of the same name at the top of the
# repository ("$WB_ROOT/solutions/ch04"), and the driver is compiled with the
# same sanitizer (WB_SAN). If fib.c does not compile, every test fails and
# shows the compiler's messages. Expected values come from Python's integers.
#
# Points: a graded test's name ends with [N pts], a stretch test's with
# [N pts, stretch] (tests/exercises/README.md).

setup_file() {
    load ../helper
    SRC="$WB_EX/ch04"
    [ -f "$SRC/fib.c" ] || SRC="$WB_ROOT/$(basename "$WB_EX")/ch04"
    DRIVER="$BATS_FILE_TMPDIR/fib_driver"
    export SRC DRIVER
    cat >"$DRIVER.c" <<'EOF'
/* fib_driver.c - calls the module under test for tests/exercises/ch04_fib.bats */
#include "fib.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FENCE 64 /* bytes on each side of the buffer that must stay untouched */

/* fib_decimal(n) into a buffer of exactly size bytes inside a fenced block. */
static void fit(long n, size_t size)
{
    char *block = malloc(size + 2 * FENCE), *buf = block + FENCE;
    if (!block)
        exit(3);
    memset(block, '#', size + 2 * FENCE);
    int r = fib_decimal(n, buf, size);
    for (size_t i = 0; i < size + 2 * FENCE; i++)
        if ((block[i] != '#') && (i < FENCE || i >= FENCE + size)) {
            printf("wrote outside its %zu-byte buffer\n", size);
            free(block);
            return;
        }
    if (r == -1)
        printf("out of range\n");
    else if (r < 0 || (size_t)r >= size || memchr(buf, '\0', size) != buf + r)
        printf("returned %d but the string in the buffer is not that long\n", r);
    else
        printf("%s\n", buf);
    free(block);
}

int main(int argc, char **argv)
{
    for (int i = 2; i < argc; i++) {
        long n = strtol(argv[i], NULL, 10);
        if (strcmp(argv[1], "fib") == 0) {
            uint64_t v = 0;
            int r = fib(n, &v);
            if (r == 0)
                printf("%" PRIu64 "\n", v);
            else if (r == -1)
                printf("out of range\n");
            else
                printf("returned %d (neither 0 nor -1)\n", r);
        } else if (strcmp(argv[1], "dec") == 0) {
            fit(n, FIB_DECIMAL_SIZE);
        } else if (strcmp(argv[1], "fit") == 0 && i + 1 < argc) { /* pairs: N SIZE */
            fit(n, strtoul(argv[++i], NULL, 10));
        }
        fflush(stdout); /* what came before a crash is still shown */
    }
    return 0;
}
EOF
    local san=
    case "$WB_SAN" in
    asan) san="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" ;;
    tsan) san="-fsanitize=thread" ;;
    esac
    # shellcheck disable=SC2086  # $san is a list of flags
    ${CC:-cc} -std=c17 -D_GNU_SOURCE -O1 -g $san -I"$WB_ROOT/common" -I"$SRC" \
        -o "$DRIVER" "$DRIVER.c" "$SRC/fib.c" >"$DRIVER.build" 2>&1 || rm -f "$DRIVER"
}

setup() {
    load ../helper
    WHERE="${SRC#"$WB_ROOT"/}/fib.c"
    if [ ! -x "$DRIVER" ]; then
        fail "$(printf 'BUILD ERROR: %s does not compile with the test driver\ncommand: cc -I%s -o fib_driver fib_driver.c %s\ngot:\n%s\nhint: the driver includes fib.h and calls fib() and fib_decimal() as fib.h declares them: keep those declarations as given' \
            "$WHERE" "${SRC#"$WB_ROOT"/}" "$WHERE" "$(head -n 30 "$DRIVER.build")")"
    fi
}

# drive LIMIT ARGS...: run the driver under `run`, for LIMIT seconds at
# most, its output cut at 1 MB (a module that prints in an endless loop must
# not fill the grader's memory); the status is the driver's (141: cut). The
# timeout stops the driver only, not the head, so what it printed before it
# was stopped is kept.
drive() {
    # shellcheck disable=SC2016 # the inner bash expands them
    run bash -c 'timeout "$1" "${@:2}" | head -c 1000000; exit "${PIPESTATUS[0]}"' _ "$1" "$DRIVER" "${@:2}"
    # a ThreadSanitizer build whose runtime cannot start on this kernel
    # (vm.mmap_rnd_bits=32): nothing of fib.c's was run
    if [ "$WB_SAN" = tsan ] && grep -q 'FATAL: ThreadSanitizer: unexpected memory mapping' <<<"$output"; then
        skip "ThreadSanitizer cannot start on this machine ($(grep -m 1 -o 'FATAL: ThreadSanitizer: [a-z ]*[a-z]' <<<"$output"): a kernel with vm.mmap_rnd_bits=32, which sysctl vm.mmap_rnd_bits=28 mends)"
    fi
}

# Python's exact answers, one line per n: FUNC is fib (max 93) or dec (max 10000).
want() {
    python3 -c '
import sys
limit = 93 if sys.argv[1] == "fib" else 10000
for arg in sys.argv[2:]:
    n = int(arg)
    if n < 0 or n > limit:
        print("out of range")
        continue
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    print(a)' "$@"
}

# check FUNC HINT N...: call FUNC(N) for each N through the driver and compare
# every line with Python's; on the first difference, say which n, what was
# expected, what came, and where to look.
check() {
    local func=$1 hint=$2 name limit
    shift 2
    name=$([ "$func" = fib ] && echo "fib" || echo "fib_decimal")
    limit=$([ "$func" = fib ] && echo 5 || echo 10) # seconds; the model answer needs milliseconds
    drive "$limit" "$func" "$@"
    local command="$name(n) for n = $(echo "$1 ... ${*: -1}" | cut -c1-40) ($# values), called through the test driver"
    if [ "$status" -eq 124 ]; then
        fail "$(printf 'TIMEOUT: %s() had not finished after %d s\ncommand: %s\nexpected: every answer at once\ngot: %d answers, the last: %s\nhint: linear time is one loop of n steps; a recursion that calls itself twice makes about F(n) calls (look at %s() in %s)' \
            "$name" "$limit" "$command" "$(grep -c . <<<"$output")" "$(tail -n 1 <<<"$output" | cut -c1-40)" "$name" "$WHERE")"
    elif [ "$status" -eq 141 ]; then # head stopped reading: see drive()
        fail "$(printf 'command: %s\nexpected: one line per n\ngot: more than 1 MB of output, the first lines:\n%s\nhint: does %s() print? A printf() in a loop that never ends floods (look at %s() in %s)' \
            "$command" "$(head -n 5 <<<"$output" | cut -c1-80)" "$name" "$name" "$WHERE")"
    elif [ "$status" -gt 128 ]; then
        fail "$(printf 'CRASH: the test driver was killed by SIG%s inside %s()\ncommand: %s\ngot: %d answers before the crash\nhint: look at %s() in %s' \
            "$(kill -l "$((status - 128))")" "$name" "$command" "$(grep -c . <<<"$output")" "$name" "$WHERE")"
    elif [ "$status" -ne 0 ]; then
        fail "$(printf 'command: %s\nexpected: exit status 0\ngot: exit status %d\n%s\nhint: look at %s() in %s' \
            "$command" "$status" "$(tail -n 5 <<<"$output")" "$name" "$WHERE")"
    fi
    local -a got expected
    mapfile -t got <<<"$output"
    mapfile -t expected < <(want "$func" "$@")
    local i k n=("$@") g e
    for i in "${!expected[@]}"; do
        g=${got[i]-(nothing)} e=${expected[i]}
        if [ "$g" != "$e" ]; then
            for ((k = 0; k < ${#e} && "${g:k:1}" == "${e:k:1}"; k++)); do :; done
            fail "$(printf 'command: %s\nexpected: %s(%s) = %s\ngot: %s(%s) = %s\n%shint: %s (look at %s() in %s)' \
                "$command" "$name" "${n[i]}" "${e:$((k > 50 ? k - 20 : 0)):100}" \
                "$name" "${n[i]}" "${g:$((k > 50 ? k - 20 : 0)):100}" \
                "$([ "$k" -gt 50 ] && echo "(both shown from digit $((k - 19)) of ${#e}: the first $k digits are right)"$'\n')" \
                "$hint" "$name" "$WHERE")"
        fi
    done
}

@test "fib(0) to fib(4) are 0, 1, 1, 2, 3, as the talk says [2 pts]" {
    check fib "fib(n) returns 0 and stores F(n) in *value; F(0) = 0, F(1) = 1, F(n) = F(n-1) + F(n-2)." \
        0 1 2 3 4
}

@test "fib(n) is exact for every n from 0 to 93 [4 pts]" {
    check fib "All of F(0)..F(93) fit in a uint64_t (F(93) = 12200160415121876738)." $(seq 0 93)
}

@test "fib(n) for n over 93 or below 0 is out of range, not a wrapped-around number [2 pts]" {
    # no n in range here (fib(93) is the exactness test's): a right but slow
    # fib() must not lose this test on time
    check fib "fib() returns -1 (out of range) for n < 0 and n > FIB_MAX: F(94) needs 65 bits." \
        94 95 100 1000 -1 -93 9223372036854775807
}

@test "fib(93) comes at once: linear time, not a recursion [2 pts]" {
    check fib "One loop of n steps: F(93) should take microseconds." 93 92 91 90 89 88
}

@test "fib_decimal(n) is exact for every n from 0 to 1000 [2 pts, stretch]" {
    check dec "fib_decimal() writes every digit of F(n) and a NUL into buf and returns the number of digits." \
        $(seq 0 1000)
}

@test "fib_decimal(10000) has all 2090 digits right [1 pts, stretch]" {
    check dec "A carry must travel through every limb; base-10^9 limbs other than the top one print with %09u." \
        10000 9999 5000 4321
}

@test "fib_decimal fills an exact-size buffer and refuses a smaller one or n over 10,000 [1 pts, stretch]" {
    drive 10 fit 10 3 10 2 100 22 100 21 0 2 0 1 10000 2091 10000 2090 10001 4000 -1 10
    local expected
    expected=$(printf '%s\n' 55 "out of range" 354224848179261915075 "out of range" 0 "out of range" \
        "$(want dec 10000)" "out of range" "out of range" "out of range")
    if [ "$output" != "$expected" ]; then
        fail "$(printf 'command: fib_decimal(n, buf, size) for (n, size) = (10, 3) (10, 2) (100, 22) (100, 21) (0, 2) (0, 1) (10000, 2091) (10000, 2090) (10001, 4000) (-1, 10)\nexpected: %s\ngot: %s\nhint: the digits and the NUL must fit in size bytes, else return -1 and write nothing (look at fib_decimal() in %s)' \
            "$(cut -c1-30 <<<"$expected" | paste -sd'|')" "$(cut -c1-30 <<<"$output" | paste -sd'|')" "$WHERE")"
    fi
}

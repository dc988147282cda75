#!/usr/bin/env bats
# tests/grader.bats - the grader's helpers for a course (tests/exercises/README.md):
# the hang autopsy (a backtrace of every thread of a program that hung, in the
# student's report), stress mode (a pass rate per test, a seed per run), the
# hint ladder (make hint), make next, the Gradescope autograder
# (make gradescope: the zip, unpacked into a scratch root, grades a
# submission, and a submission's program cannot change its own grade), and
# the grader's verdicts where bats or ThreadSanitizer is not up to it. The
# grading itself, over every exercise, is grade-check's.

setup() {
    load helper
    skip_under_sanitizer "the grader builds its own programs, plainly"
    HERE="$WB_ROOT/tests/exercises"
}

# A copy of the workbook's sources in DEST, as a fresh clone has them (no
# built program), where a broken submission can be laid over exercises/.
copy_workbook() { # DEST
    local f
    mkdir -p "$1"
    cp -r "$WB_ROOT/Makefile" "$WB_ROOT/common" "$1/"
    (cd "$WB_ROOT" && find chapters exercises solutions tests -path tests/exercises/selftest -prune -o \
        -type f \( -name '*.c' -o -name '*.h' -o -name '*.bats' -o -name '*.bash' -o -name '*.py' \
        -o -name '*.mk' -o -name '*.txt' -o -name 'grade*' -o -name deps -o -name stress -o -name next \) -print) |
        while read -r f; do
            mkdir -p "$1/$(dirname "$f")" && cp "$WB_ROOT/$f" "$1/$f"
        done
}

# A tiny program that hangs in a function of its own: a worker waits on a
# condition variable nobody signals, and main joins it.
hanging_program() { # DIR
    mkdir -p "$1"
    cat >"$1/stuck.c" <<'EOF'
#include <pthread.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t never = PTHREAD_COND_INITIALIZER;

static void *wait_for_godot(void *arg)
{
    pthread_mutex_lock(&lock);
    pthread_cond_wait(&never, &lock);
    pthread_mutex_unlock(&lock);
    return arg;
}

int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, wait_for_godot, NULL);
    pthread_join(t, NULL);
    return 0;
}
EOF
    cc -O0 -g -pthread -o "$1/stuck" "$1/stuck.c"
}

# The grader's timeout, built as the grader builds it.
autopsy_timeout() { # DIR
    mkdir -p "$1"
    cc -O2 -Wall -o "$1/timeout" "$HERE/autopsy_timeout.c"
}

@test "the grader's timeout behaves as coreutils' timeout does" {
    local bin="$BATS_TEST_TMPDIR/bin"
    autopsy_timeout "$bin"
    run "$bin/timeout" 0.3 sleep 5
    assert_equal "$status" 124
    run "$bin/timeout" 5 bash -c 'exit 3'
    assert_equal "$status" 3
    run "$bin/timeout" 5 bash -c 'kill -SEGV $$'
    assert_equal "$status" 139
    run "$bin/timeout" -k 0.3 0.3 bash -c 'trap "" TERM; sleep 5'
    assert_equal "$status" 137
    run -127 "$bin/timeout" 5 no-such-program
    assert_equal "$status" 127
    # a signal for the timeout is passed on to the command
    "$bin/timeout" 10 sleep 5 3>&- &
    local pid=$!
    sleep 0.3
    kill -TERM "$pid"
    local code=0
    wait "$pid" || code=$?
    assert_equal "$code" 143
    # a pipeline inside is stopped with it (its own process group)
    run timeout 10 "$bin/timeout" 0.3 bash -c 'sleep 5 | sleep 6'
    assert_equal "$status" 124
}

@test "a program that hangs in the background: its timeout takes every thread's backtrace first" {
    command -v gdb >/dev/null || skip "gdb is not installed (make deps)"
    local dir="$BATS_TEST_TMPDIR/submission" bin="$BATS_TEST_TMPDIR/bin"
    hanging_program "$dir"
    autopsy_timeout "$bin"
    # as a test starts a server: in the background, stopped by its timeout
    GRADE_AUTOPSY_TOOL="$HERE/autopsy.py" GRADE_AUTOPSY_DIR="$BATS_TEST_TMPDIR/autopsy" \
        GRADE_AUTOPSY_SRC="$dir" GRADE_AUTOPSY_EXES="$dir" BATS_SUITE_TEST_NUMBER=7 \
        "$bin/timeout" 1 "$dir/stuck" 3>&- &
    local pid=$! code=0
    timeout 60 tail --pid="$pid" -f /dev/null
    wait "$pid" || code=$?
    assert_equal "$code" 124
    run cat "$BATS_TEST_TMPDIR/autopsy/test-7.txt"
    assert_output --partial "2 threads, when the test stopped it"
    assert_output --partial "thread 1: pthread_join <- main at stuck.c:"
    assert_output --partial "thread 2: pthread_cond_wait <- wait_for_godot at stuck.c:"
}

@test "without gdb, the autopsy says why and shows what the kernel knows of each thread" {
    local dir="$BATS_TEST_TMPDIR/submission" bin="$BATS_TEST_TMPDIR/bin"
    hanging_program "$dir"
    autopsy_timeout "$bin"
    # a gdb that may not attach, as under Yama's ptrace_scope or without CAP_SYS_PTRACE
    mkdir -p "$BATS_TEST_TMPDIR/nogdb"
    printf '#!/bin/sh\necho "ptrace: Operation not permitted." >&2\nexit 1\n' >"$BATS_TEST_TMPDIR/nogdb/gdb"
    chmod +x "$BATS_TEST_TMPDIR/nogdb/gdb"
    run env PATH="$BATS_TEST_TMPDIR/nogdb:$PATH" GRADE_AUTOPSY_TOOL="$HERE/autopsy.py" \
        GRADE_AUTOPSY_DIR="$BATS_TEST_TMPDIR/autopsy" GRADE_AUTOPSY_SRC="$dir" \
        GRADE_AUTOPSY_EXES="$dir" BATS_SUITE_TEST_NUMBER=2 "$bin/timeout" 1 "$dir/stuck"
    assert_equal "$status" 124
    run cat "$BATS_TEST_TMPDIR/autopsy/test-2.txt"
    assert_output --partial "no backtrace: ptrace: Operation not permitted"
    assert_output --regexp "thread [0-9]+ \(stuck\): sleeping"
}

@test "make grade: a submission that hangs in its own function gets a report naming it" {
    command -v gdb >/dev/null || skip "gdb is not installed (make deps)"
    local copy="$BATS_TEST_TMPDIR/clone"
    copy_workbook "$copy"
    # the model answer, but 'stop' does not stop it: the test, which runs it
    # in the background, waits for it to end, then kills it
    cp "$WB_ROOT"/solutions/ch04/syslog*.[ch] "$copy/exercises/ch04/"
    python3 - "$copy/exercises/ch04/syslog.c" <<'EOF'
import sys
s = open(sys.argv[1]).read()
stop = 'if (strcmp(line, "stop") == 0)\n        return 1;'
assert stop in s
open(sys.argv[1], "w").write(s.replace(stop, stop.replace("return 1", "return 0")))
EOF
    # (with ptracer_any.so preloaded, as where Yama restricts ptrace)
    run timeout 120 env GRADE_PTRACER_PRELOAD=1 bash "$copy/tests/exercises/grade" \
        --only ch04/syslog --filter "stops on 'stop'"
    assert_success
    assert_output --partial "TIMEOUT  starts, says where it captures, and stops on 'stop'"
    assert_output --regexp "thread 1: poll <- command_loop at syslog.c:[0-9]+ <- main at syslog.c:[0-9]+"
    assert_output --regexp "thread 2: [a-z_]+ <- receiver at syslog_receiver.c:[0-9]+"
    assert_output --partial "more help: make hint EX=ch04/syslog"
    # and the same in results.json, for Gradescope
    run python3 -c 'import json, sys
print(json.load(open(sys.argv[1]))["tests"][0]["output"])' "$copy/grade/results.json"
    assert_output --partial "backtrace: the hung program's threads"
    assert_output --partial "command_loop at syslog.c:"
}

@test "stress mode over a solution: every test passes every run, and each run's seed is printed" {
    run timeout 120 bash "$HERE/stress" --runs 2 --src solutions --only ch05/timer_loop \
        --out "$BATS_TEST_TMPDIR/out"
    assert_success
    assert_output --partial "passed 2 of 2 runs  ch05/timer_loop: ten timers ring"
    refute_output --partial "!! passed"
    assert_output --regexp "the seeds: [0-9]+, [0-9]+"
    # each run graded with its seed as WB_YIELD_SEED (what SEED=S replays)
    local seed
    seed="$(cut -f2 "$BATS_TEST_TMPDIR/out/stress/seeds.tsv" | head -n 1)"
    assert_output --partial "$seed"
    run make -s -n -C "$WB_ROOT" grade EX=ch05/timer_loop SEED="$seed"
    assert_output --partial "--seed $seed"
}

@test "stress mode over a wrong answer: the pass rate, and each failing run with the seed that replays it" {
    local copy="$BATS_TEST_TMPDIR/clone"
    copy_workbook "$copy"
    # the model answer with a heap that orders by deadline alone: ties come out in any order
    cp "$WB_ROOT/solutions/ch05/timer_loop.c" "$copy/exercises/ch05/timer_loop.c"
    sed -i 's|    return a->seq < b->seq;|    return false;|' "$copy/exercises/ch05/timer_loop.c"
    grep -q '    return false;' "$copy/exercises/ch05/timer_loop.c"
    run timeout 120 bash "$copy/tests/exercises/stress" --runs 2 --only ch05/timer_loop
    assert_failure 1
    assert_output --partial "!! passed 0 of 2 runs  ch05/timer_loop: a thousand timers with many ties"
    assert_output --partial "   passed 2 of 2 runs  ch05/timer_loop: ten timers ring"
    assert_output --regexp "run 1, seed [0-9]+: FAIL a thousand timers"
    assert_output --regexp "make grade EX=ch05/timer_loop SEED=[0-9]+"
}

@test "make hint: each call gives the next hint, RESET=1 starts over" {
    export WB_HINT_STATE="$BATS_TEST_TMPDIR/hints-seen.txt"
    run make -s -C "$WB_ROOT" hint EX=ch03/bounded_pool
    assert_success
    assert_line --index 0 --regexp '^hint 1 of [0-9]+ for ch03/bounded_pool: '
    local first="$output"
    run make -s -C "$WB_ROOT" hint EX=ch03/bounded_pool
    assert_line --index 0 --regexp '^hint 2 of [0-9]+ for ch03/bounded_pool: '
    [ "$output" != "$first" ]
    run make -s -C "$WB_ROOT" hint EX=ch03/bounded_pool RESET=1
    assert_line --index 0 --regexp '^hint 1 of '
    # the state lives in an ignored file
    git -C "$WB_ROOT" check-ignore -q grade/hints-seen.txt
}

@test "every exercise has three or more hints, and every hint fits some test" {
    local suite ex n
    for suite in "$HERE"/ch[0-9][0-9]_*.bats; do
        ex="$(basename "$suite" .bats)"
        [ -f "$HERE/hints/$ex.txt" ] || fail "no hints for ${ex/_//}: tests/exercises/hints/$ex.txt"
        n="$(grep -c '^## ' "$HERE/hints/$ex.txt")"
        [ "$n" -ge 3 ] || fail "${ex/_//} has $n hints; a ladder needs three or more"
    done
    run python3 - "$HERE" <<'EOF'
import glob, os, sys
sys.dont_write_bytecode = True
sys.path.insert(0, sys.argv[1])
import hint, grade_report
for suite in sorted(glob.glob(os.path.join(sys.argv[1], "ch[0-9][0-9]_*.bats"))):
    ex = grade_report.exercise_of(suite)
    names = [t["name"].lower() for t in grade_report.parse_suite(suite)]
    for i, h in enumerate(hint.hints_of(ex), 1):
        if not any(hint.fits_in(w, n) for w in h["fits"] for n in names):
            print(f"{ex}: hint {i} ({h['title']}) fits no test: its fits: words are in no test name")
EOF
    assert_output ''
}

@test "a failing test points at the hint about it: whole words, the most specific fit" {
    run python3 - "$HERE" <<'EOF'
import sys
sys.dont_write_bytecode = True
sys.path.insert(0, sys.argv[1])
import hint
cases = [
    # "err" (ERR lines) is not in "error"
    ("ch04/fib_server", "a line over 64 bytes is an error and the rest of it is discarded [2 pts]", 2),
    ("ch04/fib_server", "the connection stays usable after every kind of error [2 pts]", 2),
    ("ch04/fib_server", "answers ERR negative to -1 and -500 [1 pts]", 1),
    # the open-file limit, not the loop, for the /barrier/2000 test
    ("ch06/poll_crawler", "two thousand fetches of /barrier/2000 pass, under a soft limit of 1024 open files [5 pts]", 2),
    ("ch06/poll_crawler", "counts every byte of answers that come in small pieces (/drip) [3 pts]", 1),
    ("ch03/bounded_pool", "stopping the pool wakes every idle worker and joins it [3 pts]", 4),
]
for ex, name, want in cases:
    got, _ = hint.fitting(ex, name)
    if got != want:
        print(f"{ex}: {name}: hint {got}, not {want}")
# what the failure's own hint: line says went wrong comes before the name
said = [
    ("ch03/bounded_pool", "results come out in input order, though later URLs finish first [3 pts]",
     "got: [0] ...\nhint: every result came, 5 of 5 in order, then it hung on the way out: pool_stop() ...", 4),
    ("ch03/bounded_pool", "results come out in input order, though later URLs finish first [3 pts]",
     "hint: main prints result i only once wait_result(i) returns", 1),
    ("ch05/timer_loop", "a thousand timers with many ties ring in order, ties first in, first out [4 pts]",
     "hint: a timer due later rang before one due earlier, so heap[0] was not the earliest timer:"
     " in loop_add_timer(), sift the new timer up (swap it with its parent while it is earlier)", 1),
    ("ch02/transfer", "eight tellers fighting over three accounts never deadlock [3 pts]",
     "hint: only one thread made all the transfers: the tellers took turns", 1),
]
for ex, name, message, want in said:
    got, _ = hint.fitting(ex, name, message)
    if got != want:
        print(f"{ex}: {name}, said {message!r}: hint {got}, not {want}")
EOF
    assert_success
    assert_output ''
}

@test "make next names the first exercise not at full marks, its failing test and how to grade it" {
    run --separate-stderr timeout 120 bash "$HERE/next" --out "$BATS_TEST_TMPDIR/next"
    assert_success
    # exercises/ holds the untouched skeletons: the first in the workbook's order
    assert_line --index 0 --regexp '^next: ch02/transfer \(1 of [0-9]+ in the workbook.s order\), 0 of [0-9]+ points'
    assert_output --partial "its first failing test: "
    assert_output --partial "make grade EX=ch02/transfer"
    assert_output --partial "make hint EX=ch02/transfer"
}

# A scratch Gradescope machine: the autograder zip, built from this tree and
# unpacked into ROOT/source, where Gradescope puts it.
autograder_root() { # ROOT
    local zip="$BATS_TEST_TMPDIR/autograder.zip"
    run timeout 60 bash "$HERE/gradescope/build" --out "$zip"
    assert_success
    mkdir -p "$1/source"
    python3 -m zipfile -e "$zip" "$1/source"
}

@test "make gradescope: the zip grades the solutions to full marks and an empty submission to zero" {
    local root="$BATS_TEST_TMPDIR/autograder"
    autograder_root "$root"
    mkdir -p "$root/submission/student-repo/exercises"
    [ -f "$root/source/setup.sh" ] && [ -f "$root/source/run_autograder" ]
    # the solutions, submitted as a repository (two exercises, to keep it short)
    cp -r "$WB_ROOT/solutions/ch04" "$WB_ROOT/solutions/ch05" "$root/submission/student-repo/exercises/"
    find "$root/submission" -type f ! -name '*.[ch]' -delete
    run timeout 300 env AUTOGRADER="$root" AUTOGRADER_ONLY="ch04/fib ch05/timer_loop" \
        bash "$root/source/run_autograder"
    assert_success
    run python3 -c 'import json, sys
r = json.load(open(sys.argv[1]))
top = sum(t["max_score"] for t in r["tests"])
print("score %s of %s, %d tests" % (r["score"], top, len(r["tests"])))
print(r["output"])' "$root/results/results.json"
    assert_line --index 0 --regexp '^score ([1-9][0-9]*) of \1, [1-9][0-9]* tests$'
    assert_output --partial "exercises/ch05/timer_loop.c"
    # the model answers' fib.h differs from the skeleton's in a comment only: no word about it
    refute_output --partial "ch04/fib.h"
    # no model answer in the zip, where a student's program could read it:
    # the names of the exercises' programs instead
    run python3 -c 'import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
print([n for n in z.namelist() if n.startswith("workbook/solutions/")])
print(z.read("workbook/tests/exercises/programs.txt").decode())' "$BATS_TEST_TMPDIR/autograder.zip"
    assert_line --index 0 '[]'
    assert_line 'ch02/transfer'
    assert_line 'ch04/fib_server'

    # an empty submission: zero, and a message that says what to submit
    rm -rf "$root/submission" "$root/results"
    mkdir -p "$root/submission"
    run timeout 60 env AUTOGRADER="$root" bash "$root/source/run_autograder"
    assert_success
    run score_and_output "$root"
    assert_line --index 0 'score 0'
    assert_output --partial "No exercise file was found in your submission"
    assert_output --partial "Submit your repository"
}

@test "make gradescope: only the files a student writes are taken, and an exercise without one is named" {
    local root="$BATS_TEST_TMPDIR/autograder"
    autograder_root "$root"
    mkdir -p "$root/submission"
    # a harness of one's own that prints the verdicts the suite wants, over
    # the untouched skeleton; and the model fib.c, for chapter 4's fib only
    cat >"$root/submission/timer_harness.c" <<'EOF'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(int argc, char **argv)
{
    long n = 10;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
            n = atol(argv[++i]);
        else if (strcmp(argv[i], "--chain") == 0)
            n += n / 2;
    }
    printf("rang %ld of %ld timers\norder: right (each at its deadline, ties first in, first out)\n"
           "waits: 5, each until the next deadline\n", n, n);
    return 0;
}
EOF
    cp "$WB_ROOT/exercises/ch05/timer_loop.c" "$WB_ROOT/solutions/ch04/fib.c" "$root/submission/"
    mkdir -p "$root/submission/ch02"
    printf 'int bank_total(void) { return 0; }\n' >"$root/submission/ch02/bank.c"
    run timeout 300 env AUTOGRADER="$root" AUTOGRADER_ONLY="ch05/timer_loop ch04/fib ch04/syslog" \
        bash "$root/source/run_autograder"
    assert_success
    run python3 -c 'import json, sys
r = json.load(open(sys.argv[1]))
for ex in ("ch05/timer_loop", "ch04/fib"):
    tests = [t for t in r["tests"] if t["tags"][0] == ex]
    print("%s: %s of %s" % (ex, sum(t["score"] for t in tests), sum(t["max_score"] for t in tests)))
print(r["output"])' "$root/results/results.json"
    # the harness is the workbook's: the skeleton scores nothing
    assert_line --index 0 "ch05/timer_loop: 0 of 20"
    assert_line --index 1 "ch04/fib: 14 of 14"
    assert_output --partial "timer_harness.c: exercises/ch05/timer_harness.c is given by the workbook"
    assert_output --partial "ch02/bank.c: exercises/ch02/bank.c is given by the workbook"
    assert_output --partial "your files, graded as: exercises/ch04/fib.c, exercises/ch05/timer_loop.c"
    # per exercise: chapter 4's fib came, its syslog did not
    assert_output --partial "no file of yours for ch04/syslog: graded as the untouched skeleton"
    refute_output --regexp "no file of yours for [^:]*ch04/fib[,:]"
}

@test "make gradescope: the zip takes the skeletons as committed, and refuses a tree it cannot check" {
    local copy="$BATS_TEST_TMPDIR/clone" zip="$BATS_TEST_TMPDIR/autograder.zip"
    copy_workbook "$copy"
    cp -r "$HERE/gradescope" "$copy/tests/exercises/"
    # not a git checkout: no telling the skeletons from an answer being tried
    run timeout 60 bash "$copy/tests/exercises/gradescope/build" --out "$zip"
    assert_failure 1
    assert_output --partial "is not a git checkout"
    assert_output --partial "--working-tree"
    run timeout 60 bash "$copy/tests/exercises/gradescope/build" --out "$zip" --working-tree
    assert_success
    # a checkout with an answer being tried in exercises/, not committed
    git -C "$copy" init -q
    git -C "$copy" add -A
    git -C "$copy" -c user.name=t -c user.email=t@localhost commit -q -m skeletons
    echo '/* an answer being tried */' >>"$copy/exercises/ch05/timer_loop.c"
    run --separate-stderr timeout 60 bash "$copy/tests/exercises/gradescope/build" --out "$zip"
    assert_success
    [[ "$stderr" == *"exercises/ has changes not committed"* ]] || fail "no note of the changes: $stderr"
    run python3 -c 'import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
print(z.read("workbook/exercises/ch05/timer_loop.c") == open(sys.argv[2], "rb").read())
print(b"an answer being tried" in z.read("workbook/exercises/ch05/timer_loop.c"))' \
        "$zip" "$WB_ROOT/exercises/ch05/timer_loop.c"
    assert_output $'True\nFalse'
}

# The grade of a scratch autograder's results.json for ch02/transfer: the
# score of its maximum, then its ThreadSanitizer test's status, score and
# maximum, then every test's message.
# The score of the run under ROOT, then the message its results.json gives.
score_and_output() { # ROOT
    python3 -c 'import json, sys
r = json.load(open(sys.argv[1]))
print("score %s" % r["score"])
print(r["output"])' "$1/results/results.json"
}

transfer_results() { # ROOT
    python3 - "$1/results/results.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
tests = [t for t in r["tests"] if t["tags"][0] == "ch02/transfer"]
print("score %s of %s" % (r["score"], sum(t["max_score"] for t in tests)))
for t in tests:
    if "ThreadSanitizer" in t["name"]:
        print("tsan: %s %s of %s%s" % (t["status"], t["score"], t["max_score"],
                                       ", ungraded" if "ungraded" in t["tags"] else ""))
print(r["output"])
for t in tests:
    print(t["output"])
EOF
}

@test "make gradescope, as root: a student's program can neither rewrite the grader nor remove its ThreadSanitizer build" {
    [ "$(id -u)" -eq 0 ] || skip "run_autograder runs the students' code as another user only as root (as on Gradescope)"
    command -v setpriv >/dev/null || skip "no setpriv (util-linux)"
    local root="$BATS_TEST_TMPDIR/autograder"
    autograder_root "$root"
    mkdir -p "$root/submission"
    # The reviewer's cheats: a transfer.c whose program, run by the suite
    # from the top of the workbook's copy, first removes the ThreadSanitizer
    # build of itself (its test would then skip, and its points be left out
    # of the maximum) ...
    cat >"$root/submission/transfer.c" <<'EOF'
#include <stdio.h>
#include <unistd.h>

int main(void)
{
    if (unlink("build/tsan/exercises/ch02/transfer") != 0)
        perror("cheat: unlink build/tsan/exercises/ch02/transfer");
    return 0;
}
EOF
    run timeout 300 env AUTOGRADER="$root" AUTOGRADER_ONLY=ch02/transfer bash "$root/source/run_autograder"
    assert_success
    run transfer_results "$root"
    assert_line --index 0 --regexp '^score 0 of [1-9][0-9]*$'
    # the TSan test ran, and failed: graded, not skipped
    assert_line --index 1 --regexp '^tsan: failed 0 of [1-9][0-9]*$'
    assert_output --partial "cheat: unlink build/tsan/exercises/ch02/transfer: Permission denied"

    # ... then one that rewrites grade_report.py so that every test passes
    rm -rf "$root/results"
    cat >"$root/submission/transfer.c" <<'EOF'
#include <stdio.h>
#include <stdlib.h>

int main(void)
{
    if (system("sed -i 's/= classify(r, text)/= \"PASS\"/' tests/exercises/grade_report.py") != 0)
        fputs("cheat: sed failed\n", stderr);
    return 0;
}
EOF
    run timeout 300 env AUTOGRADER="$root" AUTOGRADER_ONLY=ch02/transfer bash "$root/source/run_autograder"
    assert_success
    run transfer_results "$root"
    assert_line --index 0 --regexp '^score 0 of [1-9][0-9]*$'
    assert_line --index 1 --regexp '^tsan: failed 0 of [1-9][0-9]*$'
    assert_output --partial "Permission denied"
    assert_output --partial "cheat: sed failed"
}

@test "a suite's results that come out of turn, written into bats' fd 3 by a program under test, score nothing" {
    local dir="$BATS_TEST_TMPDIR/report"
    mkdir -p "$dir/tap" "$dir/junit"
    printf '@test "one [2 pts]" {\n}\n@test "two [3 pts]" {\n}\n' >"$dir/ch09_demo.bats"
    # test 2's program wrote "ok 1 ..." where bats reads the results from
    cat >"$dir/tap/ch09_demo.tap" <<'EOF'
1..2
not ok 1 one [2 pts]
# expected: the line: done
ok 1 one [2 pts]
ok 2 two [3 pts]
EOF
    printf '%s\tok\t%s\t%s\t0\t10\n' "$dir/ch09_demo.bats" /dev/null "$dir/tap/ch09_demo.tap" >"$dir/manifest.tsv"
    run python3 "$HERE/grade_report.py" --manifest "$dir/manifest.tsv" --out "$dir"
    assert_success
    assert_output --regexp "ch09/demo +0/2 +0 +5 +2 FAIL"
    assert_output --partial "are not bats' own, so none counts"
    run cut -f2,3 "$dir/summary.txt"
    assert_output $'FAIL\t0/2\nFAIL\t0/3'
    # bats' own order is no forgery, nor is a teardown_file that failed after the plan
    printf '1..2\nnot ok 1 one [2 pts]\n# expected: the line: done\nok 2 two [3 pts]\nnot ok 3 teardown_file failed\n' \
        >"$dir/tap/ch09_demo.tap"
    run python3 "$HERE/grade_report.py" --manifest "$dir/manifest.tsv" --out "$dir"
    assert_output --regexp "ch09/demo +1/2 +3 +5 +1 FAIL"
}

# A bats that is not up to the grader: it says it is VERSION, and refuses
# the grader's options, as bats 1.2.1 refuses --report-formatter.
fake_bats() { # DIR VERSION
    mkdir -p "$1"
    cat >"$1/bats" <<EOF
#!/bin/sh
[ "\$1" = --version ] && { echo "Bats $2"; exit 0; }
echo "Error: Bad command line option '--report-formatter'" >&2
exit 1
EOF
    chmod 755 "$1" "$1/bats"
}

@test "a bats too old, or one that runs no suite: grade says so and exits 2, run_autograder gives up with its words" {
    local old="$BATS_TEST_TMPDIR/bats-1.2.1" broken root="$BATS_TEST_TMPDIR/autograder"
    fake_bats "$old" 1.2.1
    run timeout 60 env PATH="$old:$PATH" bash "$HERE/grade" --src solutions --only ch04/fib --out "$BATS_TEST_TMPDIR/out"
    assert_failure 2
    assert_output --partial "bats 1.2.1 is too old: the grader needs bats-core 1.7 or newer"
    # one that says it is new enough but runs no suite: no plan in its TAP
    # (outside this test's folder, which another user may not enter, so that
    # run_autograder as root runs it too)
    broken="$(mktemp -d)"
    fake_bats "$broken" 1.8.2
    run timeout 60 env PATH="$broken:$PATH" bash "$HERE/grade" --src solutions --only ch04/fib --out "$BATS_TEST_TMPDIR/out"
    assert_failure 2
    assert_output --partial "bats did not run ch04/fib's suite"
    assert_output --partial "Bad command line option '--report-formatter'"
    # on Gradescope: 0, and the message says the grader could not run (not a column of NOT RUN)
    autograder_root "$root"
    mkdir -p "$root/submission"
    cp "$WB_ROOT/solutions/ch04/fib.c" "$root/submission/"
    run timeout 120 env PATH="$broken:$PATH" AUTOGRADER="$root" AUTOGRADER_ONLY=ch04/fib \
        bash "$root/source/run_autograder"
    rm -rf "$broken"
    assert_success
    run score_and_output "$root"
    assert_line --index 0 'score 0'
    assert_output --partial "The grader could not run on this submission"
    assert_output --partial "bats did not run ch04/fib's suite"
}

@test "setup.sh stops on a base image whose bats is too old, and names one that works" {
    local bin="$BATS_TEST_TMPDIR/bin"
    fake_bats "$bin" 1.2.1
    # (SETUP_SKIP_INSTALL: no apt-get; a stand-in would say if it ran)
    printf '#!/bin/sh\necho "apt-get ran" >&2\nexit 1\n' >"$bin/apt-get"
    chmod +x "$bin/apt-get"
    run env PATH="$bin:$PATH" SETUP_SKIP_INSTALL=1 bash "$HERE/gradescope/setup.sh"
    assert_failure 1
    assert_output --partial "setup.sh: bats 1.2.1"
    assert_output --partial "is too old: the grader needs bats-core 1.7 or newer"
    assert_output --partial "Choose the Ubuntu 24.04 base image"
    refute_output --partial "apt-get ran"
}

@test "a compiler without ThreadSanitizer: the exercise keeps its plain build's verdict, its TSan test is skipped, and the summary says so" {
    local copy="$BATS_TEST_TMPDIR/clone" bin="$BATS_TEST_TMPDIR/no-tsan"
    copy_workbook "$copy"
    mkdir -p "$bin"
    cat >"$bin/cc" <<'EOF'
#!/bin/sh
# cc, as a compiler without ThreadSanitizer: -fsanitize=thread is refused
for a; do
    case "$a" in -fsanitize=thread*) echo "cc: error: unrecognized argument in option '$a'" >&2; exit 1 ;; esac
done
exec "$REAL_CC" "$@"
EOF
    chmod +x "$bin/cc"
    run timeout 120 env REAL_CC="$(command -v cc)" PATH="$bin:$PATH" \
        bash "$copy/tests/exercises/grade" --src solutions --only ch02/transfer
    assert_success
    refute_output --partial "BUILD ERROR"
    # every other test graded and passed; the TSan test left out of the maximum
    assert_output --regexp "ch02/transfer +([0-9]+)/\\1 +([1-9][0-9]*) +\\2 +1 not graded here"
    assert_output --partial "ThreadSanitizer does not work here: the compiler cannot build with it (cc -fsanitize=thread: cc: error: unrecognized argument"
    assert_output --partial "The tests that need it were not run here"
    run grep -P '^ch02/transfer\tSKIP\t0/0\tThreadSanitizer' "$copy/grade/summary.txt"
    assert_success
    run python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["output"])' "$copy/grade/results.json"
    assert_output --partial "ThreadSanitizer does not work here"
}

@test "make grade: a wrong exercise name lists the right ones, a file's path names its exercise, SEED is a number" {
    run make -s -C "$WB_ROOT" grade EX=ch99/foo
    assert_failure
    assert_output --partial "no exercise named ch99/foo; the exercises are: ch02/transfer ch03/bounded_pool"
    run bash "$HERE/grade" --only ch99/foo --out "$BATS_TEST_TMPDIR/out"
    assert_failure 2
    run bash "$HERE/grade" --only ch05/timer_loop --seed abc --out "$BATS_TEST_TMPDIR/out"
    assert_failure 2
    assert_output --partial "SEED must be a whole number"
    # as make hint reads EX: exercises/ch05/timer_loop.c is ch05/timer_loop
    run timeout 120 bash "$HERE/grade" --src solutions --only exercises/ch05/timer_loop.c \
        --out "$BATS_TEST_TMPDIR/out"
    assert_success
    assert_output --regexp "ch05/timer_loop +6/6 +20 +20"
}

@test "the terminal summary shows a failure's stdout: block and every line of a got:" {
    local dir="$BATS_TEST_TMPDIR/report"
    mkdir -p "$dir/tap" "$dir/junit"
    printf '@test "shows its output [2 pts]" {\n}\n' >"$dir/ch09_demo.bats"
    cat >"$dir/tap/ch09_demo.tap" <<'EOF'
1..1
not ok 1 shows its output [2 pts]
# command:  exercises/ch09/demo
# expected: the line: done
# got: [0] first result
# [1] second result
# TIMEOUT: it was still running when the test stopped it
# stdout:   line one
#           line two
# stderr:   (nothing)
# hint:     print done
EOF
    printf '%s\tok\t%s\t%s\t1\t10\n' "$dir/ch09_demo.bats" /dev/null "$dir/tap/ch09_demo.tap" >"$dir/manifest.tsv"
    run python3 "$HERE/grade_report.py" --manifest "$dir/manifest.tsv" --out "$dir"
    assert_success
    assert_output --partial "got: [0] first result"
    assert_output --partial "           [1] second result"
    assert_output --partial "TIMEOUT: it was still running"
    assert_output --partial "stdout:   line one"
    assert_output --partial "          line two"
    assert_output --partial "hint:     print done"
}

@test "a test this machine cannot run is left out of the maximum: a full answer has full marks" {
    # a hard open-file limit too low for /barrier/2000: that test skips
    run timeout 120 bash -c 'ulimit -n 2000 && exec bash "$1" --src solutions --only ch06/poll_crawler --out "$2"' \
        _ "$HERE/grade" "$BATS_TEST_TMPDIR/out"
    assert_success
    assert_output --regexp "ch06/poll_crawler +4/4 +11 +11 +1 not graded here"
    assert_output --partial "not graded here (skipped; their 5 points are left out"
    run python3 -c 'import json, sys
r = json.load(open(sys.argv[1]))
print(r["score"], sum(t["max_score"] for t in r["tests"]))
print(r["output"])
print([t["output"] for t in r["tests"] if "ungraded" in t["tags"]][0])' "$BATS_TEST_TMPDIR/out/results.json"
    assert_line --index 0 "11 11"
    assert_output --partial "1 test could not run on this machine and was not graded"
    assert_output --partial "NOT GRADED here: skipped: the hard open-file limit here is 2000"
    run grep -P '^ch06/poll_crawler\tSKIP\t0/0\ttwo thousand fetches' "$BATS_TEST_TMPDIR/out/summary.txt"
    assert_success
}

@test "timer_loop: a heap that never sifts a new timer up gets the heap's hint, not the test's" {
    local copy="$BATS_TEST_TMPDIR/clone"
    copy_workbook "$copy"
    # the model answer without the climb in loop_add_timer()
    cp "$WB_ROOT/solutions/ch05/timer_loop.c" "$copy/exercises/ch05/timer_loop.c"
    python3 - "$copy/exercises/ch05/timer_loop.c" <<'EOF'
import sys
s = open(sys.argv[1]).read()
climb = """    while (i > 0 && earlier(&heap[i], &heap[(i - 1) / 2])) {
        swap(i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
"""
assert climb in s
open(sys.argv[1], "w").write(s.replace(climb, "    (void)i;\n"))
EOF
    run timeout 120 bash "$copy/tests/exercises/grade" --only ch05/timer_loop
    assert_success
    assert_output --regexp "order: WRONG: timer [0-9]+ \(due at [0-9]+ ms"
    assert_output --partial "hint: a timer due later rang before one due earlier, so heap[0] was not the earliest timer: in loop_add_timer(), sift the new timer up"
    # not the hints of the ties, the early wake-up or the late one
    refute_output --partial "compare seq when the deadlines are equal"
    refute_output --partial "never assume the timer is due"
    refute_output --partial "not just one"
    # and the hint about the heap, not the one about ties
    refute_output --partial "make hint EX=ch05/timer_loop (hint 2 of"
}

@test "make next: a pool that hangs on the way out shows what it printed, the hang, the backtrace and pool_stop" {
    local copy="$BATS_TEST_TMPDIR/clone"
    copy_workbook "$copy"
    # chapter 2 done; chapter 3's model answer, but pool_stop() wakes nobody:
    # every result comes, then main waits in pthread_join() forever
    cp "$WB_ROOT/solutions/ch02/transfer.c" "$copy/exercises/ch02/transfer.c"
    cp "$WB_ROOT/solutions/ch03/bounded_pool.c" "$copy/exercises/ch03/bounded_pool.c"
    # every run of this pool hangs, so the copy's suite gives a run 4 s, not
    # 10 to 30: the report is the same, and the test takes a minute less
    sed -i -E 's/\bpool (10|20) /pool 4 /; s/supervise 30 /supervise 6 /' \
        "$copy/tests/exercises/ch03_bounded_pool.bats"
    python3 - "$copy/exercises/ch03/bounded_pool.c" <<'EOF'
import sys
s = open(sys.argv[1]).read()
wake = """    int err = pthread_cond_broadcast(&p->not_empty);
    if (err != 0)
        wb_die_err(err, "pthread_cond_broadcast");
    unlock(p);
"""
assert wake in s
open(sys.argv[1], "w").write(s.replace(wake, "    unlock(p);\n    int err;\n"))
EOF
    run --separate-stderr timeout 900 bash "$copy/tests/exercises/next" --out "$BATS_TEST_TMPDIR/next"
    assert_success
    assert_line --index 0 --regexp '^next: ch03/bounded_pool \(2 of [0-9]+ in the workbook.s order\)'
    assert_output --regexp "its first failing test: .* \(TIMEOUT\)"
    # what it printed before it hung (the first line, and the ones after it)
    assert_output --regexp "  got: \[0\] [0-9]+ bytes in"
    assert_output --regexp $'\n  \\[1\\] [0-9]+ bytes in'
    assert_output --partial "  TIMEOUT: it was still running when the test stopped it"
    assert_output --partial "  stderr:"
    assert_output --partial "  hint: every result came"
    assert_output --partial "then it hung on the way out: pool_stop()"
    assert_output --partial "more help: make hint EX=ch03/bounded_pool (hint 4 of 4 is about this test)"
    refute_output --partial "write queue_put() and queue_get()"
    if command -v gdb >/dev/null; then
        assert_output --partial "  backtrace: the hung program's threads"
        assert_output --regexp "    thread 1: pthread_join <- pool_stop at bounded_pool.c:[0-9]+"
    fi
}

# tests/exercises/grade-hooks.bash - sourced by tests/exercises/grade, once
# OUT, SRC and SRC_REL are known: what the grader adds around each suite.
#
# - The hang autopsy: autopsy_timeout.c is built as $OUT/bin/timeout and put
#   first in the suite's PATH, so every `timeout N "$PROG"` of a suite runs
#   through it. When a limit passes, it runs autopsy.py, which writes a
#   backtrace of every thread of the hung program into $OUT/autopsy/SUITE/
#   (test-N.txt, read by grade_report.py into the test's message).
#   Where Yama's ptrace_scope is 1, ptracer_any.so is preloaded into every
#   process of the suite, so that gdb may attach to a program a test started
#   through a shell too (GRADE_PTRACER_PRELOAD=1 preloads it anywhere).
# - A seed (--seed N, `make grade SEED=N`): WB_YIELD_SEED=N for the whole
#   suite, so the programs linked with yield_shim.c replay the yields of a
#   stress run (tests/exercises/stress).
#
# suite_env BASE sets SUITE_ENV: the environment for the suite BASE, as
# arguments for env(1).

rm -rf "$OUT/autopsy" "$OUT/bin" "$OUT/filter.txt"
# --filter: the tests it leaves out are reported as such (grade_report.py)
[ ${#FILTER[@]} -eq 0 ] || printf '%s\n' "${FILTER[1]}" >"$OUT/filter.txt"
AUTOPSY_TIMEOUT= PTRACER_PRELOAD=
if mkdir -p "$OUT/bin" &&
    cc -O2 -Wall -o "$OUT/bin/timeout" "$HERE/autopsy_timeout.c" >"$OUT/bin/build.log" 2>&1; then
    AUTOPSY_TIMEOUT="$OUT/bin"
else
    say "grade: no hang autopsy (its timeout did not build: $OUT/bin/build.log)"
fi
if [ -n "$AUTOPSY_TIMEOUT" ] &&
    { [ "$(cat /proc/sys/kernel/yama/ptrace_scope 2>/dev/null)" = 1 ] || [ -n "${GRADE_PTRACER_PRELOAD:-}" ]; } &&
    cc -shared -fPIC -O2 -o "$OUT/bin/ptracer_any.so" "$HERE/ptracer_any.c" >>"$OUT/bin/build.log" 2>&1; then
    PTRACER_PRELOAD="$OUT/bin/ptracer_any.so"
fi

suite_env() { # BASE
    SUITE_ENV=()
    if [ -n "$AUTOPSY_TIMEOUT" ]; then
        SUITE_ENV+=("PATH=$AUTOPSY_TIMEOUT:$PATH"
            "GRADE_AUTOPSY_TOOL=$HERE/autopsy.py"
            "GRADE_AUTOPSY_DIR=$OUT/autopsy/$1"
            "GRADE_AUTOPSY_SRC=$SRC"
            "GRADE_AUTOPSY_EXES=$SRC:$ROOT/build/tsan/$SRC_REL")
    fi
    if [ -n "$PTRACER_PRELOAD" ]; then
        SUITE_ENV+=("LD_PRELOAD=$PTRACER_PRELOAD${LD_PRELOAD:+:$LD_PRELOAD}")
    fi
    if [ -n "${SEED:-}" ]; then
        SUITE_ENV+=("WB_YIELD_SEED=$SEED")
    fi
    return 0
}

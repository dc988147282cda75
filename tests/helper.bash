# tests/helper.bash - loaded by every suite: `load helper` (or `load ../helper`).
#
# Programs are found through WB_BIN: the top of the tree for the plain build
# ($WB_BIN/ch03/thread_fetch), build/asan or build/tsan for the sanitized
# ones. WB_EX is where the exercise programs under test are built
# ($WB_EX/ch04/fib_server): solutions/ by default, exercises/ when grading.
# WB_SAN names the sanitizer of this run (empty, asan or tsan).

bats_require_minimum_version 1.5.0

# bats-support and bats-assert, as bats_load_library loads them, but without
# the process their load.bash starts for each file it sources: this runs
# before every test, and those processes cost a suite seconds.
wb_load_library() { # NAME
    local dir f
    for dir in ${BATS_LIB_PATH//:/ }; do
        [ -f "$dir/$1/load.bash" ] && [ -d "$dir/$1/src" ] || continue
        for f in "$dir/$1"/src/*.bash; do
            # shellcheck disable=SC1090 # the library's own files
            source "$f"
        done
        return 0
    done
    bats_load_library "$1"
}
wb_load_library bats-support
wb_load_library bats-assert

WB_ROOT="${BASH_SOURCE[0]%/*}/.."
WB_ROOT="$(cd "$WB_ROOT" && pwd)"
export WB_ROOT
export WB_BIN="${WB_BIN:-$WB_ROOT}"
export WB_EX="${WB_EX:-$WB_BIN/solutions}"
export WB_SAN="${WB_SAN:-}"

# Start a private lab server on a free port, wait (bounded) until it answers,
# and export LAB_URL, LAB_PORT and LAB_PID. Extra arguments go to labserver.
lab_start() {
    local dir="${BATS_TEST_TMPDIR:-${BATS_FILE_TMPDIR:-/tmp}}"
    LAB_PORTFILE="$(mktemp "$dir/labport.XXXXXX")"
    rm -f "$LAB_PORTFILE"
    "$WB_BIN/ch00/labserver" -p 0 --port-file "$LAB_PORTFILE" "$@" \
        >"$dir/labserver.out" 2>"$dir/labserver.err" 3>&- &
    LAB_PID=$!
    local i
    # a busy machine can take seconds to start it: up to 20 s
    for i in $(seq 1 400); do
        if [ -s "$LAB_PORTFILE" ]; then
            LAB_PORT="$(cat "$LAB_PORTFILE")"
            export LAB_PORT LAB_PID LAB_URL="http://127.0.0.1:$LAB_PORT"
            curl -sf -o /dev/null --max-time 2 "$LAB_URL/stats" && return 0
        fi
        kill -0 "$LAB_PID" 2>/dev/null || break
        sleep 0.05
    done
    echo "lab server did not start:" >&2
    cat "$dir/labserver.err" >&2
    return 1
}

# wait_until SECONDS COMMAND...: run COMMAND every 50 ms until it succeeds;
# fail if it has not after SECONDS. For a program started in the background,
# which on a busy machine can take seconds to get going.
wait_until() {
    local end=$(($(date +%s) + $1))
    shift
    until "$@"; do
        [ "$(date +%s)" -lt "$end" ] || return 1
        sleep 0.05
    done
}

# program_pid PID: the PID of the program that `timeout` (PID) runs: its
# one child, once that child has become the program (it is no longer
# timeout's own copy).
program_pid() {
    local child
    child=$(tr -d ' \n' 2>/dev/null </proc/"$1"/task/"$1"/children) || return 1
    [ -n "$child" ] && [ "$(cat /proc/"$child"/comm 2>/dev/null)" != timeout ] || return 1
    echo "$child"
}

# catches PID SIGNUM: succeeds once the program that `timeout` (PID) runs has
# a handler for the signal (the SigCgt mask in /proc/CHILD/status).
catches() {
    local child mask
    child=$(program_pid "$1") || return 1
    mask=$(awk '/^SigCgt:/ { print $2 }' /proc/"$child"/status 2>/dev/null)
    [ -n "$mask" ] && (((16#$mask >> ($2 - 1)) & 1))
}

# ended PID: succeeds if process PID is gone or a zombie.
ended() {
    local state
    state=$(awk '{ print $3 }' 2>/dev/null </proc/"$1"/stat) || return 0
    [ "$state" = Z ]
}

ended_or_catches() { ended "$1" || catches "$1" "$2"; }

# signal_program SIGNAL PID [SECONDS]: send SIGNAL to the program that
# `timeout` (PID) runs, once it catches that signal (10 s at most; then it is
# sent all the same), or at once if it has already ended. Sent to timeout
# instead, a signal that comes before timeout has noted its child's PID,
# which a busy machine can delay, makes timeout exit 128 + SIGNAL and leaves
# the program running.
signal_program() {
    local child num
    num=$(kill -l "$1")
    wait_until "${3:-10}" ended_or_catches "$2" "$num" || true
    child=$(program_pid "$2") || child=$2
    kill "-$1" "$child"
}

# Stop the lab server by its PID (teardown). Harmless if it is not running.
lab_stop() {
    if [ -n "${LAB_PID:-}" ]; then
        kill -TERM "$LAB_PID" 2>/dev/null || true
        timeout 5 tail --pid="$LAB_PID" -f /dev/null 2>/dev/null || kill -KILL "$LAB_PID" 2>/dev/null || true
        wait "$LAB_PID" 2>/dev/null || true
        unset LAB_PID
    fi
}

# One field of the lab server's /stats: served, active or peak.
lab_stat() {
    curl -sf --max-time 5 "$LAB_URL/stats" |
        sed -nE "s/.*\"$1\": *([0-9]+).*/\1/p"
}

# lab_stat_is NAME VALUE: succeeds if /stats says NAME is VALUE now.
lab_stat_is() { [ "$(lab_stat "$1")" = "$2" ]; }

# Reset the counters between two runs in the same test.
lab_reset() {
    curl -sf --max-time 5 -o /dev/null "$LAB_URL/stats?reset=1"
}

# The CPUs this process may run on (its affinity mask), as nproc counts them
# when no OpenMP variable in the environment tells it otherwise.
cpus_allowed() { env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc; }

# A TCP port on loopback where nothing listens (for "connection refused").
closed_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# bats-assert 2.1.0 has no assert_stderr: after `run --separate-stderr`,
# check that stderr contains a string (fixed, not a pattern).
assert_stderr_contains() {
    if [[ "$stderr" != *"$1"* ]]; then
        batslib_print_kv_single_or_multi 8 'expected' "$1" 'stderr' "$stderr" |
            batslib_decorate 'stderr does not contain the expected text' | fail
    fi
}

# Fail if a sanitizer said anything in the last `run`, on stdout or (after
# `run --separate-stderr`) stderr. tests/run-all also sends the reports to
# files and checks those itself.
no_sanitizer_report() {
    if grep -qE 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|WARNING: ThreadSanitizer' \
        <<<"$output${stderr:-}"; then
        echo "sanitizer report:" >&2
        echo "$output${stderr:-}" >&2
        return 1
    fi
}

# Timing and CPU-speedup checks mean nothing under a sanitizer's slowdown.
skip_under_sanitizer() {
    [ -z "$WB_SAN" ] || skip "${1:-timing check} (not meaningful under $WB_SAN)"
}

# Wall time of a command in milliseconds, printed to stdout; the command's
# own output is discarded. Use it for ratios between two runs of one test.
elapsed_ms() {
    local t0 t1
    t0=$(date +%s%N)
    "$@" >/dev/null 2>&1 || true
    t1=$(date +%s%N)
    echo $(((t1 - t0) / 1000000))
}

# Before a test kills a program that did not end, let the grader look inside
# it: a backtrace of every thread, for the student's report (make grade;
# tests/exercises/autopsy.py). Outside the grader it does nothing.
hang_autopsy() { # PID: the program, or the shell or timeout that started it
    [ -n "${GRADE_AUTOPSY_TOOL:-}" ] || return 0
    timeout 60 python3 "$GRADE_AUTOPSY_TOOL" --pid "$1" </dev/null >/dev/null 2>&1 3>&- || true
}

# tsan_cannot_start: after a run of a ThreadSanitizer build, succeed if its
# runtime died before the program began ("FATAL: ThreadSanitizer: unexpected
# memory mapping", on kernels with vm.mmap_rnd_bits=32) and dies so for an
# empty program of the test's own too: the machine, not the exercise, is at
# fault. (A program that prints those words itself is caught by the probe.)
tsan_cannot_start() {
    grep -q 'FATAL: ThreadSanitizer' <<<"$stderr" || return 1
    local probe="$BATS_TEST_TMPDIR/tsan_probe"
    printf 'int main(void) { return 0; }\n' >"$probe.c"
    ${CC:-cc} -fsanitize=thread -o "$probe" "$probe.c" >/dev/null 2>&1 || return 0
    "$probe" 2>&1 | grep -q 'FATAL: ThreadSanitizer'
}

#!/usr/bin/env python3
"""autopsy.py - where a hung exercise program waits: every thread's backtrace.

Run by the grader's timeout (autopsy_timeout.c) when a test's time limit has
passed, just before the program is killed:

    autopsy.py --pid PID      PID: the command the timeout started

It finds the exercise programs among PID and its descendants (a test often
runs `bash -c '"$PROG" ... | head'`): those whose executable lies in one of
the folders of $GRADE_AUTOPSY_EXES (colon-separated). For each, it asks gdb
for a backtrace of every thread (gdb -batch -p PID -ex 'thread apply all bt');
where gdb cannot attach (not installed, ptrace not permitted, Yama's
ptrace_scope), it reads what the kernel shows without ptrace
(/proc/PID/task/TID/wchan, and syscall where it may) and says why there is no
backtrace. It writes, into $GRADE_AUTOPSY_DIR:

    test-N.txt        the excerpt a student reads: one line per thread, the
                      call it waits in and the student's own function and line
    test-N.full.txt   gdb's whole output

N is the test's number in its suite ($BATS_SUITE_TEST_NUMBER). The source
files that count as the student's are those under $GRADE_AUTOPSY_SRC.
"""
import argparse
import os
import re
import subprocess
import sys

GDB_LIMIT = 20  # seconds for one gdb run
MAX_PROGRAMS = 3
MAX_THREADS = 8

THREAD = re.compile(r'^Thread (\d+) \(.*?(?:LWP (\d+))?\)?(?: "([^"]*)")?\):?\s*$')
FRAME = re.compile(r"^#(\d+)\s+(?:0x[0-9a-f]+ in )?(\S+) \(.*?\)(?: at (\S+):(\d+))?")

# x86-64 system call numbers of the waits a hung program is likely to be in.
SYSCALLS = {0: "read", 1: "write", 7: "poll", 23: "select", 35: "nanosleep", 44: "sendto",
            45: "recvfrom", 47: "recvmsg", 61: "wait4", 202: "futex", 230: "clock_nanosleep",
            232: "epoll_wait", 270: "pselect6", 271: "ppoll", 281: "epoll_pwait", 288: "accept4",
            43: "accept", 42: "connect", 34: "pause", 130: "rt_sigsuspend"}


def read(path):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read().strip()
    except OSError:
        return ""


def children():
    """{parent pid: [child pids]} over every process."""
    tree = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        stat = read(f"/proc/{name}/stat")
        # the command name is in parentheses and may hold spaces
        fields = stat[stat.rfind(")") + 2:].split()
        if len(fields) > 1:
            tree.setdefault(int(fields[1]), []).append(int(name))
    return tree


def descendants(pid):
    tree, found, todo = children(), [], [pid]
    while todo:
        p = todo.pop(0)
        found.append(p)
        todo.extend(sorted(tree.get(p, [])))
    return found


def exe_of(pid):
    try:
        return os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return ""


def under(path, folders):
    path = os.path.realpath(path)
    return any(path.startswith(os.path.realpath(f) + os.sep) for f in folders if f)


# glibc's inner names for the calls a student makes (a call that ends in a
# tail call leaves only the inner one on the stack)
INNER_NAMES = {"pthread_clockjoin_ex": "pthread_join", "pthread_cond_wait_common": "pthread_cond_wait",
               "pthread_mutex_lock_full": "pthread_mutex_lock", "lll_lock_wait": "pthread_mutex_lock",
               "futex_abstimed_wait_common": "a futex wait", "futex_abstimed_wait_common64": "a futex wait"}


def short_name(function):
    """pthread_cond_wait@@GLIBC_2.3.2, ___pthread_cond_wait, __GI___poll and
    __wrap_pthread_mutex_lock (the grader's yield shim) all as a student knows
    them."""
    function = function.split("@")[0]
    for prefix in ("__wrap_", "__GI_", "__libc_", "__interceptor_"):
        function = function.replace(prefix, "")
    function = function.lstrip("_") or function
    return INNER_NAMES.get(function, function)


def parse_gdb(text):
    """[(thread number, lwp, name, [(function, file, line)])] in gdb's order."""
    threads = []
    for line in text.splitlines():
        m = THREAD.match(line)
        if m:
            threads.append((int(m.group(1)), m.group(2), m.group(3) or "", []))
            continue
        f = FRAME.match(line)
        if f and threads:
            threads[-1][3].append((f.group(2), f.group(3), f.group(4)))
    threads.sort(key=lambda t: t[0])
    return threads


def thread_line(number, frames, is_mine):
    """thread 2: pthread_cond_wait <- queue_get at pool.c:41 <- worker at pool.c:60"""
    mine = [i for i, (_, file, _) in enumerate(frames) if file and is_mine(file)]
    if not mine:
        where = short_name(frames[0][0]) if frames else "?"
        return f"thread {number}: in {where} (no function of yours on its stack)"
    first = mine[0]
    parts = []
    if first > 0:
        # the call it waits in: the nearest frame below that is not its own
        parts.append(short_name(frames[first - 1][0]))
    for i in mine[:2]:
        function, file, line = frames[i]
        parts.append(f"{function} at {os.path.basename(file)}:{line}")
    text = " <- ".join(parts)
    if first == 0:
        text = f"running in {text}"
    return f"thread {number}: {text}"


def ptrace_note():
    scope = read("/proc/sys/kernel/yama/ptrace_scope")
    if scope == "1":
        return ("Yama's ptrace_scope is 1: only a program's ancestors, or a debugger it allows, "
                "may look inside it, and this one allowed none (the grader preloads "
                "ptracer_any.so into its suites for that). `sudo sysctl kernel.yama.ptrace_scope=0` "
                "lifts the restriction.")
    if scope in ("2", "3"):
        return f"Yama's ptrace_scope is {scope}: only an administrator may attach (or no one at all)."
    return "ptrace is not permitted here (a container without CAP_SYS_PTRACE?)."


def from_proc(pid):
    """What the kernel shows of each thread without ptrace."""
    lines = []
    try:
        tids = sorted(int(t) for t in os.listdir(f"/proc/{pid}/task"))
    except OSError:
        return ["(it had already ended)"]
    for tid in tids[:MAX_THREADS]:
        base = f"/proc/{pid}/task/{tid}"
        stat = read(f"{base}/stat")
        name = stat[stat.find("(") + 1:stat.rfind(")")]
        state = stat[stat.rfind(")") + 2:].split()[:1]
        wchan = read(f"{base}/wchan")
        syscall = read(f"{base}/syscall").split()
        call = ""
        if syscall and syscall[0].isdigit():
            call = f", in the system call {SYSCALLS.get(int(syscall[0]), syscall[0])}"
        state_word = {"S": "sleeping", "D": "waiting on the disk", "R": "running"}.get(
            state[0] if state else "", "state " + "".join(state))
        wait = f" in the kernel's {wchan}" if wchan and wchan != "0" else ""
        lines.append(f"thread {tid} ({name}): {state_word}{wait}{call}")
    if len(tids) > MAX_THREADS:
        lines.append(f"... and {len(tids) - MAX_THREADS} more threads")
    return lines


def autopsy(pid, src, root):
    """The excerpt's lines and gdb's whole output for one program."""
    shown = exe_of(pid)
    if root and under(shown, [root]):
        shown = os.path.relpath(shown, root)
    cmd = ["gdb", "-nx", "-batch", "-q", "-p", str(pid),
           "-ex", "set print frame-arguments none", "-ex", "set print entry-values no",
           "-ex", "thread apply all bt"]
    try:
        run = subprocess.run(cmd, capture_output=True, text=True, errors="replace",
                             timeout=GDB_LIMIT, stdin=subprocess.DEVNULL)
        full = run.stdout + run.stderr
    except FileNotFoundError:
        full = "gdb is not installed"
    except subprocess.TimeoutExpired as e:
        full = (e.stdout or b"").decode(errors="replace") + "\n(gdb took too long)"

    # gdb names a file as it was given to the compiler: often relative
    names = set()
    for _, _, files in os.walk(src):
        names.update(f for f in files if f.endswith((".c", ".h")))

    def is_mine(file):
        if os.path.isabs(file):
            return under(file, [src])
        return under(os.path.join(root, file), [src]) or os.path.basename(file) in names

    threads = parse_gdb(full)
    if threads and any(frames for *_, frames in threads):
        head = f"{shown} (pid {pid}), {len(threads)} thread{'s' * (len(threads) != 1)}, when the test stopped it:"
        lines = [thread_line(n, frames, is_mine) for n, _, _, frames in threads[:MAX_THREADS]]
        if len(threads) > MAX_THREADS:
            lines.append(f"... and {len(threads) - MAX_THREADS} more threads")
        return [head] + ["  " + l for l in lines], full

    # No backtrace: say why, then what /proc shows.
    why = "gdb is not installed (it is in tests/deps)" if full == "gdb is not installed" else \
        next((l.strip() for l in full.splitlines() if "ptrace" in l or "Operation not permitted" in l),
             "gdb could not attach").rstrip(".")
    tracer = next((l.split()[1] for l in read(f"/proc/{pid}/status").splitlines()
                   if l.startswith("TracerPid:")), "0")
    if tracer != "0":
        why += f". It was already traced, by {read(f'/proc/{tracer}/comm') or 'pid ' + tracer} " \
               "(a process has one tracer at a time)"
    elif "not permitted" in full or "ptrace:" in full:
        why += ". " + ptrace_note()
    head = [f"{shown} (pid {pid}), when the test stopped it: no backtrace: {why}",
            "  what the kernel shows of each thread:"]
    return head + ["  " + l for l in from_proc(pid)], full


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--pid", type=int, required=True)
    a = ap.parse_args()

    out = os.environ.get("GRADE_AUTOPSY_DIR")
    if not out:
        return 0
    src = os.environ.get("GRADE_AUTOPSY_SRC", "")
    exes = os.environ.get("GRADE_AUTOPSY_EXES", src).split(":")
    root = os.environ.get("WB_ROOT", "")
    test = os.environ.get("BATS_SUITE_TEST_NUMBER", "0")

    programs = [p for p in descendants(a.pid) if under(exe_of(p), exes)][:MAX_PROGRAMS]
    if not programs:
        return 0
    os.makedirs(out, exist_ok=True)
    excerpt, everything = [], []
    for pid in programs:
        lines, full = autopsy(pid, src, root)
        excerpt += lines
        everything.append(f"=== pid {pid}: {exe_of(pid)}\n{full}")
    full_path = os.path.join(out, f"test-{test}.full.txt")
    with open(os.path.join(out, f"test-{test}.txt"), "a", encoding="utf-8") as f:
        f.write("\n".join(excerpt) + "\n")
        shown = os.path.relpath(full_path, root) if root and under(full_path, [root]) else full_path
        f.write(f"  (every frame: {shown})\n")
    with open(full_path, "a", encoding="utf-8") as f:
        f.write("\n".join(everything) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

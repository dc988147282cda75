#!/usr/bin/env python3
"""grade_report.py - turn the exercise suites' TAP output into scores.

Called by tests/exercises/grade, which builds each exercise and runs its
suite. This part reads what came out and writes, into the output folder:
  results.json   Gradescope's autograder format (score, execution_time, tests)
  junit/*.xml    one JUnit report per exercise (bats' own, or one written here
                 when the suite could not run: a build error, a suite that died)
  summary.txt    one line per test: exercise, status, points, name (stable text
                 that the grader's self-test compares with its expectations)
and prints the failures with their messages, then the score table.

The points convention (tests/exercises/README.md): a test whose name ends in
"[N pts]" is worth N points, "[N pts, stretch]" N stretch points; a test with
no such bracket is worth nothing. A test that its suite skips could not run
on this machine (no ThreadSanitizer build, a hard open-file limit too low):
it is not graded, and its points are left out of the maximum, so that a full
answer always reaches full marks of what could be graded; the report says so.

A suite whose results come out of turn (an "ok 1" after "not ok 1": a
program under test wrote into bats' file descriptor 3) scores nothing.

Other modes: --classroom prints .github/classroom/autograding.json for the
suites given; --lint checks the suites' names against the convention.
"""
import argparse
import json
import os
import re
import sys
from xml.sax.saxutils import escape, quoteattr

POINTS = re.compile(r"\[(\d+) pts?(, stretch)?\]\s*$")
BRACKET = re.compile(r"\[[^\]]*\]\s*$")
TEST_LINE = re.compile(r"""^\s*@test\s+(["'])(.*)\1\s*\{""")
TAP_RESULT = re.compile(r"^(ok|not ok) (\d+) (.*)$")
BATS_TRACE = re.compile(r"^\s*\(?(from function|in test file) ")
FAILED_LINE = re.compile(r"^\s*`.*' failed")
CRASH_CODES = {132: "SIGILL", 134: "SIGABRT", 135: "SIGBUS", 136: "SIGFPE", 139: "SIGSEGV"}
OUTPUT_MAX = 4000
# The lines of a failure that the terminal summary and `make next` show: each
# block that starts with one of these keys, with the lines that follow it up
# to the next key (a got: of several lines, stdout:'s and stderr:'s indented
# lines, a backtrace's threads, the status line after got:).
SUMMARY_KEY = re.compile(r"^(command|expected|got|stdout|stderr|hint|more help|backtrace"
                         r"|TIMEOUT|CRASH|BUILD ERROR):")
# keys that the grader adds after the suite's own message
GRADER_KEYS = ("backtrace:", "more help:")


def exercise_of(suite):
    """tests/exercises/ch04_fib_server.bats grades ch04/fib_server."""
    base = os.path.basename(suite)[: -len(".bats")]
    chapter, _, name = base.partition("_")
    return f"{chapter}/{name}"


def parse_suite(path):
    """The suite's tests in file order: name, points, stretch."""
    tests = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = TEST_LINE.match(line)
            if not m:
                continue
            name = m.group(2).replace('\\"', '"') if m.group(1) == '"' else m.group(2)
            p = POINTS.search(name)
            tests.append({"name": name, "points": int(p.group(1)) if p else 0,
                          "stretch": bool(p and p.group(2))})
    return tests


def lint(suites):
    """Names that break the convention: a bracket that is not [N pts] or
    [N pts, stretch], or two tests of one suite with the same name."""
    problems = []
    for suite in suites:
        seen = set()
        for t in parse_suite(suite):
            if BRACKET.search(t["name"]) and not POINTS.search(t["name"]) and "pt" in t["name"]:
                problems.append(f"{suite}: \"{t['name']}\": write [N pts] or [N pts, stretch]")
            if t["name"] in seen:
                problems.append(f"{suite}: two tests named \"{t['name']}\"")
            seen.add(t["name"])
    return problems


def parse_tap(path):
    """bats' TAP: {number: (ok, name, skip reason or None, output lines, timed out)}."""
    results, current = {}, None
    if not os.path.exists(path):
        return results
    with open(path, encoding="utf-8", errors="replace") as f:
        for raw in f:
            line = raw.rstrip("\n")
            m = TAP_RESULT.match(line)
            if m:
                rest = m.group(3)
                timed_out = bool(re.search(r" # timeout after \d+s?", rest))
                rest = re.sub(r"\s+# in \d+ ms.*$", "", rest)
                skip = None
                s = re.match(r"^(.*?)\s+# skip\b\s*(.*)$", rest, re.IGNORECASE)
                if s:
                    rest, skip = s.group(1), s.group(2) or "skipped"
                current = {"ok": m.group(1) == "ok", "name": rest, "skip": skip,
                           "lines": [], "timed_out": timed_out, "number": int(m.group(2))}
                results[int(m.group(2))] = current
            elif current is not None and line.startswith("#"):
                current["lines"].append(line[2:] if line.startswith("# ") else line[1:])
    return results


def tap_forged(path):
    """Why bats' TAP output cannot be its own, or None. bats numbers its
    results 1, 2, 3 ..., each once, up to its plan (then, at most, a "not
    ok" for a teardown_file that failed); a result out of turn (an "ok 1"
    after "not ok 1") or a pass past the plan was written by something else:
    a program under test that writes to the test's file descriptor 3, which
    bats reads its results from."""
    if not os.path.exists(path):
        return None
    due, plan = 1, None
    with open(path, encoding="utf-8", errors="replace") as f:
        for raw in f:
            line = raw.rstrip("\n")
            p = re.match(r"^1\.\.(\d+)$", line)
            if p and plan is None:
                plan = int(p.group(1))
                continue
            m = TAP_RESULT.match(line)
            if not m:
                continue
            if int(m.group(2)) != due:
                return f"the line \"{line[:80]}\" came where the result of test {due} was due"
            if plan is not None and due > plan and m.group(1) == "ok":
                return f"the line \"{line[:80]}\" passed a test {due} of a suite of {plan} tests"
            due += 1
    return None


def clean_output(lines):
    """Keep what speaks to a student; drop bats' own stack trace."""
    explained = any(l.startswith("expected:") for l in lines)
    out = [l for l in lines if not BATS_TRACE.match(l) and not (explained and FAILED_LINE.match(l))]
    text = "\n".join(out).strip("\n")
    return text if len(text) <= OUTPUT_MAX else text[:OUTPUT_MAX] + "\n... (cut)"


def summary_lines(text):
    """What a student reads first of a test's message (SUMMARY_KEY): the keyed
    blocks, whole; when the suite's part has no key, its first lines."""
    lines = [l for l in text.splitlines() if l.strip()]
    keep, inside = [], False
    for line in lines:
        if SUMMARY_KEY.match(line):
            inside = True
        if inside:
            keep.append(line)
    if not any(not l.startswith(GRADER_KEYS) for l in keep if SUMMARY_KEY.match(l)):
        # no key of the suite's own: its first lines, then the grader's blocks
        own = []
        for line in lines:
            if line.startswith(GRADER_KEYS):
                break
            own.append(line)
        keep = own[:6] + keep
    return keep


def classify(tap, text):
    """PASS, SKIP, FAIL, CRASH or TIMEOUT, from bats' verdict and the output."""
    if tap["ok"]:
        return "SKIP" if tap["skip"] else "PASS"
    if "BUILD ERROR:" in text:
        return "BUILD ERROR"
    if "CRASH:" in text:
        return "CRASH"
    if tap["timed_out"] or "TIMEOUT:" in text or "failed due to timeout" in text:
        return "TIMEOUT"
    m = re.search(r"expected exit code \d+, got (\d+)", text)
    if m and int(m.group(1)) == 124:
        return "TIMEOUT"
    if m and int(m.group(1)) in CRASH_CODES:
        return "CRASH"
    return "FAIL"


def autopsy_of(entry, tap_result):
    """Where the test's program hung: the excerpt that the grader's timeout
    wrote (autopsy.py) into OUT/autopsy/SUITE/test-N.txt, if it ran."""
    out = os.path.dirname(os.path.dirname(entry["tap"]))
    base = os.path.basename(entry["suite"])[: -len(".bats")]
    path = os.path.join(out, "autopsy", base, f"test-{tap_result['number']}.txt")
    if not os.path.exists(path):
        return ""
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = f.read().strip("\n").splitlines()
    # one block per program stopped (a header, then indented lines): the
    # first says enough, the others are counted
    starts = [i for i, l in enumerate(lines) if not l.startswith(" ")]
    first = lines[: starts[1]] if len(starts) > 1 else lines
    text = "backtrace: the hung program's threads when the test stopped it:\n" + "\n".join(first[:40])
    if len(starts) > 1:
        text += (f"\n  ({len(starts) - 1} more program{'s' * (len(starts) > 2)} stopped in this test:"
                 f" {os.path.relpath(path)})")
    return text


def hint_pointer(exercise, test_name, message=""):
    """A line that points a failing test at the exercise's hint ladder
    (tests/exercises/hints/, `make hint`), naming the hint that fits it: by
    what its message's hint: line says went wrong, else by its name."""
    try:
        sys.dont_write_bytecode = True  # no __pycache__ in the tree
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import hint
    except ImportError:
        return ""
    number, total = hint.fitting(exercise, test_name, message)
    if total == 0:
        return ""
    fits = f" (hint {number} of {total} is about this test)" if number else ""
    return f"\nmore help: make hint EX={exercise}{fits}"


def grade_suite(entry):
    """One exercise: every test of its suite with a status and points."""
    tests = parse_suite(entry["suite"])
    tap = parse_tap(entry["tap"])
    forged = tap_forged(entry["tap"]) if entry["build"] != "error" else None
    by_name = {r["name"]: r for r in tap.values()}
    build_log = ""
    if entry["build"] == "error" and os.path.exists(entry["build_log"]):
        with open(entry["build_log"], encoding="utf-8", errors="replace") as f:
            build_log = "".join(f.readlines()[:40]).strip()
    for i, t in enumerate(tests, 1):
        r = by_name.get(t["name"]) or (tap.get(i) if tap.get(i, {}).get("name", "").startswith(t["name"]) else None)
        if entry["build"] == "error":
            t["status"] = "BUILD ERROR"
            t["output"] = f"BUILD ERROR: {entry['exercise']} does not compile, so no test could run:\n{build_log}"
        elif forged:
            t["status"] = "FAIL"
            t["output"] = (f"expected: bats' own results, one per test, in turn (1, 2, 3 ...)\n"
                           f"got: {forged}: the results of {entry['exercise']}'s tests are not bats' own,"
                           f" so none counts (see {entry['tap']})\n"
                           "hint: a program under test wrote test results into bats' output (file"
                           " descriptor 3, which a program inherits); write only to the files and"
                           " sockets your program opened itself")
        elif r is None and os.path.exists(os.path.join(os.path.dirname(os.path.dirname(entry["tap"])),
                                                        "filter.txt")):
            t["status"] = "NOT RUN"
            t["output"] = "NOT RUN: left out by --filter"
        elif r is None:
            suite_timeout = entry["bats_status"] in (124, 137)
            t["status"] = "TIMEOUT" if suite_timeout else "NOT RUN"
            t["output"] = ("TIMEOUT: the whole suite ran out of time before this test ended"
                           if suite_timeout else
                           "NOT RUN: the suite stopped before this test (see " + entry["tap"] + ")")
        else:
            text = clean_output(r["lines"])
            t["status"] = classify(r, text)
            if t["status"] == "SKIP":
                text = (f"NOT GRADED here: skipped: {r['skip']}" + (f"\n{text}" if text else "")
                        + (f"\n(this machine cannot run this test, so its {t['points']} points are"
                           " left out of the maximum; graded elsewhere, it counts)" if t["points"] else ""))
            elif t["status"] == "PASS" and not text:
                text = "passed"
            t["autopsy"] = autopsy_of(entry, r) if t["status"] not in ("PASS", "SKIP") else ""
            if t["autopsy"]:
                text += "\n\n" + t["autopsy"]
            if t["status"] not in ("PASS", "SKIP"):
                text += hint_pointer(entry["exercise"], t["name"], text)
            t["output"] = text
        t["score"] = t["points"] if t["status"] == "PASS" else 0
        # a test that could not run here is left out of the maximum
        t["max"] = 0 if t["status"] == "SKIP" else t["points"]
    return tests


def write_junit(path, exercise, tests, seconds):
    """A JUnit report for a suite that bats could not report on itself."""
    failures = sum(t["status"] not in ("PASS", "SKIP") for t in tests)
    skipped = sum(t["status"] == "SKIP" for t in tests)
    with open(path, "w", encoding="utf-8") as f:
        f.write('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites>\n')
        f.write(f'<testsuite name={quoteattr(exercise)} tests="{len(tests)}" failures="{failures}" '
                f'errors="0" skipped="{skipped}" time="{seconds:.3f}">\n')
        for t in tests:
            f.write(f'  <testcase classname={quoteattr(exercise)} name={quoteattr(t["name"])}>')
            if t["status"] == "SKIP":
                f.write(f'<skipped>{escape(t["output"])}</skipped>')
            elif t["status"] != "PASS":
                f.write(f'<failure type={quoteattr(t["status"])}>{escape(t["output"])}</failure>')
            f.write("</testcase>\n")
        f.write("</testsuite>\n</testsuites>\n")


def tally(tests, stretch):
    """tests passed, tests graded, points, maximum: the skipped ones left out."""
    part = [t for t in tests if t["stretch"] == stretch and t["points"] > 0 and t["status"] != "SKIP"]
    return (sum(t["status"] == "PASS" for t in part), len(part),
            sum(t["score"] for t in part), sum(t["max"] for t in part))


def notes(tests):
    """What went wrong in a row of the table: "3 FAIL, 1 TIMEOUT"."""
    counts = {}
    for t in tests:
        if t["points"] > 0 and t["status"] != "PASS":
            counts[t["status"]] = counts.get(t["status"], 0) + 1
    if "BUILD ERROR" in counts:
        return "BUILD ERROR"
    skipped = counts.pop("SKIP", 0)
    return ", ".join([f"{n} {s}" for s, n in sorted(counts.items())]
                     + ([f"{skipped} not graded here (skipped)"] if skipped else []))


def print_failures(graded, out):
    for ex, tests in graded:
        bad = [t for t in tests if t["status"] != "PASS"]
        if not bad:
            continue
        print(f"\n{ex}", file=out)
        if bad[0]["status"] == "BUILD ERROR":
            print("  BUILD ERROR: it does not compile, so no test ran. The compiler said:", file=out)
            for line in bad[0]["output"].splitlines()[1:16]:
                print(f"    {line}", file=out)
            continue
        previous = None
        for t in bad:
            print(f"  {t['status']:<8} {t['name']}", file=out)
            # (the backtrace, when there is one, is a block of the output)
            keep = summary_lines(t["output"])
            # The same failure again (an untouched skeleton fails every test
            # alike) is said once; ports and temporary paths differ.
            same = re.sub(r"/tmp/\S*|\d+", "", "\n".join(keep))
            if same == previous:
                print("           (the same as above)", file=out)
                continue
            previous = same
            for line in keep:
                print(f"           {line}", file=out)


def print_table(graded, src, out):
    rows = [("exercise", "tests passed", "points", "total", "")]
    p_all = n_all = s_all = m_all = 0
    sp = sm = 0
    for ex, tests in graded:
        p, n, s, m = tally(tests, False)
        p_all, n_all, s_all, m_all = p_all + p, n_all + n, s_all + s, m_all + m
        rows.append((ex, f"{p}/{n}", str(s), str(m), notes([t for t in tests if not t["stretch"]])))
        p2, n2, s2, m2 = tally(tests, True)
        if n2:
            sp, sm = sp + s2, sm + m2
            rows.append((f"{ex} (stretch)", f"{p2}/{n2}", str(s2), str(m2),
                         notes([t for t in tests if t["stretch"]])))
    rows.append(("total", f"{p_all}/{n_all}", str(s_all), str(m_all),
                 f"(+{sp}/{sm} stretch)" if sm else ""))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    print(f"\ngrades for {src}/", file=out)
    for i, r in enumerate(rows):
        if i == len(rows) - 1:
            print("  " + "-" * (sum(widths) + 9), file=out)
        print(f"  {r[0]:<{widths[0]}}  {r[1]:>{widths[1]}}  {r[2]:>{widths[2]}}  "
              f"{r[3]:>{widths[3]}}  {r[4]}".rstrip(), file=out)
    return s_all + sp


def classroom(suites):
    entries = []
    for suite in suites:
        ex = exercise_of(suite)
        tests = parse_suite(suite)
        for stretch in (False, True):
            points = sum(t["points"] for t in tests if t["stretch"] == stretch)
            if not points:
                continue
            entries.append({
                "name": ex + (" (stretch)" if stretch else ""),
                "setup": "sudo make deps",
                "run": f"bash tests/exercises/grade --only {ex} --require {'stretch' if stretch else 'full'}",
                "input": "",
                "output": "",
                "comparison": "included",
                "timeout": 10,
                "points": points,
            })
    return json.dumps({"tests": entries}, indent=2) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--manifest", help="the grader's list of suites and how they ran")
    ap.add_argument("--out", help="the output folder")
    ap.add_argument("--src", default="exercises", help="the tree graded, for the titles")
    ap.add_argument("--seconds", type=float, default=0.0, help="how long grading took")
    ap.add_argument("--quiet", action="store_true")
    ap.add_argument("--require", choices=["full", "stretch"])
    ap.add_argument("--note", action="append", default=[],
                    help="a line for the summary, from the grader (no ThreadSanitizer here)")
    ap.add_argument("--classroom", nargs="+", metavar="SUITE")
    ap.add_argument("--lint", nargs="+", metavar="SUITE")
    a = ap.parse_args()
    if a.classroom:
        sys.stdout.write(classroom(a.classroom))
        return 0
    if a.lint:
        problems = lint(a.lint)
        for p in problems:
            print(p, file=sys.stderr)
        return 1 if problems else 0

    graded = []
    with open(a.manifest, encoding="utf-8") as f:
        for line in f:
            suite, build, build_log, tap, status, seconds = line.rstrip("\n").split("\t")
            entry = {"suite": suite, "exercise": exercise_of(suite), "build": build,
                     "build_log": build_log, "tap": tap, "bats_status": int(status),
                     "seconds": float(seconds) / 1000}
            tests = grade_suite(entry)
            graded.append((entry["exercise"], tests))
            junit = os.path.join(a.out, "junit", os.path.basename(suite)[:-5] + ".xml")
            if not os.path.exists(junit):
                write_junit(junit, entry["exercise"], tests, entry["seconds"])

    results = {"score": 0, "execution_time": int(round(a.seconds)), "stdout_visibility": "visible",
               "tests": []}
    summary = []
    ungraded = []
    for ex, tests in graded:
        for i, t in enumerate(tests, 1):
            if t["points"] == 0:
                continue  # a test without points is not graded
            # a test skipped here: 0 of 0, neither passed nor failed by the
            # student's code ("passed" so that nothing counts it as a failure)
            skipped = t["status"] == "SKIP"
            results["tests"].append({
                "name": f"{ex}: {t['name']}", "number": f"{ex}.{i}",
                "score": t["score"], "max_score": t["max"],
                "status": "passed" if t["status"] in ("PASS", "SKIP") else "failed",
                "output": t["output"], "visibility": "visible",
                "tags": [ex] + (["stretch"] if t["stretch"] else []) + (["ungraded"] if skipped else []),
            })
            summary.append(f"{ex}\t{t['status']}\t{t['score']}/{t['max']}\t{t['name']}")
            if skipped:
                ungraded.append((f"{ex}: {t['name']}", t["points"]))
    results["score"] = sum(t["score"] for t in results["tests"])
    regular = sum(t["max_score"] for t in results["tests"] if "stretch" not in t["tags"])
    results["output"] = (f"{results['score']} points of {regular}"
                         f" (stretch tests add to the score) for {a.src}/")
    if ungraded:
        results["output"] += (
            f"\n{len(ungraded)} test{'s' * (len(ungraded) > 1)} could not run on this machine and"
            f" {'were' if len(ungraded) > 1 else 'was'} not graded: {sum(p for _, p in ungraded)} points"
            " left out of the maximum (each test's message says why):\n"
            + "\n".join(f"  {n}" for n, _ in ungraded))
    for note in a.note:
        results["output"] += "\n" + note
    with open(os.path.join(a.out, "results.json"), "w", encoding="utf-8") as f:
        json.dump(results, f, indent=2)
        f.write("\n")
    with open(os.path.join(a.out, "summary.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(summary) + "\n")

    if not a.quiet:
        print_failures(graded, sys.stdout)
        print_table(graded, a.src, sys.stdout)
        if ungraded:
            print(f"\nnot graded here (skipped; their {sum(p for _, p in ungraded)} points are left out"
                  " of the totals above):", file=sys.stdout)
            for n, p in ungraded:
                print(f"  {n}", file=sys.stdout)
        for note in a.note:
            print(f"\n{note}", file=sys.stdout)
        print(f"\ndetails: {os.path.relpath(a.out)}/results.json (Gradescope), "
              f"{os.path.relpath(a.out)}/junit/ (JUnit), {os.path.relpath(a.out)}/tap/ (bats' output)")
    if a.require:
        want = a.require == "stretch"
        missing = [t for t in results["tests"] if ("stretch" in t["tags"]) == want and t["status"] != "passed"]
        return 1 if missing else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())

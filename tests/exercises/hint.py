#!/usr/bin/env python3
"""hint.py - the hint ladder: one more hint for an exercise each time.

    make hint EX=ch03/bounded_pool            the next hint
    make hint EX=ch03/bounded_pool RESET=1    from the first hint again
    make hint                                 which exercises have hints, and how far you are

Each exercise keeps a few hints in tests/exercises/hints/chNN_NAME.txt, in
order from a nudge to a near-answer; none gives the answer itself. A hint is
a heading line "## title", an optional line "fits: WORDS; WORDS" (phrases
from the names of the tests it helps with, matched as whole words: the
grader points a failing test at the hint with the longest phrase in its
name), an optional line "about: WORDS; WORDS" (phrases of a failure's own
hint: line that this hint is about, whatever the test: they come first),
then its text. Lines starting with "#" before the first hint are notes.
How many hints you have seen is kept in grade/hints-seen.txt (grade/ is
ignored by git; RESET=1 starts one exercise over; WB_HINT_STATE=FILE keeps
it elsewhere).
"""
import os
import re
import signal
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
HINTS = os.path.join(ROOT, "tests", "exercises", "hints")
STATE = os.environ.get("WB_HINT_STATE") or os.path.join(ROOT, "grade", "hints-seen.txt")


def hints_of(exercise):
    """[{"title", "fits": [words], "text"}] for chNN/NAME, [] if it has none."""
    path = os.path.join(HINTS, exercise.replace("/", "_", 1) + ".txt")
    if not os.path.exists(path):
        return []
    hints = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("## "):
                hints.append({"title": line[3:].strip(), "fits": [], "about": [], "text": []})
            elif not hints:
                continue
            elif line.startswith("fits:") and not hints[-1]["text"]:
                hints[-1]["fits"] = [w.strip().lower() for w in line[5:].split(";") if w.strip()]
            elif line.startswith("about:") and not hints[-1]["text"]:
                hints[-1]["about"] = [w.strip().lower() for w in line[6:].split(";") if w.strip()]
            else:
                hints[-1]["text"].append(line)
    for h in hints:
        h["text"] = "\n".join(h["text"]).strip("\n")
    return hints


def fits_in(phrase, name):
    """Whether a fits: phrase is in a test's name as whole words: "err" is in
    "answers ERR negative", not in "an error"."""
    return re.search(r"(?<!\w)" + re.escape(phrase) + r"(?!\w)", name) is not None


def best_fit(hints, key, text):
    """The number of the hint with the longest of its KEY phrases in text
    (whole words), the first of equals; 0 when none is."""
    best, best_size = 0, 0
    for i, h in enumerate(hints, 1):
        for phrase in h[key]:
            size = len(phrase.split())
            if size > best_size and fits_in(phrase, text):
                best, best_size = i, size
    return best


def fitting(exercise, test_name, message=""):
    """The number (from 1) of the hint that fits a failing test best, and how
    many hints there are; (0, n) when none fits. A hint whose about: phrase
    is in the failure's own hint: line (MESSAGE, the test's output) is about
    what went wrong this time, and comes first; else a hint fits when one of
    its fits: phrases is in the test's name. Phrases match as whole words;
    of several hints, the one with the longest phrase (the most specific)
    wins, then the first."""
    hints = hints_of(exercise)
    said = " ".join(l for l in message.lower().splitlines() if l.startswith("hint:"))
    best = best_fit(hints, "about", said) if said else 0
    return best or best_fit(hints, "fits", test_name.lower()), len(hints)


def exercises_with_hints():
    if not os.path.isdir(HINTS):
        return []
    names = sorted(f[:-4] for f in os.listdir(HINTS) if f.endswith(".txt"))
    return [n.replace("_", "/", 1) for n in names]


def load_state():
    seen = {}
    if os.path.exists(STATE):
        with open(STATE, encoding="utf-8") as f:
            for line in f:
                parts = line.split()
                if len(parts) == 2 and parts[1].isdigit():
                    seen[parts[0]] = int(parts[1])
    return seen


def save_state(seen):
    os.makedirs(os.path.dirname(STATE), exist_ok=True)
    with open(STATE, "w", encoding="utf-8") as f:
        f.write("# how many hints of each exercise `make hint` has shown\n")
        for exercise in sorted(seen):
            f.write(f"{exercise} {seen[exercise]}\n")


def overview(seen):
    print("hints, from a nudge to a near-answer: make hint EX=chNN/NAME shows the next one")
    for exercise in exercises_with_hints():
        n = len(hints_of(exercise))
        print(f"  {exercise:<22} seen {seen.get(exercise, 0)} of {n}")
    return 0


def main(argv):
    args = [a for a in argv if a != "--reset"]
    reset = "--reset" in argv
    seen = load_state()
    if not args or not args[0]:
        return overview(seen)

    exercise = args[0].strip("/")
    if exercise.endswith(".c"):
        exercise = exercise[:-2]
    if exercise.startswith(("exercises/", "solutions/")):
        exercise = exercise.split("/", 1)[1]
    hints = hints_of(exercise)
    if not hints:
        print(f"hint: no hints for '{exercise}'; these have some: "
              + ", ".join(exercises_with_hints()), file=sys.stderr)
        return 2

    # RESET=1: start over, and show the first one at once
    if reset:
        seen[exercise] = 0
    shown = seen.get(exercise, 0)
    last = shown >= len(hints)
    number = len(hints) if last else shown + 1
    h = hints[number - 1]
    seen[exercise] = number
    save_state(seen)

    print(f"hint {number} of {len(hints)} for {exercise}: {h['title']}\n")
    print("\n".join("  " + line if line else "" for line in h["text"].splitlines()))
    print()
    if last:
        print("That was the last hint: the rest is yours to write. "
              f"make hint EX={exercise} RESET=1 starts the ladder over.")
    elif number < len(hints):
        print(f"Stuck still? make hint EX={exercise} shows hint {number + 1} of {len(hints)}.")
    else:
        print(f"That was the last hint. make hint EX={exercise} RESET=1 starts over.")
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `make hint | head` is no error
    sys.exit(main(sys.argv[1:]))

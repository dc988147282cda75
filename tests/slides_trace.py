#!/usr/bin/env python3
"""tests/slides_trace.py DECK.html... - trace every code block of the built
decks back to where it came from.

A block taken from a source carries data-source, data-first-line and
data-indent (slides/code.lua adds them): its lines must be the file's lines
from that line on, with that much indentation removed, and none of its
lines may be indented less than its first (a paragraph that ran past the
"}" closing its block, into the lines after it). A block of output
carries data-run. Any other code block must be marked pseudo-code. Prints
one line per problem and exits 1 if there was any; with --first-line,
prints the first quoted source line of each deck instead.
"""
import html.parser
import sys


class Blocks(html.parser.HTMLParser):
    """Collects each <code> inside a <pre>, with the attributes of the
    nearest enclosing element that has data-source or data-run."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack = []  # (tag, attrs) of open elements
        self.blocks = []  # dicts: attrs, text
        self.current = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.stack.append((tag, attrs))
        if tag == "code" and any(t == "pre" for t, _ in self.stack):
            origin = {}
            for _, a in reversed(self.stack):
                if "data-source" in a or "data-run" in a:
                    origin = a
                    break
            classes = " ".join(a.get("class", "") for _, a in self.stack)
            self.current = {"attrs": origin, "classes": classes, "text": []}

    def handle_endtag(self, tag):
        while self.stack:
            open_tag, _ = self.stack.pop()
            if open_tag == tag:
                break
        if tag == "code" and self.current is not None:
            self.current["text"] = "".join(self.current["text"])
            self.blocks.append(self.current)
            self.current = None

    def handle_data(self, data):
        if self.current is not None:
            self.current["text"].append(data)


def check(deck):
    parser = Blocks()
    with open(deck, encoding="utf-8") as f:
        parser.feed(f.read())
    problems, quoted = [], []
    for n, block in enumerate(parser.blocks, 1):
        attrs = block["attrs"]
        where = f"{deck}: code block {n}"
        if "data-source" in attrs:
            path = attrs["data-source"]
            first = int(attrs["data-first-line"])
            indent = int(attrs["data-indent"])
            with open(path, encoding="utf-8") as f:
                source = f.read().split("\n")
            shown = block["text"].split("\n")
            wanted = [line[indent:] for line in source[first - 1 : first - 1 + len(shown)]]
            if shown != wanted:
                problems.append(f"{where}: not the lines of {path} from line {first}")
            lead = len(shown[0]) - len(shown[0].lstrip())
            for k, line in enumerate(shown[1:], first + 1):
                if line.strip() and len(line) - len(line.lstrip()) < lead:
                    problems.append(
                        f"{where}: {path} line {k} is indented less than the block's "
                        f"first line (line {first}): past the end of its paragraph"
                    )
                    break
            quoted.append(shown[0])
        elif "data-run" in attrs:
            if not block["text"].strip():
                problems.append(f"{where}: '{attrs['data-run']}' printed nothing")
        elif "pseudo" not in block["classes"]:
            problems.append(f"{where}: typed in by hand (no source, no command)")
    if not quoted:
        problems.append(f"{deck}: quotes no source at all")
    return problems, quoted


def main():
    args = sys.argv[1:]
    first_line = args[:1] == ["--first-line"]
    if first_line:
        args = args[1:]
    failed = False
    for deck in args:
        problems, quoted = check(deck)
        if first_line:
            print(quoted[0] if quoted else "")
            continue
        for p in problems:
            print(p)
            failed = True
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

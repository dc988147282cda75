#!/usr/bin/env bats
# The slides never drift from the code: every code block is the source as it
# is, every output block what the program printed when the deck was built,
# and each deck opens offline, fits its boxes and has a handout. The decks
# are built and looked at once (setup_file); each test reads the results.

setup_file() {
    load helper
    [ -z "$WB_SAN" ] || return 0
    cd "$WB_ROOT"
    timeout 600 make --no-print-directory -s WERROR=1 slides slides-pdf >"$BATS_FILE_TMPDIR/make.log" 2>&1 ||
        { cat "$BATS_FILE_TMPDIR/make.log" >&2; return 1; }
    timeout 300 node slides/check.mjs slides/build/ch[0-9][0-9].html >"$BATS_FILE_TMPDIR/check.jsonl"
}

setup() {
    load helper
    skip_under_sanitizer "the slides are built from the plain programs"
    cd "$WB_ROOT"
    DECKS=(slides/build/ch[0-9][0-9].html)
}

# One field of every deck's line in check.jsonl, a line per deck: DECK VALUE.
checked() {
    python3 -c '
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    print(r["deck"], json.dumps(eval(sys.argv[2], {}, {"r": r})))
' "$BATS_FILE_TMPDIR/check.jsonl" "$1"
}

# A scratch deck in the test's folder, from the lines given on stdin.
scratch_deck() {
    cat >"$BATS_TEST_TMPDIR/deck.md"
}

# The text of a built deck's first code block, as the trace reads it.
first_block() { # DECK.html
    python3 -c '
import sys
sys.path.insert(0, "tests")
from slides_trace import Blocks
parser = Blocks()
parser.feed(open(sys.argv[1], encoding="utf-8").read())
print(parser.blocks[0]["text"])
' "$1"
}

@test "there is a deck for every chapter's Markdown, and an index that links them" {
    local md ch n=0
    for md in slides/ch[0-9][0-9].md; do
        ch=$(basename "$md" .md)
        n=$((n + 1))
        [ -f "slides/build/$ch.html" ] || fail "no deck for $ch"
        grep -q "href=\"$ch.html\"" slides/build/index.html || fail "the index does not link $ch"
        grep -q "href=\"$ch.pdf\"" slides/build/index.html || fail "the index does not link $ch.pdf"
    done
    [ "$n" -ge 7 ] || fail "only $n decks in slides/ (ch00 to ch06 expected)"
}

@test "the index links a deck's PDF only once the handout exists" {
    mkdir -p "$BATS_TEST_TMPDIR/slides/build"
    touch "$BATS_TEST_TMPDIR/slides/build/ch01.pdf"
    run -0 bash -c 'cd "$1" && bash "$2/slides/index.sh" "$2/slides/ch00.md" "$2/slides/ch01.md"' \
        _ "$BATS_TEST_TMPDIR" "$WB_ROOT"
    assert_line --regexp '^<li><a href="ch00.html">.*</a></li>$'
    assert_line --regexp '^<li><a href="ch01.html">.*</a> \(<a href="ch01.pdf">PDF</a>\)</li>$'
}

@test "every code block is its source's lines as they are, or a command's output" {
    run -0 python3 tests/slides_trace.py "${DECKS[@]}"
}

@test "the trace notices a code block that is not its source" {
    local copy="$BATS_TEST_TMPDIR/changed.html"
    # claim that the first quoted block starts at line 1 of its file
    sed '0,/data-first-line="[0-9]*"/ s//data-first-line="1"/' "${DECKS[0]}" >"$copy"
    ! cmp -s "$copy" "${DECKS[0]}"
    run -1 python3 tests/slides_trace.py "$copy"
    assert_output --partial "not the lines of"
}

@test "a deck that names a function that does not exist fails, saying where" {
    scratch_deck <<'MD'
---
title: scratch
---
# A slide

```{.c file="chapters/ch00/labserver.c" function="no_such_function"}
```
MD
    run ! timeout 60 bash slides/build-deck "$BATS_TEST_TMPDIR/deck.md" "$BATS_TEST_TMPDIR/deck.html"
    assert_output --partial "deck.md:6"
    assert_output --partial "chapters/ch00/labserver.c"
    assert_output --partial "no_such_function"
    [ ! -e "$BATS_TEST_TMPDIR/deck.html" ]
}

@test "a missing paragraph, a block too big for a slide or a failing command fails the build" {
    scratch_deck <<'MD'
# A slide

```{.c file="common/workbook.h" function="wb_now" paragraph="no such heading"}
```
MD
    run ! timeout 60 bash slides/build-deck "$BATS_TEST_TMPDIR/deck.md" "$BATS_TEST_TMPDIR/deck.html"
    assert_output --partial "no such heading"

    scratch_deck <<'MD'
# A slide

```{.c file="common/timeline.h" function="wb_timeline_print"}
```
MD
    run ! timeout 60 bash slides/build-deck "$BATS_TEST_TMPDIR/deck.md" "$BATS_TEST_TMPDIR/deck.html"
    assert_output --regexp "wb_timeline_print\(\) has [0-9]+ lines; a slide shows 16"

    scratch_deck <<'MD'
# A slide

```{.output run="false"}
```
MD
    run ! timeout 60 bash slides/build-deck "$BATS_TEST_TMPDIR/deck.md" "$BATS_TEST_TMPDIR/deck.html"
    assert_output --partial "'false' ended with status 1"

    scratch_deck <<'MD'
# A slide

```c
int typed_in_by_hand;
```
MD
    run ! timeout 60 bash slides/build-deck "$BATS_TEST_TMPDIR/deck.md" "$BATS_TEST_TMPDIR/deck.html"
    assert_output --partial "must name its source"
}

@test "a run that was not a fair race is run again; if it never is, the build says so" {
    # unfair the first time only: the slide shows the second, fair run
    scratch_deck <<MD
# A slide

\`\`\`{.output run="n=\$(cat $BATS_TEST_TMPDIR/runs 2>/dev/null || echo 0); echo \$((n + 1)) >$BATS_TEST_TMPDIR/runs; [ \$n -ge 1 ] && echo fair run \$n || echo 'note: busy, so these times are not a fair race'"}
\`\`\`
MD
    run -0 env SLIDES_FAIR_WAIT=0 timeout 60 bash slides/build-deck "$BATS_TEST_TMPDIR/deck.md" "$BATS_TEST_TMPDIR/deck.html"
    assert_output --partial "was not a fair race (run 1 of 5)"
    [ "$(cat "$BATS_TEST_TMPDIR/runs")" = 2 ]
    run -0 first_block "$BATS_TEST_TMPDIR/deck.html"
    assert_output "fair run 1"

    # never fair, the words folded over two lines: the slide keeps the last
    # run and its note, and the build says so; SLIDES_REQUIRE_FAIR=1 stops it
    scratch_deck <<'MD'
# A slide

```{.output run="printf 'note: these times are not a\nfair race; try again later\n'"}
```
MD
    run -0 env SLIDES_FAIR_WAIT=0 timeout 60 bash slides/build-deck "$BATS_TEST_TMPDIR/deck.md" "$BATS_TEST_TMPDIR/deck2.html"
    assert_output --partial "deck.md:3"
    assert_output --partial "was not a fair race in any of 5 runs"
    run -0 first_block "$BATS_TEST_TMPDIR/deck2.html"
    assert_line "fair race; try again later"
    run ! env SLIDES_FAIR_WAIT=0 SLIDES_REQUIRE_FAIR=1 timeout 60 bash slides/build-deck "$BATS_TEST_TMPDIR/deck.md" "$BATS_TEST_TMPDIR/deck3.html"
    assert_output --partial "was not a fair race in any of 5 runs"
    [ ! -e "$BATS_TEST_TMPDIR/deck3.html" ]
}

@test "a paragraph that ends its block stops before the block's closing brace, dedented" {
    # the last paragraph of a loop's body, then the "}" of the loop and a
    # statement after it, with no blank line between them
    cat >"$BATS_TEST_TMPDIR/para.c" <<'C'
int sum(int n)
{
    int s = 0;
    for (int i = 0; i < n; i++) {
        /* first step */
        s += i;

        /* last step of the loop */
        if (s > 100)
            s -= 100;
    }
    return s;
}
C
    scratch_deck <<MD
# A slide

\`\`\`{.c file="$BATS_TEST_TMPDIR/para.c" function="sum" paragraph="last step of the loop"}
\`\`\`

::: notes
a note
:::
MD
    run -0 timeout 60 bash slides/build-deck "$BATS_TEST_TMPDIR/deck.md" "$BATS_TEST_TMPDIR/deck.html"
    run -0 python3 tests/slides_trace.py "$BATS_TEST_TMPDIR/deck.html"
    run -0 first_block "$BATS_TEST_TMPDIR/deck.html"
    assert_output "/* last step of the loop */
if (s > 100)
    s -= 100;"
}

@test "every code box fits its box as the browser draws it, on every slide" {
    run -0 checked 'r["overflow"]'
    refute_output --regexp ' \[".+'
    [ "${#lines[@]}" -eq "${#DECKS[@]}" ]
}

@test "no code box is drawn smaller than two columns' code (16 px)" {
    run -0 checked 'r["small"]'
    refute_output --regexp ' \[".+'
    [ "${#lines[@]}" -eq "${#DECKS[@]}" ]
}

@test "a deck opened alone, offline, requests nothing outside itself and shows its slides" {
    run -0 checked 'r["outside"]'
    refute_output --regexp ' \[".+'
    run -0 checked 'r["slides"]'
    local line
    for line in "${lines[@]}"; do
        [ "${line##* }" -ge 5 ] || fail "too few slides: $line"
    done
}

@test "the check notices a deck that requests something from outside" {
    scratch_deck <<'MD'
# A slide

<script>new Image().src = "http://127.0.0.1:9/outside.png";</script>

::: notes
a note
:::
MD
    # a picture in the page would stop pandoc (it cannot embed it); one that
    # a script asks for passes pandoc, and only the browser sees the request
    run -0 timeout 60 bash slides/build-deck "$BATS_TEST_TMPDIR/deck.md" "$BATS_TEST_TMPDIR/deck.html"
    run -0 timeout 120 node slides/check.mjs "$BATS_TEST_TMPDIR/deck.html"
    assert_output --partial '"outside":["http://127.0.0.1:9/outside.png"]'
}

@test "a code slide and an output slide are not blank when drawn" {
    run -0 checked '[r["shots"].get("source", {}).get("bytes", 0), r["shots"].get("run", {}).get("bytes", 0)]'
    local line sizes
    for line in "${lines[@]}"; do
        sizes=${line#* }
        [[ $sizes =~ ^\[([0-9]+),\ ([0-9]+)\]$ ]] || fail "no screenshot: $line"
        # a blank 1280x720 page is about 4 KB; a slide with text, tens of KB
        [ "${BASH_REMATCH[1]}" -gt 15000 ] || fail "code slide looks blank: $line"
        [ "${BASH_REMATCH[2]}" -gt 15000 ] || fail "output slide looks blank: $line"
    done
}

@test "each PDF handout has one page per slide and holds a line of quoted source" {
    local deck pdf slides pages first
    for deck in "${DECKS[@]}"; do
        pdf=${deck%.html}.pdf
        [ -f "$pdf" ] || fail "no handout $pdf"
        slides=$(checked 'r["slides"]' | awk -v d="$deck" '$1 == d { print $2 }')
        pages=$(pdfinfo "$pdf" | awk '/^Pages:/ { print $2 }')
        assert_equal "$pages" "$slides"
        first=$(python3 tests/slides_trace.py --first-line "$deck" | sed 's/^ *//')
        pdftotext -layout "$pdf" - | grep -qF -- "$first" || fail "$pdf lacks '$first'"
    done
}

@test "every content slide of every deck has speaker notes" {
    run -0 checked 'r["noNotes"]'
    refute_output --regexp ' \[".+'
}

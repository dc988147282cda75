#!/usr/bin/env bash
# slides/index.sh DECK.md... - the index page of the decks, in order, on
# stdout: each deck's title (its metadata's title: line) linking its HTML,
# and its PDF handout once `make slides-pdf` has made it.
set -euo pipefail

cat <<'HEAD'
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Concurrency and parallelism in C: the slides</title>
<style>
body { font-family: serif; max-width: 44em; margin: 3em auto; line-height: 1.5; }
li { margin: 0.4em 0; }
code { font-size: 0.9em; }
</style>
</head>
<body>
<h1>Concurrency and parallelism in C: the slides</h1>
<p>One deck per chapter, in the talk's order. Open a deck, press <code>f</code>
for full screen, <code>s</code> for the speaker view (notes and a clock),
<code>Esc</code> for an overview of every slide.</p>
<ol start="0">
HEAD
for deck in "$@"; do
    name=$(basename "$deck" .md)
    title=$(sed -nE 's/^title: *"?([^"]*)"?$/\1/p' "$deck" | head -n 1)
    title=${title:-$name}
    title=${title//&/&amp;}
    title=${title//</&lt;}
    pdf=""
    [ -f "slides/build/$name.pdf" ] && pdf=" (<a href=\"$name.pdf\">PDF</a>)"
    printf '<li><a href="%s.html">%s</a>%s</li>\n' "$name" "$title" "$pdf"
done
cat <<'TAIL'
</ol>
<p>Built by <code>make slides</code> (and <code>make slides-pdf</code> for the
handouts) from <code>slides/chNN.md</code>: every code block is taken from the
workbook's sources, every output block is what the program printed when the
deck was built.</p>
</body>
</html>
TAIL

#!/usr/bin/env bash
# chapters/tour.sh - the workbook's tour (`make demo`): start a private lab
# server, run every chapter's tour file against it, stop the server.
#
# Each chapters/chNN/tour holds a heading line ("# Chapter N · ...") and then
# one shell command per line, run from the top of the tree with LAB_URL set.
# In a terminal the tour waits after each chapter (Enter: the next one, q:
# stop); otherwise it runs straight through.
#
# Usage: bash chapters/tour.sh [CHAPTER...]   CHAPTER: 05, 5 or ch05 (default: all)
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

bold= plain=
if [ -t 1 ]; then
    bold=$(tput bold 2>/dev/null)
    plain=$(tput sgr0 2>/dev/null)
fi

# The chapters to show, as chNN; an unknown one is a usage error.
chapters=()
for arg in "$@"; do
    number=${arg#ch}
    if ! [[ $number =~ ^[0-9]{1,2}$ ]]; then
        echo "tour: '$arg' is not a chapter (try CH=05)" >&2
        exit 2
    fi
    ch=$(printf 'ch%02d' "$((10#$number))")
    if [ ! -f "chapters/$ch/tour" ]; then
        echo "tour: chapter $ch has no tour (chapters: $(ls chapters | grep -E '^ch[0-9]+$' | tr '\n' ' '))" >&2
        exit 2
    fi
    chapters+=("$ch")
done
if [ ${#chapters[@]} -eq 0 ]; then
    mapfile -t chapters < <(ls -d chapters/ch[0-9][0-9] | xargs -n1 basename)
fi

# Pause between chapters only when a person is watching.
interactive=0
if [ -t 0 ] && [ -t 1 ]; then interactive=1; fi

# The private lab server, stopped however the tour ends.
tmp=$(mktemp -d)
lab_pid=
stop_lab() {
    if [ -n "$lab_pid" ]; then
        kill -TERM "$lab_pid" 2>/dev/null
        wait "$lab_pid" 2>/dev/null
        lab_pid=
    fi
    rm -rf "$tmp"
}
trap stop_lab EXIT
interrupted=0
trap 'interrupted=1' INT TERM

./ch00/labserver -p 0 --port-file "$tmp/port" >"$tmp/lab.out" 2>&1 &
lab_pid=$!
for _ in $(seq 100); do
    [ -s "$tmp/port" ] && break
    sleep 0.05
done
if [ ! -s "$tmp/port" ]; then
    echo "tour: the lab server did not start" >&2
    cat "$tmp/lab.out" >&2
    exit 1
fi
export LAB_URL="http://127.0.0.1:$(cat "$tmp/port")"

echo "${bold}The workbook's tour${plain}: each chapter's programs against a lab server at $LAB_URL"
echo "To run one program by hand: 'make serve' in one terminal, then e.g."
echo "'make ch05 && ./ch05/select_crawler' in another. 'make demo CH=05' tours one chapter."

# Run one chapter's tour file: headings in bold, each command echoed first.
run_chapter() {
    local line rc status=0
    while IFS= read -r line || [ -n "$line" ]; do
        case $line in
        '') ;;
        '# '*)
            printf '\n%s\n%s\n' "${bold}${line#\# }${plain}" \
                "$(printf '%*s' ${#line} '' | tr ' ' '=')"
            ;;
        '#'*) ;;
        *)
            printf '\n%s$ %s%s\n' "$bold" "$line" "$plain"
            # --foreground: Ctrl-C reaches the command too, not only the tour.
            timeout --foreground 120 bash -c "$line" </dev/null
            rc=$?
            if [ "$interrupted" -eq 1 ]; then
                return 130
            fi
            if [ "$rc" -ne 0 ]; then
                echo "(exit status $rc)"
                status=1
            fi
            ;;
        esac
    done <"chapters/$1/tour"
    return "$status"
}

status=0
last=${chapters[${#chapters[@]}-1]}
for ch in "${chapters[@]}"; do
    [ -f "chapters/$ch/tour" ] || continue
    run_chapter "$ch"
    rc=$?
    if [ "$rc" -eq 130 ] || [ "$interrupted" -eq 1 ]; then
        echo "tour interrupted"
        exit 130
    fi
    [ "$rc" -eq 0 ] || status=1

    # Wait for the reader before the next chapter.
    if [ "$interactive" -eq 1 ] && [ "$ch" != "$last" ]; then
        printf '\n%s' "${bold}-- end of $ch: Enter for the next chapter, q to stop --${plain} "
        key=
        read -rsn1 key
        echo
        if [ "$interrupted" -eq 1 ] || [ "$key" = q ] || [ "$key" = Q ]; then
            echo "tour stopped after $ch"
            exit "$status"
        fi
    fi
done

echo
echo "${bold}End of the tour.${plain} Run any program again by hand: 'make serve' in one terminal, then e.g. ./ch05/select_crawler in another."
if [ -f slides/build/index.html ]; then
    echo "The slides of every chapter: slides/build/index.html (open it in a browser; 's' shows the speaker view)."
else
    echo "The slides of every chapter: 'make slides', then open slides/build/index.html in a browser."
fi
exit "$status"

#!/usr/bin/env bash
# chapters/tour.sh - the workbook's tour (`make demo`): start a private lab
# server, run every chapter's tour file against it, stop the server.
#
# Each chapters/chNN/tour holds a heading line ("# Chapter N · ...") and then
# one shell command per line, run from the top of the tree with LAB_URL set.
# Usage: bash chapters/tour.sh [chNN ...]   (default: every chapter)
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

bold= plain=
if [ -t 1 ]; then bold=$(tput bold 2>/dev/null) plain=$(tput sgr0 2>/dev/null); fi
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
for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.05; done
[ -s "$tmp/port" ] || { echo "tour: the lab server did not start" >&2; cat "$tmp/lab.out" >&2; exit 1; }
export LAB_URL="http://127.0.0.1:$(cat "$tmp/port")"
echo "${bold}The workbook's tour${plain}: every chapter's programs against a lab server at $LAB_URL"

chapters=("$@")
[ ${#chapters[@]} -gt 0 ] || chapters=($(ls -d chapters/ch[0-9][0-9] | xargs -n1 basename))
status=0
for ch in "${chapters[@]}"; do
    tour="chapters/$ch/tour"
    [ -f "$tour" ] || continue
    while IFS= read -r line || [ -n "$line" ]; do
        case $line in
        '') ;;
        '# '*) printf '\n%s\n%s\n' "${bold}${line#\# }${plain}" "$(printf '%*s' ${#line} '' | tr ' ' '=')" ;;
        '#'*) ;;
        *)
            printf '\n%s$ %s%s\n' "$bold" "$line" "$plain"
            # --foreground: Ctrl-C reaches the command too, not only the tour.
            timeout --foreground 120 bash -c "$line" </dev/null
            rc=$?
            if [ "$interrupted" -eq 1 ]; then
                echo "tour interrupted"
                exit 130
            fi
            [ "$rc" -eq 0 ] || { echo "(exit status $rc)"; status=1; }
            ;;
        esac
    done <"$tour"
done
echo
echo "${bold}End of the tour.${plain} Run any program again by hand: 'make serve' in one terminal, then e.g. ./ch05/select_crawler in another."
exit "$status"

# tests/exercises/crawler.bash - what the crawler suites share (ch05's
# select_crawler, ch06's poll_crawler): running the program with a time
# limit, explaining a failure, and what the lab sends. Loaded in setup():
# `load crawler`; the suite sets PROG, and lab_start has set LAB_URL.

# crawl LIMIT ARGS...: run the program under `run --separate-stderr` for
# LIMIT seconds at most, output cut at 1 MB; keep the command for messages.
# The timeout stops the program only, not the head that cuts its output
# (head keeps what it read in a buffer: stopped with the program, it would
# lose it), so the lines a hung program printed still reach "got:".
crawl() {
    CMD="${PROG#"$WB_ROOT"/} ${*:2}"
    CMD="${CMD//$LAB_URL/\$LAB_URL}"
    # shellcheck disable=SC2016 # the inner bash expands them
    run --separate-stderr bash -c 'timeout "$1" "${@:2}" | head -c 1000000; exit "${PIPESTATUS[0]}"' \
        _ "$1" "$PROG" "${@:2}"
}

# explain EXPECTED HINT: fail with the command, what was expected, what came.
explain() {
    local ending="it exited with status $status"
    [ "$status" -ne 124 ] || ending="TIMEOUT: it was still running when the test stopped it"
    [ "$status" -le 128 ] || [ "$status" -eq 124 ] || ending="CRASH: killed by signal $((status - 128))"
    fail "$(printf 'command: %s\nexpected: %s\ngot: %s\n%s\nstderr: %s\nhint: %s' "$CMD" "$1" \
        "$(head -n 6 <<<"$output")" "$ending" "$(head -n 4 <<<"$stderr")" "$2")"
}

# The number of bytes the lab sends for a GET of PATH (HTTP/1.0, read to the
# end), counted by Python over a plain socket.
lab_bytes() {
    python3 - "$LAB_PORT" "$1" <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(f"GET {sys.argv[2]} HTTP/1.0\r\nHost: 127.0.0.1:{sys.argv[1]}\r\n\r\n".encode())
n = 0
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    n += len(chunk)
print(n)
EOF
}

# has_result I BYTES URL: the output has the line "[I] BYTES bytes in ... URL".
has_result() {
    grep -qE "^\\[$1\\] $2 bytes in [0-9.]+ s  $(sed 's/[?.]/\\&/g' <<<"$3")\$" <<<"$output"
}

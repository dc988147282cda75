# tests/exercises/crawler.bash - what the crawler suites share (ch05's
# select_crawler, ch06's poll_crawler): running the program with a time
# limit, explaining a failure, and what the lab sends. Loaded in setup():
# `load crawler`; the suite sets PROG, and lab_start has set LAB_URL.

# crawl LIMIT ARGS...: run the program under `run --separate-stderr` for
# LIMIT seconds at most, stdout and stderr each cut at 1 MB (a program that
# writes more is stopped by SIGPIPE: status 141); keep the command for
# messages. The timeout stops the program only, not the heads that cut its
# output (head keeps what it read in a buffer: stopped with the program, it
# would lose it), so the lines a hung program printed still reach "got:".
crawl() {
    CMD="${PROG#"$WB_ROOT"/} ${*:2}"
    CMD="${CMD//$LAB_URL/\$LAB_URL}"
    # shellcheck disable=SC2016 # the inner bash expands them
    # stderr through the inner pipe, stdout through fd 3 to the outer one: both
    # heads are members of a pipeline, so bash waits for them before it exits
    run --separate-stderr bash -c '{ timeout "$1" "${@:2}" 2>&1 1>&3 3>&- | head -c 1000000 >&2
        exit "${PIPESTATUS[0]}"; } 3>&1 | head -c 1000000; exit "${PIPESTATUS[0]}"' \
        _ "$1" "$PROG" "${@:2}"
}

# explain EXPECTED HINT: fail with the command, what was expected, what came.
# A run stopped for writing more than 1 MB gets the hint about that instead.
explain() {
    local ending="it exited with status $status" hint="$2"
    if [ "$status" -eq 124 ]; then
        ending="TIMEOUT: it was still running when the test stopped it"
    elif [ "$status" -eq 141 ]; then
        ending="it wrote more than 1 MB of output: the test stopped reading (status 141)"
        hint="more than 1 MB of output: remove debugging prints (a printf() in the loop prints on every round, millions of times)"
    elif [ "$status" -gt 128 ]; then
        ending="CRASH: killed by signal $((status - 128))"
    fi
    fail "$(printf 'command: %s\nexpected: %s\ngot: %s\n%s\nstderr: %s\nhint: %s' "$CMD" "$1" \
        "$(head -n 6 <<<"$output" | cut -c1-200)" "$ending" "$(head -n 4 <<<"$stderr" | cut -c1-200)" "$hint")"
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

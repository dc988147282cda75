#!/usr/bin/env bats
# common/: the shared header's helpers (workbook.h, lab.h, timeline.h), checked
# through a small driver compiled against them, with the run's sanitizer.

setup_file() {
    load helper
    local flags=()
    [ "$WB_SAN" = asan ] && flags=(-fsanitize=address,undefined,float-cast-overflow
        -fno-sanitize-recover=all)
    [ "$WB_SAN" = tsan ] && flags=(-fsanitize=thread)
    cc -std=c17 -D_GNU_SOURCE -Wall -Wextra -Wpedantic -Wshadow -Werror -O1 -g \
        "${flags[@]}" -I"$WB_ROOT/common" -o "$BATS_FILE_TMPDIR/driver" \
        "$WB_ROOT/tests/common/header_driver.c"
}
setup() {
    load helper
    DRIVER="$BATS_FILE_TMPDIR/driver"
}
teardown() {
    lab_stop
}

@test "the timeline's axis is as wide as its rows, for a run of ten seconds or more" {
    LC_ALL=C COLUMNS=60 run -0 --separate-stderr timeout 10 "$DRIVER" timeline
    no_sanitizer_report
    assert_line --index 0 "timeline: 3 tasks, one column = 259.6 ms; # ran, x failed (1)"
    local widths
    widths=$(printf '%s\n' "${lines[@]:1}" | awk '{ print length($0) }' | sort -u)
    assert_equal "$widths" "58"
    assert_line --index 4 --regexp '^      \|0 s +13\.500 s\|$'
}

@test "the timeline draws a task that never ran as idle, and a failed one with its mark" {
    LC_ALL=C COLUMNS=60 run -0 --separate-stderr timeout 10 "$DRIVER" timeline
    no_sanitizer_report
    assert_line --index 1 --regexp '^    0 #{52}$'
    assert_line --index 2 --regexp '^    1 \.{52}$'
    assert_line --index 3 --regexp '^    2 \.{7}x{12}\.{33}$'
}

@test "the timeline gives a task that starts as the run ends its last column" {
    LC_ALL=C COLUMNS=60 run -0 --separate-stderr timeout 10 "$DRIVER" timeline_end
    no_sanitizer_report
    assert_line --index 2 --regexp '^    1 \.{51}x$'
    assert_line --index 3 --regexp '^    2 \.{26}#{26}$'
}

@test "numbers are parsed whole and strictly: no white space, no plus sign" {
    local text want
    while IFS='|' read -r text want; do
        run -0 timeout 10 "$DRIVER" parse "$text" -100 100
        assert_output "$want"
    done <<'CASES'
5|5
-7|-7
0|0
 5|not a number
+5|not a number
5 |not a number
5x|not a number
|not a number
-|not a number
101|not a number
99999999999999999999|not a number
CASES
}

@test "a URL's port must be a number from 1 to 65535, and a query needs a path" {
    local url want
    while IFS='|' read -r url want; do
        run -0 timeout 10 "$DRIVER" split "$url"
        assert_output "$want"
    done <<'CASES'
http://127.0.0.1:8000/delay/5?i=1|host 127.0.0.1 port 8000 path /delay/5?i=1
127.0.0.1|host 127.0.0.1 port 80 path /
http://127.0.0.1:65535|host 127.0.0.1 port 65535 path /
http://127.0.0.1:99999/x|malformed
http://127.0.0.1:0/x|malformed
http://127.0.0.1:80x/|malformed
http://127.0.0.1:/x|malformed
http://127.0.0.1:8000?x=1|malformed
http://127.0.0.1?x=1|malformed
http:///x|malformed
CASES
}

@test "LAB_URL may end in a slash; unset or empty, it is the port make serve uses" {
    LAB_URL=http://127.0.0.1:8123/ run -0 timeout 10 "$DRIVER" lab_url
    assert_output "http://127.0.0.1:8123"
    LAB_URL=http://127.0.0.1:8123// run -0 timeout 10 "$DRIVER" lab_url
    assert_output "http://127.0.0.1:8123"
    LAB_URL= run -0 timeout 10 "$DRIVER" lab_url
    assert_output "http://127.0.0.1:8000"
    run -1 env LAB_URL="http://$(head -c 300 /dev/zero | tr '\0' a)" timeout 10 "$DRIVER" lab_url
    assert_output "driver: LAB_URL is longer than 255 characters"
}

@test "before a run, the lab check tells a lab server from no server and from another one" {
    lab_start
    LAB_URL="$LAB_URL" run -0 --separate-stderr timeout 10 "$DRIVER" require_lab
    no_sanitizer_report
    assert_output "a lab server answers"
    # the check itself is not counted by the lab
    assert_equal "$(lab_stat served)" 0
    lab_stop

    local closed
    closed="http://127.0.0.1:$(closed_port)"
    LAB_URL=$closed run -1 --separate-stderr timeout 10 "$DRIVER" require_lab
    assert_equal "$output" ""
    assert_equal "$stderr" "driver: no lab server answers at $closed: start one with 'make serve' in another terminal (or set LAB_URL to where one runs)"

    # an HTTP server that is not the lab (404 on /stats), and one that never speaks
    local dir="$BATS_TEST_TMPDIR" kind
    for kind in web silent; do
        rm -f "$dir/port"
        python3 - "$dir/port" "$kind" >/dev/null 2>&1 3>&- <<'PY' &
import http.server, os, socket, sys, time
if sys.argv[2] == "web":
    server = http.server.HTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    port = server.server_address[1]
else:
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(port))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
server.serve_forever() if sys.argv[2] == "web" else time.sleep(30)
PY
        local pid=$!
        wait_until 10 test -s "$dir/port" || fail "no port file after 10 s"
        LAB_URL="http://127.0.0.1:$(cat "$dir/port")" run -1 --separate-stderr timeout 10 \
            "$DRIVER" require_lab
        kill "$pid"
        wait "$pid" || true
        assert_equal "$output" ""
        assert_stderr_contains "driver: something other than a lab server answers at http://127.0.0.1:"
    done
}

@test "wb_grow_fd_table grows the descriptor table at once, within the open-file limit, and leaves nothing open" {
    [ "$(ulimit -Hn)" -ge 2100 ] || skip "the hard open-file limit is below 2,100"
    # 2,000 descriptors: the kernel rounds the table up to 2,048
    run -0 --separate-stderr bash -c 'ulimit -Sn 2100 && exec timeout 10 "$1" grow_fd_table 2000' \
        _ "$DRIVER"
    no_sanitizer_report
    assert_output --regexp '^table [0-9]+ -> 2048, 0 descriptors left open$'
    # under a limit of 300 it stops there: 300 rounds up to 512, not 2,048
    run -0 --separate-stderr bash -c 'ulimit -Sn 300 && exec timeout 10 "$1" grow_fd_table 2000' \
        _ "$DRIVER"
    no_sanitizer_report
    assert_output --regexp '^table [0-9]+ -> 512, 0 descriptors left open$'
    # with stderr closed too: the table does not rely on it
    run -0 --separate-stderr bash -c 'ulimit -Sn 2100 && exec timeout 10 "$1" grow_fd_table 2000 2>&-' \
        _ "$DRIVER"
    no_sanitizer_report
    assert_output --regexp '^table [0-9]+ -> 2048, 0 descriptors left open$'
}

@test "wb_cpus_allowed counts the CPUs this process may run on, as nproc does" {
    run -0 --separate-stderr timeout 10 "$DRIVER" cpus_allowed
    no_sanitizer_report
    assert_output "$(cpus_allowed)"
    command -v taskset >/dev/null || skip "taskset is not installed (util-linux)"
    run -0 --separate-stderr timeout 10 taskset -c 0 "$DRIVER" cpus_allowed
    no_sanitizer_report
    assert_output 1
}

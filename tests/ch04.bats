#!/usr/bin/env bats
# ch04.bats - chapter 4's own programs: bts_sim, the base station that feeds
# the syslog exercise. (fib_client has its own suite, tests/ch04_fib.bats.)
# Every datagram goes to 127.0.0.1 only.

setup() {
    load helper
    SIM="$WB_BIN/ch04/bts_sim"
}

# Run a command with PORT replaced by a UDP port a python socket listens on;
# print each datagram it receives as a line, then the command's exit status
# and stderr as `# status N` and `# stderr: ...` lines.
collect() {
    timeout 30 python3 - "$@" <<'PY'
import socket, subprocess, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0))
port = s.getsockname()[1]
cmd = [a.replace("PORT", str(port)) for a in sys.argv[1:]]
p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
s.settimeout(0.5)
got = []
while True:
    try:
        got.append(s.recv(65536))
    except socket.timeout:
        if p.poll() is not None:
            break
err = p.stderr.read().decode(errors="replace")
for d in got:
    print(d.decode(errors="replace"))
print("# status", p.returncode)
for line in err.splitlines():
    print("# stderr:", line)
PY
}

@test "bts_sim --help explains itself; a bad option or destination is a usage error" {
    run -0 timeout 10 "$SIM" --help
    assert_line --partial 'Usage: bts_sim'
    run -2 timeout 10 "$SIM" --no-such-option
    run -2 timeout 10 "$SIM" -r fast
    run -2 timeout 10 "$SIM" -c 1 127.0.0.1:notaport
    run -2 timeout 10 "$SIM" -c 1 127.0.0.1
}

@test "bts_sim names a stray argument, and takes a --name only as long as a host name" {
    run --separate-stderr -2 timeout 10 "$SIM" -c 1 127.0.0.1:9 extra
    assert_equal "$stderr" "bts_sim: unexpected argument 'extra'
Usage: bts_sim [-r RATE] [-c COUNT] [-v] [--name HOST] [HOST:PORT]"
    # 256 bytes: refused before anything is sent (it once overran the
    # 512-byte message buffer from 512 bytes on)
    local name255 name256
    name255=$(printf 'b%.0s' $(seq 1 255))
    name256="${name255}x"
    run --separate-stderr -2 timeout 10 "$SIM" -c 1 --name "$name256" 127.0.0.1:9
    assert_equal "${stderr_lines[0]}" "bts_sim: --name: 256 bytes is too long (a host name has at most 255)"
    assert_equal "${#stderr_lines[@]}" 2
    run -2 timeout 10 "$SIM" -c 1 --name "$name256$name256$name256" 127.0.0.1:9
    no_sanitizer_report
    # 255 bytes: sent whole
    run -0 collect "$SIM" -c 3 -r 0 --name "$name255" 127.0.0.1:PORT
    assert_line '# status 0'
    no_sanitizer_report
    assert_equal "$(grep -c " $name255 bts\[[0-9]*\]: seq=[1-3] cell " <<<"$output")" 3
}

@test "bts_sim sends COUNT numbered messages in the RFC 3164 format" {
    run -0 collect "$SIM" -c 50 -r 0 --name bts-test 127.0.0.1:PORT
    assert_line '# status 0'
    no_sanitizer_report
    local msgs
    msgs="$(grep -v '^# ' <<<"$output")"
    assert_equal "$(grep -c . <<<"$msgs")" 50
    # <PRI>Mmm dd hh:mm:ss host tag[pid]: text, with local0 priorities (128 + severity)
    assert_equal "$(grep -cE '^<13[0-7]>[A-Z][a-z]{2} [ 1-3][0-9] [0-2][0-9]:[0-5][0-9]:[0-6][0-9] bts-test bts\[[0-9]+\]: seq=[0-9]+ cell [1-3]: ' <<<"$msgs")" 50
    # numbered 1..50, in order (loopback keeps the order of one sender)
    assert_equal "$(sed -E 's/.*seq=([0-9]+) .*/\1/' <<<"$msgs" | tr '\n' ' ')" "$(seq -s ' ' 1 50) "
}

@test "bts_sim paces its messages at RATE per second" {
    # 20 messages at 100 per second: the last is due 190 ms after the first.
    # Only the lower bound is checked: a busy machine can make it slower,
    # never faster.
    local ms
    ms=$(elapsed_ms timeout 10 "$SIM" -c 20 -r 100 127.0.0.1:9)
    [ "$ms" -ge 150 ] || fail "20 messages at -r 100 took $ms ms, expected at least 190"
    run -0 timeout 10 "$SIM" -c 20 -r 100 127.0.0.1:9
    assert_line --regexp '^sent [0-9]+ messages to udp://127\.0\.0\.1:9 in [0-9]+\.[0-9]{3} s'
}

@test "bts_sim runs until interrupted, then says how many it sent" {
    local out="$BATS_TEST_TMPDIR/out"
    timeout --foreground -k 5 20 "$SIM" -r 200 127.0.0.1:9 >"$out" 2>&1 3>&- &
    local pid=$!
    sleep 0.5
    signal_program INT "$pid"
    local status=0
    wait "$pid" || status=$?
    assert_equal "$status" 0
    run cat "$out"
    assert_line --regexp '^sent [0-9]+ messages to udp://127\.0\.0\.1:9 in [0-9]+\.[0-9]{3} s'
    no_sanitizer_report
}

@test "bts_sim says so when nobody is listening, and goes on" {
    local port
    port="$(python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
    run -0 timeout 10 "$SIM" -c 10 -r 1000 "127.0.0.1:$port"
    assert_line --partial "nobody is listening on udp://127.0.0.1:$port"
    assert_line --regexp "^sent [0-9]+ messages to udp://127\.0\.0\.1:$port in .* refused: nobody was listening\)$"
    no_sanitizer_report
}

@test "bts_sim feeds the syslog capture tool, which counts every message" {
    local dir="$BATS_TEST_TMPDIR" port
    port="$(python3 -c 'import socket; s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
    mkfifo "$dir/in"
    exec {in}<>"$dir/in"
    timeout 30 "$WB_EX/ch04/syslog" -l "$dir/log" -b 127.0.0.1 -p "$port" <"$dir/in" >"$dir/out" 2>&1 3>&- {in}>&- &
    local pid=$! i
    for ((i = 0; i < 100; i++)); do
        grep -q capturing "$dir/out" && break
        sleep 0.05
    done
    run -0 timeout 20 "$SIM" -c 500 -r 2000 "127.0.0.1:$port"
    sleep 0.2
    echo stop >&"$in"
    wait "$pid"
    run cat "$dir/out"
    assert_line "stopped: 500 messages captured into $dir/log"
    no_sanitizer_report
    assert_equal "$(wc -l <"$dir/log")" 500
}

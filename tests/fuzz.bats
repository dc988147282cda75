#!/usr/bin/env bats
# The fuzzing harnesses still build and find nothing in a short run (the
# long runs are `make fuzz`). What each harness covers: tests/fuzz/README.md.

setup() {
    load helper
    skip_under_sanitizer "the harnesses carry their own sanitizers"
    cd "$WB_ROOT"
}

@test "every harness builds and runs a second without a finding" {
    run -0 timeout 300 bash tests/fuzz/run 1
    local name
    for name in tests/fuzz/*.c; do
        name=$(basename "$name" .c)
        assert_line --regexp "^$name +[0-9]+ +[0-9]+ +[0-9]+  ok$"
    done
}

@test "a finding is reported with the input saved and the command that replays it" {
    # a scratch harness that fails on one byte, in a scratch copy of the tree
    local tree="$BATS_TEST_TMPDIR/tree"
    mkdir -p "$tree/tests/fuzz/corpus/planted"
    cp -r common "$tree/"
    cp tests/fuzz/run "$tree/tests/fuzz/"
    cat >"$tree/tests/fuzz/planted.c" <<'C'
#include <stdint.h>
#include <stdlib.h>
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 0 && data[0] == 'Q')
        abort();
    return 0;
}
C
    printf 'Q' >"$tree/tests/fuzz/corpus/planted/seed"
    run -1 timeout 120 bash "$tree/tests/fuzz/run" 5 planted
    assert_line --regexp '^planted .*FOUND: tests/fuzz/crashes/planted-crash-[0-9a-f]+$'
    assert_line --partial "replay: ./build/fuzz/planted tests/fuzz/crashes/planted-crash-"
    ls "$tree"/tests/fuzz/crashes/planted-crash-*
}

@test "make fuzz refuses a FUZZ_SECONDS that is not a number" {
    run -2 bash tests/fuzz/run soon
    assert_output --partial "SECONDS must be a whole number"
}

#!/usr/bin/env bats
# The Makefile behaves as a C developer expects. Each test works on a scratch
# copy of the sources, so the tree under test is never touched.

setup() {
    load helper
    skip_under_sanitizer "the build itself is the same in every run"
    SCRATCH="$BATS_TEST_TMPDIR/tree"
    mkdir -p "$SCRATCH/chapters"
    cp -r "$WB_ROOT/Makefile" "$WB_ROOT/common" "$SCRATCH/"
    cp -r "$WB_ROOT/chapters/ch00" "$WB_ROOT/chapters/ch03" "$SCRATCH/chapters/"
    cd "$SCRATCH"
}

# The compiler lines make printed in the last `run`.
compiled() {
    printf '%s\n' "$output" | grep -cE '^(cc|gcc|clang)|-o ' || true
}

@test "make help lists every target with one line each" {
    run -0 make -s help
    for target in all chNN serve demo test bench-lab deps clean help; do
        assert_line --regexp "^  $target +[a-z]"
    done
}

@test "make chNN builds into chNN/, and a second make has nothing to do" {
    run -0 timeout 120 make ch00
    [ -x ch00/labserver ]
    run -0 timeout 60 make ch00
    assert_equal "$(compiled)" 0
}

@test "editing common/workbook.h rebuilds what includes it" {
    run -0 timeout 120 make ch00
    sleep 1
    touch common/workbook.h
    run -0 timeout 120 make ch00
    assert_output --partial "-o ch00/labserver"
}

@test "editing a header that only a program's first file includes rebuilds the program" {
    # coroutine_crawler is coroutine_crawler.c + coro_stream.c + coro_task.c,
    # and coro_task.c, the last, includes neither workbook.h nor lab.h
    cp -r "$WB_ROOT/chapters/ch05" chapters/
    run -0 timeout 120 make ch05/coroutine_crawler
    sleep 1
    touch common/lab.h
    run -0 timeout 120 make ch05/coroutine_crawler
    assert_output --partial "-o ch05/coroutine_crawler"
}

@test "CFLAGS on the command line is used, and changing it rebuilds" {
    run -0 timeout 120 make ch00
    run -0 timeout 120 make CFLAGS=-O0 ch00
    assert_output --partial "-O0"
    assert_output --partial "-o ch00/labserver"
}

@test "a make without WERROR after make WERROR=1 rebuilds nothing (the grader's, while suites run)" {
    run -0 timeout 120 make WERROR=1 ch00
    assert_output --partial "-Werror"
    run -0 timeout 60 make ch00
    assert_equal "$(compiled)" 0
    run -0 timeout 60 make WERROR=1 ch00
    assert_equal "$(compiled)" 0
}

@test "a sanitizer build goes to build/asan and leaves the plain program alone" {
    run -0 timeout 120 make ch00
    local before
    before=$(stat -c %Y.%s ch00/labserver)
    run -0 timeout 300 make SAN=address,undefined ch00
    [ -x build/asan/ch00/labserver ]
    assert_equal "$(stat -c %Y.%s ch00/labserver)" "$before"
    run -2 make SAN=memory ch00
}

@test "libcurl is linked only into the programs that use it" {
    run -0 timeout 60 make -n -B ch03
    assert_line --regexp -- '-o ch03/sequential_fetch .*-lcurl'
    refute_line --regexp -- '-o ch03/queue .*-lcurl'
}

@test "make -j2 builds a chapter; make clean removes every build product" {
    run -0 timeout 300 make -j2 ch00 ch03
    [ -x ch03/thread_fetch ] && [ -x ch00/labserver ]
    run -0 make clean
    [ ! -e ch00 ] && [ ! -e ch03 ] && [ ! -e build ]
}

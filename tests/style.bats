#!/usr/bin/env bats
# The code reads the same way everywhere: every C file is laid out by the
# repository's .clang-format (88 columns), and no program grows past what a
# reader can follow (250 formatted lines; the lab server is the exception).

setup() {
    load helper
    skip_under_sanitizer "the sources are the same in every run"
    command -v clang-format >/dev/null || skip "clang-format is not installed (make deps)"
    cd "$WB_ROOT"
}

# Every C source and header the workbook keeps.
c_files() {
    git ls-files '*.c' '*.h' 2>/dev/null ||
        find chapters common exercises solutions tests -name '*.[ch]'
}

@test "every C file is formatter-clean (make format fixes it)" {
    local messy=()
    local f
    while IFS= read -r f; do
        clang-format --style=file --dry-run -Werror "$f" >/dev/null 2>&1 || messy+=("$f")
    done < <(c_files)
    if [ ${#messy[@]} -gt 0 ]; then
        printf 'not formatted: %s\n' "${messy[@]}"
        echo "run 'make format' (clang-format -i --style=file FILE)"
        return 1
    fi
}

@test "no program has more than 250 formatted lines, the lab server excepted" {
    local long=()
    local f n
    while IFS= read -r f; do
        [ "$f" = chapters/ch00/labserver.c ] && continue
        n=$(clang-format --style=file "$f" | wc -l)
        [ "$n" -le 250 ] || long+=("$f: $n lines")
    done < <(c_files | grep -E '^(chapters|exercises|solutions|common)/')
    if [ ${#long[@]} -gt 0 ]; then
        printf 'too long: %s\n' "${long[@]}"
        echo "split it by idea, never squeeze it"
        return 1
    fi
}

@test "the shared header stays under 250 lines" {
    run -0 clang-format --style=file common/workbook.h
    [ "${#lines[@]}" -lt 250 ]
}

@test "the style check catches a file that is not formatted" {
    local scratch="$BATS_TEST_TMPDIR/messy.c"
    printf 'int main(void){int a=1;return a-1;}\n' >"$scratch"
    cp .clang-format "$BATS_TEST_TMPDIR/"
    run ! clang-format --style=file --dry-run -Werror "$scratch"
}

#!/usr/bin/env bash
# setup.sh - Gradescope runs this once, as root, when it builds the
# autograder's image (Ubuntu or Debian): the packages the grader needs to
# build the exercises and run their suites. The slides' and benchmarks'
# packages are left out: grading does not use them. Then it checks what the
# grader needs of them, and makes the unprivileged user that builds and runs
# each submission's code (run_autograder: grade --as).
#
# Choose the Ubuntu 24.04 base image (bats 1.10) or a Debian 12 one (bats
# 1.8.2): the grader needs bats 1.7 or newer, and Ubuntu 22.04's bats is
# 1.2.1, with which every suite would stop before its first test. This stops
# with a message on such an image, rather than build one that grades nothing.
# SETUP_SKIP_INSTALL=1 leaves out apt-get (a machine that has the packages).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
USER_NAME="${AUTOGRADER_USER:-wbstudent}"

if [ -z "${SETUP_SKIP_INSTALL:-}" ]; then
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends \
        build-essential make pkg-config libcurl4-openssl-dev \
        bats bats-support bats-assert \
        curl netcat-openbsd socat python3 procps patch bsdutils util-linux passwd \
        gdb strace ca-certificates
fi

fail() {
    echo "setup.sh: $*" >&2
    exit 1
}

# bats 1.7 or newer (--report-formatter, BATS_TEST_TIMEOUT)
version="$(bats --version 2>/dev/null | sed -nE 's/^Bats ([0-9]+\.[0-9]+[.0-9]*).*/\1/p')"
IFS=. read -r major minor _ <<<"${version:-0.0}"
if [ "$major" -lt 1 ] || { [ "$major" -eq 1 ] && [ "$minor" -lt 7 ]; }; then
    . /etc/os-release 2>/dev/null || true
    fail "bats ${version:-(no version)} on ${PRETTY_NAME:-this image} is too old: the grader needs bats-core 1.7 or newer, and with this one every submission would score 0. Choose the Ubuntu 24.04 base image (bats 1.10) for the autograder, or a Debian 12 one (bats 1.8.2)."
fi
# bats-support and bats-assert live in /usr/lib/bats on Debian and Ubuntu,
# where the suites look for them (bats_load_library).
ls /usr/lib/bats/bats-support /usr/lib/bats/bats-assert >/dev/null ||
    fail "bats-support and bats-assert are not in /usr/lib/bats, where the suites load them from"
command -v setpriv >/dev/null && command -v useradd >/dev/null ||
    fail "setpriv (util-linux) and useradd (passwd) are needed: they run the students' code as $USER_NAME"

# The user that builds and runs the students' code: no password, no login,
# no home; it owns nothing of the autograder.
id -u "$USER_NAME" >/dev/null 2>&1 ||
    useradd --system --user-group --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin "$USER_NAME"

#!/usr/bin/env bash
# setup.sh - Gradescope runs this once, as root, when it builds the
# autograder's image (Ubuntu or Debian): the packages the grader needs to
# build the exercises and run their suites. The slides' and benchmarks'
# packages are left out: grading does not use them.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
    build-essential make pkg-config libcurl4-openssl-dev \
    bats bats-support bats-assert \
    curl netcat-openbsd socat python3 procps patch bsdutils util-linux \
    gdb strace ca-certificates
# bats-support and bats-assert live in /usr/lib/bats on Debian and Ubuntu,
# where the suites look for them (bats_load_library).
ls /usr/lib/bats/bats-support /usr/lib/bats/bats-assert >/dev/null

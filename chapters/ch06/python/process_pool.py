#!/usr/bin/env python3
"""process_pool.py - the talk's Pool program: W worker processes share the URLs.

Talk: parallel handling / pool. multiprocessing.Pool(W) hands the URLs to W
processes; at most W fetches wait at once, so N URLs take about N / W delays.
Each worker is a whole interpreter: compare the memory with threads.py. A
line counts the body, as sequential.py's fetch() and ch03/pool_fetch.c do.
Compare: ch03/pool_fetch.c --mode process.
Usage: process_pool.py [-q] [-w W] [-n N] [-d MS] [-t SECONDS] [URL...]
"""

import multiprocessing
import signal
import sys

import workbook as wb
from sequential import fetch


def ignore_ctrl_c():
    """Runs in each worker as it starts. Ctrl-C reaches every process of the
    terminal's group: the parent alone answers it (leaving the with block
    stops the pool), not each worker with a traceback of its own."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def fetch_one(job):
    """Runs in a worker: fetch one URL, send back what the parent prints."""
    i, url, timeout = job
    start = wb.now()
    try:
        return i, url, len(fetch(url, timeout)), wb.now() - start, None
    except Exception as e:
        return i, url, 0, wb.now() - start, str(e)


def main():
    opts = wb.parse_options("Fetch the URLs with a pool of worker processes.",
                            workers=True)
    urls = wb.urls_of(opts)
    wb.require_lab(urls)

    failed = 0
    begin = wb.now()
    jobs = [(i, url, opts.t) for i, url in enumerate(urls)]
    with multiprocessing.Pool(min(opts.w, len(urls)), ignore_ctrl_c) as pool:
        # the parent prints each line as its answer comes back
        for i, url, nbytes, seconds, error in pool.imap_unordered(fetch_one, jobs):
            if error is None:
                wb.result(i, nbytes, seconds, url)
            else:
                wb.failure(url, error)
                failed += 1
    wb.used_time(wb.now() - begin)
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        # Ctrl-C: no traceback, and the exit status a shell gives it (128 + 2)
        sys.exit(130)

#!/usr/bin/env python3
"""threads.py - the talk's Thread program: a thread per URL.

Talk: parallel handling / Thread. The talk's loop joined each thread right
after starting it, so its threads ran one after another; here every thread
is started first and joined after, so all the fetches wait at once. The GIL
does not matter: a thread waiting for the network has let it go. A line
counts the body, as sequential.py's fetch() and ch03/thread_fetch.c do.
Compare: ch03/thread_fetch.c.
Usage: threads.py [-q] [-n N] [-d MS] [-t SECONDS] [URL...]
"""

import sys
import threading

import workbook as wb
from sequential import fetch


class UrlFetchThread(threading.Thread):
    def __init__(self, i, url, timeout):
        # a daemon thread: on Ctrl-C the interpreter exits without waiting
        # for every fetch to end
        super().__init__(daemon=True)
        self.i, self.url, self.timeout = i, url, timeout
        self.failed = False

    def run(self):
        start = wb.now()
        try:
            body = fetch(self.url, self.timeout)
            wb.result(self.i, len(body), wb.now() - start, self.url)
        except Exception as e:
            wb.failure(self.url, e)
            self.failed = True


def main():
    opts = wb.parse_options("Fetch every URL at once, a thread for each.")
    urls = wb.urls_of(opts)
    wb.require_lab(urls)
    wb.raise_fd_limit()

    begin = wb.now()
    threads = [UrlFetchThread(i, url, opts.t) for i, url in enumerate(urls)]
    for t in threads:
        t.start()
    for t in threads:  # only now wait: the talk joined inside the loop above
        t.join()
    wb.used_time(wb.now() - begin)
    return 1 if any(t.failed for t in threads) else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        # Ctrl-C: no traceback, and the exit status a shell gives it (128 + 2)
        sys.exit(130)

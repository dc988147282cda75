#!/usr/bin/env python3
"""sequential.py - the talk's first program: fetch one URL after another.

Talk: parallel handling / non-parallel. urllib.request, one at a time: N URLs
of D ms take N x D. A line counts the body only, as the talk's
len(urlopen(url).read()) and chapter 3's C programs do (urllib keeps no raw
status line or headers to count); select_callbacks.py and asyncio_fetch.py,
like chapter 5's, count the whole answer. Compare: ch03/sequential_fetch.c.
Usage: sequential.py [-q] [-n N] [-d MS] [-t SECONDS] [URL...]
"""

import sys
import urllib.request

import workbook as wb

# No proxy: the lab server is on this machine (the talk's proxies={}).
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def fetch(url, timeout):
    """The body of one URL, as the talk's urlopen(url).read(). http:// only,
    as in the C programs: urllib would also open file:// and ftp://."""
    if "://" not in url:
        url = "http://" + url
    if not url.startswith("http://"):
        raise ValueError("not an http:// URL")
    with opener.open(url, timeout=timeout) as answer:
        return answer.read()


def main():
    opts = wb.parse_options("Fetch the URLs one after another.")
    urls = wb.urls_of(opts)
    wb.require_lab(urls)

    failed = 0
    begin = wb.now()
    for i, url in enumerate(urls):
        start = wb.now()
        try:
            body = fetch(url, opts.t)
            wb.result(i, len(body), wb.now() - start, url)
        except Exception as e:  # one URL's failure is reported, not fatal
            wb.failure(url, e)
            failed += 1
    wb.used_time(wb.now() - begin)
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        # Ctrl-C: no traceback, and the exit status a shell gives it (128 + 2)
        sys.exit(130)

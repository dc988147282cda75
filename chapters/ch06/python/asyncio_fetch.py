#!/usr/bin/env python3
"""asyncio_fetch.py - the talk's last program: coroutines on asyncio's loop.

Talk: asynchronous programming / refactor the before example code. wget()
opens a connection, writes the request, drains, and reads; the event loop runs
every wget at once on one thread. The talk used @asyncio.coroutine and
`yield from` (removed in Python 3.11); async def and await are the same idea.
The talk read only the headers; here the whole answer is counted (status
line, headers and body), as in ch05 and select_callbacks.py.
Compare: ch05/coroutine_crawler.c.
Usage: asyncio_fetch.py [-q] [-n N] [-d MS] [-t SECONDS] [URL...]
"""

import asyncio
import sys

import workbook as wb


async def wget(i, url):
    start = wb.now()
    host, port, path = wb.host_port_path(url)
    reader, writer = await asyncio.open_connection(host, port)
    try:
        header = "GET %s HTTP/1.0\r\nHost: %s:%d\r\n\r\n" % (path, host, port)
        writer.write(header.encode("ascii"))
        await writer.drain()
        answer = await reader.read()  # to the end: the server closes after it
    finally:
        writer.close()
    wb.result(i, len(answer), wb.now() - start, url)


async def fetch_all(urls, timeout):
    """Run every wget at once; a failure is reported and counted, not raised."""

    async def one(i, url):
        try:
            await asyncio.wait_for(wget(i, url), timeout)
            return 0
        except asyncio.TimeoutError:
            wb.failure(url, "no answer in time")
        except (OSError, ValueError) as e:
            wb.failure(url, e)
        return 1

    return sum(await asyncio.gather(*(one(i, url) for i, url in enumerate(urls))))


def main():
    opts = wb.parse_options("Fetch every URL at once with asyncio coroutines.")
    urls = wb.urls_of(opts)
    wb.require_lab(urls)
    wb.raise_fd_limit()

    begin = wb.now()
    failed = asyncio.run(fetch_all(urls, opts.t))
    wb.used_time(wb.now() - begin)
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        # Ctrl-C: no traceback, and the exit status a shell gives it (128 + 2)
        sys.exit(130)

#!/usr/bin/env python3
"""select_callbacks.py - the talk's selectors crawler: callbacks and a Future.

Talk: asynchronous programming / the DefaultSelector + Future + Crawler cell.
One thread, non-blocking sockets, and an event loop that calls each fetch's
next step when its socket is ready: fetch -> connected -> read_response.
DefaultSelector is epoll on Linux. Unlike the talk's cell, each fetch closes
its socket, and the loop stops when every fetch is done, or at -t. A line
counts the whole answer (status line, headers and body), as ch05's do.
Compare: ch05/callback_crawler.c.
Usage: select_callbacks.py [-q] [-n N] [-d MS] [-t SECONDS] [URL...]
"""

import os
import socket
import sys
from selectors import EVENT_READ, EVENT_WRITE, DefaultSelector

import workbook as wb

selector = DefaultSelector()


class Future:
    """A result that is not there yet, and what to call when it comes."""

    def __init__(self):
        self.result = None
        self._callbacks = []

    def add_done_callback(self, fn):
        self._callbacks.append(fn)

    def set_result(self, result):
        self.result = result
        for fn in self._callbacks:
            fn(self)


class Crawler:
    pending = 0  # the talk's Crawler.counter, counting down to zero
    failed = 0

    def __init__(self, i, url):
        self.i, self.url = i, url
        self.sock = None
        self.response = b""
        self.done = Future()
        self.done.add_done_callback(self.report)

    def fetch(self):
        """Connect without waiting; connected() runs once it is writable."""
        Crawler.pending += 1
        self.start = wb.now()
        try:
            host, port, self.path = wb.host_port_path(self.url)
            self.host = "%s:%d" % (host, port)
            self.sock = socket.socket()
            self.sock.setblocking(False)
            self.sock.connect_ex((host, port))  # EINPROGRESS, as the talk's "except: pass"
            selector.register(self.sock.fileno(), EVENT_WRITE, self.connected)
        except (OSError, ValueError) as e:
            self.finish(e)

    def connected(self, key, mask):
        selector.unregister(key.fd)
        error = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        if error:
            self.finish(OSError(error, os.strerror(error)))
            return
        request = "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n" % (self.path, self.host)
        # small, it fits the empty buffer; a URL that is not ASCII, or a
        # connection already gone, ends this fetch only, as in fetch()
        try:
            self.sock.sendall(request.encode("ascii"))
            selector.register(key.fd, EVENT_READ, self.read_response)
        except (OSError, ValueError) as e:
            self.finish(e)

    def read_response(self, key, mask):
        try:
            chunk = self.sock.recv(4096)
        except OSError as e:
            selector.unregister(key.fd)
            self.finish(e)
            return
        if chunk:
            self.response += chunk
        else:
            selector.unregister(key.fd)
            self.finish(None)

    def finish(self, error):
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        self.done.set_result(error)

    def report(self, future):
        if future.result is None:
            wb.result(self.i, len(self.response), wb.now() - self.start, self.url)
        else:
            wb.failure(self.url, future.result)
            Crawler.failed += 1
        Crawler.pending -= 1


def loop(deadline):
    """Call each ready socket's callback until every fetch is done."""
    while Crawler.pending > 0 and wb.now() < deadline:
        for key, mask in selector.select(deadline - wb.now()):
            callback = key.data
            callback(key, mask)


def main():
    opts = wb.parse_options("Fetch every URL at once from one thread, with callbacks.")
    urls = wb.urls_of(opts)
    wb.require_lab(urls)
    wb.raise_fd_limit()

    begin = wb.now()
    crawlers = [Crawler(i, url) for i, url in enumerate(urls)]
    for crawler in crawlers:
        crawler.fetch()
    loop(begin + opts.t)
    for crawler in crawlers:
        if crawler.sock is not None:  # still under way when the time ran out
            selector.unregister(crawler.sock.fileno())
            crawler.finish("no answer in time")
    wb.used_time(wb.now() - begin)
    return 1 if Crawler.failed else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        # Ctrl-C: no traceback, and the exit status a shell gives it (128 + 2)
        sys.exit(130)

"""workbook.py - what the talk's programs, retold in Python 3, share.

The same conventions as the C programs' common/workbook.h: the options -q, -n,
-d and -t, the lab server's URLs, one result line per URL, the closing
"used time:" line, and one line saying how to start the lab server when none
answers. Standard library only.
"""

import argparse
import os
import resource
import socket
import sys
import time
import urllib.parse

PROG = os.path.basename(sys.argv[0])


def lab_url():
    """$LAB_URL (without a slash at its end), else the address `make serve` uses."""
    return (os.environ.get("LAB_URL") or "").rstrip("/") or "http://127.0.0.1:8000"


def parse_options(description, workers=False):
    """The options every fetch program takes; -w for the pools."""
    p = argparse.ArgumentParser(prog=PROG, description=description)
    p.add_argument("-q", action="store_true", help="accepted, as in the C programs")
    p.add_argument("-n", type=int, default=10, help="how many lab URLs (default 10)")
    p.add_argument("-d", type=int, default=200, help="the lab's delay in ms (default 200)")
    p.add_argument("-t", type=float, default=10, help="give up on a URL after SECONDS (10)")
    if workers:
        p.add_argument("-w", type=int, default=os.cpu_count(),
                       help="how many workers (default: the CPUs, as Pool())")
    p.add_argument("urls", nargs="*", metavar="URL")
    opts = p.parse_args()
    if not 1 <= opts.n <= 100000 or not 0 <= opts.d <= 60000 or opts.t <= 0:
        p.error("-n is from 1 to 100000, -d from 0 to 60000, -t above 0")
    if workers and opts.w < 1:
        p.error("-w is at least 1")
    return opts


def urls_of(opts):
    """The URLs given, else N lab URLs that differ only in their query."""
    if opts.urls:
        return opts.urls
    return ["%s/delay/%d?i=%d" % (lab_url(), opts.d, i) for i in range(opts.n)]


def host_port_path(url):
    """("127.0.0.1", 8000, "/delay/200?i=0") from a URL, with or without http://."""
    if "://" not in url:
        url = "http://" + url
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError("not an http:// URL")
    port = parts.port  # ValueError when out of range
    if port is None:
        port = 80
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return parts.hostname, port, path


def require_lab(urls):
    """When every URL is on the lab server and nothing listens there, say how
    to start it and exit 1, before any result line."""
    lab = lab_url()
    if not all(u.startswith(lab) for u in urls):
        return
    try:
        host, port, _ = host_port_path(lab)
    except ValueError as e:
        sys.exit("%s: LAB_URL is %s: %s (it should look like http://127.0.0.1:8000)"
                 % (PROG, lab, e))
    try:
        socket.create_connection((host, port), timeout=2).close()
    except OSError:
        sys.exit("%s: no lab server answers at %s: start one with 'make serve' in "
                 "another terminal (or set LAB_URL to where one runs)" % (PROG, lab))


def raise_fd_limit():
    """A socket per fetch: lift the soft limit on open files to the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ValueError, OSError):
        pass  # the old limit stays; each fetch past it reports its own failure


def result(i, nbytes, seconds, url):
    """One line per URL, written in one call so threads never mix lines."""
    sys.stdout.write("[%d] %d bytes in %.3f s  %s\n" % (i, nbytes, seconds, url))


def failure(url, why):
    sys.stderr.write("%s: %s: %s\n" % (PROG, url, why))


def used_time(seconds):
    print("used time: %.3f s" % seconds)


now = time.monotonic

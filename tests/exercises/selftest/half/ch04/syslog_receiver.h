/* syslog_receiver.h - the capture tool's receiving half: UDP datagrams into a file
 *
 * Talk: practice / capture the base station's syslog (完成 btslog 抓 syslog 的功能)
 * What the two threads of syslog.c share, and the receiving thread's code:
 * open_socket() binds the UDP socket, receiver() appends every datagram to
 * the file as one line until it is told to stop.
 *
 * Grader self-test: a submission half done. It captures, stops on 'stop' and
 * at end of input, drains the socket; it has no 'status', a 4 KiB buffer,
 * fprintf("%s") (a NUL cuts the line, a trailing newline doubles), and its
 * signal handler only sets a flag that nobody reads while fgets() blocks
 * (SA_RESTART), so SIGINT and SIGTERM never stop it.
 *
 * This file is given, and yours to extend: add to struct capture what your
 * way of stopping needs. The grader runs only the program.
 */
#ifndef SYSLOG_RECEIVER_H
#define SYSLOG_RECEIVER_H

#include <stdio.h>

/* the largest UDP payload (65507 bytes over IPv4) fits */
#define DATAGRAM_MAX 65536

/* What the two threads share. `count` is changed by the receiver while the
 * main thread reads it (for `status`): that is why it is _Atomic.
 * TODO(student): add what your way of stopping needs (see syslog.c's main). */
struct capture {
    const char *path; /* FILE, from -l */
    FILE *log;        /* FILE, opened for appending */
    int sock;         /* the bound UDP socket */
    _Atomic long count;

    /* main writes one byte here to stop the receiver */
    int stop_pipe[2];
};

/* Bind a UDP socket to ADDR:PORT (ADDR a valid IPv4 address) and return it.
 * A busy port is an error (exit 1); with PORT 0 the kernel chooses one,
 * stored back into *port. */
int open_socket(const char *addr, long *port);

/* The receiving thread; arg is the struct capture. It appends each datagram
 * to cap->log as a line, and ends once it is told to stop, after taking
 * what the socket still holds. */
void *receiver(void *arg);

#endif

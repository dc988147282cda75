/* syslog_receiver.h - the capture tool's receiving half: UDP datagrams into a file
 *
 * Talk: practice / capture the base station's syslog (完成 btslog 抓 syslog 的功能)
 * What the two threads of syslog.c share, and the receiving thread's code:
 * open_socket() binds the UDP socket, receiver() appends every datagram to
 * the file as one line until the stop pipe says to end.
 */
#ifndef SYSLOG_RECEIVER_H
#define SYSLOG_RECEIVER_H

#include <stdio.h>

/* the largest UDP payload (65507 bytes over IPv4) fits */
#define DATAGRAM_MAX 65536

/* Everything the two threads share. Only `count` changes while both run,
 * so it is atomic; `failed` is written by the receiver before it ends and
 * read by main after pthread_join, which orders the two. */
struct capture {
    const char *path;
    FILE *log;
    int sock;

    /* the stop pipe's read end: readable once asked to stop */
    int stop_rd;

    /* its write end: one byte there stops both threads */
    int stop_wr;
    _Atomic long count;
    int failed;

    /* the receiver's: one datagram at a time */
    char buf[DATAGRAM_MAX];
};

/* Bind a UDP socket to ADDR:PORT (ADDR a valid IPv4 address) and return it.
 * A busy port is an error (exit 1); with PORT 0 the kernel chooses one,
 * stored back into *port. */
int open_socket(const char *addr, long *port);

/* The receiving thread; arg is the struct capture. It appends each datagram
 * to cap->log as a line, and ends once the stop pipe is readable, after
 * taking what the socket still holds. If the file cannot be written it sets
 * cap->failed and writes to the stop pipe itself. */
void *receiver(void *arg);

#endif

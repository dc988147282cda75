/* green_socket.h - sockets that block a green thread, never the OS thread
 *
 * Talk: parallel handling / gevent (gevent.socket, what monkey.patch_all() puts
 *       in place of the blocking calls)
 * Module: green_socket.c, linked into green_fetch.c, whose four macros make its
 *         ordinary blocking code call green_connect() and green_io() instead
 *         of connect(), read() and write(). They run inside a green thread of
 *         green.h: where the real call would sleep, they put the socket in the
 *         hub's epoll set and switch to the hub; hub_wait() sleeps in
 *         epoll_wait() and resumes each green thread whose socket is ready.
 * Shows: non-blocking connect (EINPROGRESS, then SO_ERROR), EAGAIN, EINTR,
 *        MSG_NOSIGNAL, a hub that waits for every socket at once. Linux: epoll.
 */
#ifndef GREEN_SOCKET_H
#define GREEN_SOCKET_H

#include "green.h"

#include <sys/socket.h>
#include <sys/types.h>

/* Give the hub an epoll set (h->ep), where the calls below wait; before any
 * green thread runs. hub_free() closes it. */
void hub_watch_sockets(struct hub *h);

/* gevent.wait(): sleep in epoll_wait() until sockets are ready and resume
 * their green threads, until every green thread is done. */
void hub_wait(struct hub *h);

/* connect() for a non-blocking socket fd, with connect()'s result: 0, or -1
 * and errno. Returns once the handshake is over. */
int green_connect(int fd, const struct sockaddr *addr, socklen_t len);

/* read() into rbuf (wbuf NULL), or write() from wbuf (rbuf NULL) as a send()
 * with MSG_NOSIGNAL, with their result: bytes moved, 0 at the end of the
 * stream, or -1 and errno. Returns once the socket was ready. */
ssize_t green_io(int fd, void *rbuf, const void *wbuf, size_t len);

#endif

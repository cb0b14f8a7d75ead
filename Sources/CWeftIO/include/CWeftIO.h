// CWeftIO: the system calls of Weft's I/O layer that Swift's Glibc module does not import
// (epoll, eventfd, accept4, pipe2), as thin wrappers. Only Sources/Weft/IO and Sources/WeftNet
// import it. epoll_event is a packed struct on x86-64: the wrappers hand Swift plain arrays of
// event masks and 64-bit tokens instead.
#ifndef CWEFTIO_H
#define CWEFTIO_H

#include <stdint.h>

/// Readiness bits, as epoll's (EPOLLIN, EPOLLOUT, EPOLLERR, EPOLLHUP, EPOLLRDHUP, EPOLLET).
enum {
  WEFT_IO_IN = 0x001,
  WEFT_IO_OUT = 0x004,
  WEFT_IO_ERR = 0x008,
  WEFT_IO_HUP = 0x010,
  WEFT_IO_RDHUP = 0x2000,
  WEFT_IO_ET = (int)(1u << 31),
};

/// epoll_create1(EPOLL_CLOEXEC); -errno on failure.
int weft_epoll_create(void);
/// epoll_ctl(ADD/MOD); 0 or errno.
int weft_epoll_add(int ep, int fd, uint32_t events, uint64_t token);
int weft_epoll_mod(int ep, int fd, uint32_t events, uint64_t token);
/// epoll_ctl(DEL); 0 or errno.
int weft_epoll_del(int ep, int fd);
/// Waits up to `timeout_ns` (< 0: for ever, 0: no wait) for at most `max` events; writes each
/// one's mask and token. Returns the count, or -errno (EINTR included). Uses epoll_pwait2
/// (nanosecond timeouts) where the kernel has it, else epoll_wait with the timeout rounded up
/// to whole milliseconds (never early).
int weft_epoll_wait(int ep, uint32_t *masks, uint64_t *tokens, int max, int64_t timeout_ns);

/// eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); -errno on failure.
int weft_eventfd_create(void);
/// Adds 1 to the eventfd's counter (makes it readable).
void weft_eventfd_signal(int fd);
/// Reads (and so clears) the counter.
void weft_eventfd_drain(int fd);

/// accept4(fd, addr, len, SOCK_NONBLOCK | SOCK_CLOEXEC); -1 with errno on failure.
int weft_accept_nonblocking(int fd, void *addr, uint32_t *len);
/// pipe2(fds, O_NONBLOCK | O_CLOEXEC) when nonblocking, else pipe2(fds, O_CLOEXEC); 0 or errno.
int weft_pipe(int fds[2], int nonblocking);
/// socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol); -1 with errno on failure.
int weft_socket_nonblocking(int domain, int type, int protocol);
/// errno of the calling thread (read right after the failing call: a fiber may migrate).
int weft_errno(void);
/// The number of open descriptors of this process (entries of /proc/self/fd), or -1.
int weft_open_descriptor_count(void);

#endif

#define _GNU_SOURCE
#include "CWeftIO.h"
#include <errno.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <fcntl.h>
#include <time.h>
#include <dirent.h>

int weft_epoll_create(void) {
  int ep = epoll_create1(EPOLL_CLOEXEC);
  return ep < 0 ? -errno : ep;
}

static int ctl(int ep, int op, int fd, uint32_t events, uint64_t token) {
  struct epoll_event ev;
  ev.events = events;
  ev.data.u64 = token;
  return epoll_ctl(ep, op, fd, &ev) < 0 ? errno : 0;
}

int weft_epoll_add(int ep, int fd, uint32_t events, uint64_t token) { return ctl(ep, EPOLL_CTL_ADD, fd, events, token); }
int weft_epoll_mod(int ep, int fd, uint32_t events, uint64_t token) { return ctl(ep, EPOLL_CTL_MOD, fd, events, token); }
int weft_epoll_del(int ep, int fd) { return ctl(ep, EPOLL_CTL_DEL, fd, 0, 0); }

#ifndef SYS_epoll_pwait2
#define SYS_epoll_pwait2 441
#endif

// 1: the kernel has epoll_pwait2; 0: it does not; -1: not known yet. Relaxed atomics: every
// thread that probes writes the same answer.
static int have_pwait2 = -1;

int weft_epoll_wait(int ep, uint32_t *masks, uint64_t *tokens, int max, int64_t timeout_ns) {
  struct epoll_event evs[256];
  if (max > 256) max = 256;
  int n;
  if (timeout_ns > 0 && __atomic_load_n(&have_pwait2, __ATOMIC_RELAXED) != 0) {
    struct timespec ts = { (time_t)(timeout_ns / 1000000000), (long)(timeout_ns % 1000000000) };
    n = (int)syscall(SYS_epoll_pwait2, ep, evs, max, &ts, NULL, 0);
    if (n < 0 && (errno == ENOSYS || errno == EPERM)) {
      __atomic_store_n(&have_pwait2, 0, __ATOMIC_RELAXED);
    } else {
      __atomic_store_n(&have_pwait2, 1, __ATOMIC_RELAXED);
      if (n < 0) return -errno;
      goto done;
    }
  }
  {
    int ms = timeout_ns < 0 ? -1 : (int)((timeout_ns + 999999) / 1000000);
    if (timeout_ns > (int64_t)2000000000 * 1000000) ms = 2000000000;
    n = epoll_wait(ep, evs, max, ms);
    if (n < 0) return -errno;
  }
done:
  for (int i = 0; i < n; i++) {
    masks[i] = evs[i].events;
    tokens[i] = evs[i].data.u64;
  }
  return n;
}

int weft_eventfd_create(void) {
  int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  return fd < 0 ? -errno : fd;
}

void weft_eventfd_signal(int fd) {
  uint64_t one = 1;
  ssize_t r;
  do { r = write(fd, &one, sizeof one); } while (r < 0 && errno == EINTR);
  // EAGAIN: the counter is at its maximum, so the descriptor is readable already.
}

void weft_eventfd_drain(int fd) {
  uint64_t v;
  ssize_t r;
  do { r = read(fd, &v, sizeof v); } while (r < 0 && errno == EINTR);
}

int weft_accept_nonblocking(int fd, void *addr, uint32_t *len) {
  return accept4(fd, (struct sockaddr *)addr, (socklen_t *)len, SOCK_NONBLOCK | SOCK_CLOEXEC);
}

int weft_pipe(int fds[2], int nonblocking) {
  return pipe2(fds, O_CLOEXEC | (nonblocking ? O_NONBLOCK : 0)) < 0 ? errno : 0;
}

int weft_socket_nonblocking(int domain, int type, int protocol) {
  return socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
}

int weft_errno(void) { return errno; }

int weft_open_descriptor_count(void) {
  DIR *d = opendir("/proc/self/fd");
  if (!d) return -1;
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] != '.') n++;
  }
  closedir(d);
  return n - 1;  // the directory's own descriptor
}

#define _GNU_SOURCE
#include "CWeft.h"
#include "../CBoostContext/shim.h"
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "TSan.h"

#ifdef WEFT_TSAN
#include <sanitizer/tsan_interface.h>
#endif

int weft_futex_wait(volatile uintptr_t *p, uintptr_t expected, int64_t timeout_ns) {
  struct timespec ts, *tsp = NULL;
  if (timeout_ns >= 0) {
    ts.tv_sec = timeout_ns / 1000000000;
    ts.tv_nsec = timeout_ns % 1000000000;
    tsp = &ts;
  }
  long r = syscall(SYS_futex, (uint32_t *)p, FUTEX_WAIT_PRIVATE, (uint32_t)expected, tsp, NULL, 0);
#ifdef WEFT_TSAN
  // ThreadSanitizer runs an asynchronous signal's handler at the thread's next intercepted
  // call, and the raw futex system call is none: a thread asleep here (a parked worker, a
  // thread waiting in fetch) would keep a SIGQUIT pending for ever. Weft's SIGQUIT handler is
  // installed without SA_RESTART under TSan, so the signal ends the wait with EINTR; this
  // intercepted call then runs the handler (callers treat -1 as a spurious wake and re-check).
  if (r != 0 && errno == EINTR) { struct timespec now; clock_gettime(CLOCK_MONOTONIC, &now); }
#endif
  return r == 0 ? 0 : -1;
}

void weft_futex_wake(volatile uintptr_t *p, int n) {
  syscall(SYS_futex, (uint32_t *)p, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
}

uint64_t weft_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

// initial-exec: these slots are read and written on every switch; the default
// (general-dynamic) model would call __tls_get_addr each time. Weft is linked into
// executables or loaded at start. Not static: the header's inline readers and writers name
// them (weft_tls_worker_inline, weft_set_tls_stack_inline).
_Thread_local __attribute__((tls_model("initial-exec"))) void *weft_tls_worker_slot;
_Thread_local __attribute__((tls_model("initial-exec"))) void *weft_tls_fiber_slot;
_Thread_local __attribute__((tls_model("initial-exec"))) const weft_stack_info *weft_tls_stack_slot;

void *weft_tls_worker(void) { return weft_tls_worker_slot; }
void weft_set_tls_worker(void *w) { weft_tls_worker_slot = w; }
void *weft_tls_fiber(void) { return weft_tls_fiber_slot; }
void weft_set_tls_fiber(void *f) { weft_tls_fiber_slot = f; }
void weft_set_tls_stack(const weft_stack_info *info) { weft_tls_stack_slot = info; }
const weft_stack_info *weft_tls_stack(void) { return weft_tls_stack_slot; }

__attribute__((no_sanitize("thread")))
weft_transfer_t weft_switch(void *to, void *data, void *tsan_to) {
#ifdef WEFT_TSAN
  __tsan_switch_to_fiber(tsan_to, 0);
#else
  (void)tsan_to;
#endif
  transfer_t t = jump_fcontext((fcontext_t)to, data);
  weft_transfer_t r = { t.fctx, t.data };
  return r;
}

_Static_assert(sizeof(transfer_t) == sizeof(weft_transfer_t), "transfer_t layout");

__attribute__((no_sanitize("thread")))
weft_transfer_t weft_switch_ontop(void *to, void *data, void *tsan_to, weft_transfer_t (*fn)(weft_transfer_t)) {
#ifdef WEFT_TSAN
  __tsan_switch_to_fiber(tsan_to, 0);
#else
  (void)tsan_to;
#endif
  // SAFETY: weft_transfer_t and transfer_t are the same two-pointer struct, passed the same way.
  transfer_t t = ontop_fcontext((fcontext_t)to, data, (transfer_t (*)(transfer_t))fn);
  weft_transfer_t r = { t.fctx, t.data };
  return r;
}

void *weft_make_context(void *stack_top, size_t size, void (*fn)(weft_transfer_t)) {
  // SAFETY: weft_transfer_t and transfer_t are the same two-pointer struct, passed the same way.
  return make_fcontext(stack_top, size, (void (*)(transfer_t))fn);
}

bool weft_tsan_enabled(void) {
#ifdef WEFT_TSAN
  return true;
#else
  return false;
#endif
}
void *weft_tsan_create_fiber(void) {
#ifdef WEFT_TSAN
  return __tsan_create_fiber(0);
#else
  return NULL;
#endif
}
void weft_tsan_destroy_fiber(void *fiber) {
#ifdef WEFT_TSAN
  if (fiber) __tsan_destroy_fiber(fiber);
#else
  (void)fiber;
#endif
}
void *weft_tsan_current_fiber(void) {
#ifdef WEFT_TSAN
  return __tsan_get_current_fiber();
#else
  return NULL;
#endif
}

// MARK: - Diagnostics

__attribute__((no_sanitize("thread"), no_sanitize("address")))
size_t weft_walk_frames(uintptr_t pc, uintptr_t fp, uintptr_t last, uintptr_t lo, uintptr_t hi,
                          uintptr_t *out, size_t max) {
  size_t n = 0;
  if (max == 0) return 0;
  out[n++] = pc;
  while (n < max) {
    // A frame is [saved RBP, return address]; it lies above the last one, inside the stack.
    if ((fp & 7) != 0 || fp <= last || fp < lo || fp > hi || hi - fp < 16) break;
    const volatile uintptr_t *frame = (const volatile uintptr_t *)fp;
    uintptr_t ret = frame[1];
    if (ret == 0) break;
    out[n++] = ret;
    last = fp;
    fp = frame[0];
  }
  return n;
}

// Boost.Context 1.74, jump_x86_64_sysv_elf_gas.S: jump_fcontext pushes its return address
// (call), then `lea -0x38(%rsp), %rsp` and stores MXCSR/x87 CW at 0x0/0x4, R12–R15 at
// 0x8–0x20, RBX at 0x28, RBP at 0x30; the context pointer is that %rsp. So the return
// address into weft_switch is at ctx+0x38 and the fiber's frame pointer at ctx+0x30.
//
// Not instrumented for ThreadSanitizer: the stack words were written by the fiber before it
// switched out and the walker holds the fiber in its `inspected` state (no resume until the
// walk ends), which orders them through the state word; TSan, which sees the fiber's stack
// only through its own fiber annotations, need not instrument a read of another fiber's
// stack.
__attribute__((no_sanitize("thread"), no_sanitize("address")))
size_t weft_context_backtrace(const void *fctx, uintptr_t lo, uintptr_t hi, uintptr_t *out, size_t max) {
#if defined(__x86_64__)
  uintptr_t ctx = (uintptr_t)fctx;
  if (max == 0 || (ctx & 7) != 0 || ctx < lo || ctx > hi || hi - ctx < 0x40) return 0;
  const volatile uintptr_t *saved = (const volatile uintptr_t *)ctx;
  // 0x38: the return address into weft_switch; 0x30: RBP.
  return weft_walk_frames(saved[7], saved[6], ctx, lo, hi, out, max);
#else
  (void)fctx; (void)lo; (void)hi; (void)out; (void)max;
  return 0;
#endif
}

static int sigquit_fd = -1;
static struct sigaction previous_quit;
static bool quit_installed;

static void sigquit_handler(int sig) {
  (void)sig;
  int saved = errno;
  char byte = 'q';
  ssize_t r = write(sigquit_fd, &byte, 1);  // non-blocking: a full pipe already has a dump due
  (void)r;
  errno = saved;
}

bool weft_install_sigquit_handler(int fd) {
  struct sigaction current;
  if (sigaction(SIGQUIT, NULL, &current) != 0) return false;
  if (!(current.sa_flags & SA_SIGINFO) && current.sa_handler == SIG_IGN) return false;
  sigquit_fd = fd;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = sigquit_handler;
#ifdef WEFT_TSAN
  sa.sa_flags = 0;  // see weft_futex_wait: under TSan the signal must interrupt a futex wait
#else
  sa.sa_flags = SA_RESTART;
#endif
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGQUIT, &sa, &previous_quit) != 0) return false;
  quit_installed = true;
  return true;
}

void weft_unblock_sigquit(void) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGQUIT);
  pthread_sigmask(SIG_UNBLOCK, &set, NULL);
}

void weft_restore_sigquit_handler(void) {
  if (!quit_installed) return;
  quit_installed = false;
  sigaction(SIGQUIT, &previous_quit, NULL);
}

void weft_thread_init_altstack(void) {
  stack_t current;
  if (sigaltstack(NULL, &current) == 0 && !(current.ss_flags & SS_DISABLE) && current.ss_size >= 32768) return;
  size_t size = 65536;
  void *mem = malloc(size);  // lives as long as the thread; workers live as long as their scheduler
  if (!mem) return;
  stack_t ss = { .ss_sp = mem, .ss_size = size, .ss_flags = 0 };
  sigaltstack(&ss, NULL);
}

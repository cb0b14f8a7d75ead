// Signals that concern fiber stacks: the crash handler (stack overflow and every other fatal
// signal on a fiber's stack) and the sampler that takes a running fiber's backtrace for the
// long-running-fiber report (Sources/Weft/Diagnostics/LongRunning.swift).
#define _GNU_SOURCE
#include "CWeft.h"
#include <errno.h>
#include <execinfo.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

// MARK: - Crashes on fiber stacks (stack overflow and every other fatal signal)
//
// Swift's crash backtracer (the runtime's handlers for SIGSEGV, SIGBUS, SIGILL, SIGTRAP,
// SIGFPE and SIGABRT, which spawn swift-backtrace) cannot walk a fiber's stack: on a crash
// there it fails and leaves the swift-backtrace process behind, holding the terminal (or a
// parent's pipe) open for over a minute. So Weft takes these signals, and:
// - C1 a fault with no fiber stack current on the thread (tls_stack == NULL: the worker loop,
//   the main thread, any other thread) goes to the handler installed before Weft's (Swift's
//   backtracer, by default), or the default action: nothing changes for it;
// - C2 a fault while the thread runs a fiber stack prints Weft's message (for a guard-page hit:
//   "fiber stack overflow …") and a frame-pointer backtrace of the fiber, then the process dies
//   of the same signal with its default action (SIG_DFL, re-raised), never reaching Swift's
//   backtracer. Swift's own message ("Fatal error: …") was already printed before its trap.
// Everything here is async-signal-safe except backtrace_symbols_fd's dladdr (it takes no
// malloc lock, only the loader's): a crash inside malloc cannot deadlock it.

#define WEFT_CRASH_SIGNALS 6
static const int crash_signals[WEFT_CRASH_SIGNALS] = { SIGSEGV, SIGBUS, SIGILL, SIGTRAP, SIGFPE, SIGABRT };
static struct sigaction previous_crash[WEFT_CRASH_SIGNALS];

static void write_str(const char *s) { ssize_t r = write(2, s, strlen(s)); (void)r; }

// A message line built on the stack and written with one write(2): another thread's output (a
// warning printed while the crash is reported, say) cannot split it, as it did when the
// overflow message went out in five writes (CrashHygieneTests, under load).
struct line { char text[512]; size_t n; };

static void line_add(struct line *l, const char *s) {
  for (; *s && l->n < sizeof l->text; s++) l->text[l->n++] = *s;
}

static void line_add_num(struct line *l, uintptr_t v) {
  char buf[32];
  int i = 31;
  buf[i] = 0;
  do { buf[--i] = (char)('0' + v % 10); v /= 10; } while (v && i > 0);
  line_add(l, buf + i);
}

static void line_write(const struct line *l) { ssize_t r = write(2, l->text, l->n); (void)r; }

static void overflow_message(uintptr_t stack_size, const char *how) {
  struct line l = { .n = 0 };
  line_add(&l, "fiber stack overflow (stack size ");
  line_add_num(&l, stack_size);
  line_add(&l, " bytes, ");
  line_add(&l, how);
  line_add(&l, "): pass a larger stackSize to spawn/Fiber, or raise the scheduler's default "
               "(WEFT_STACK_SIZE)\n");
  line_write(&l);
}

static const char *signal_name(int sig) {
  switch (sig) {
  case SIGSEGV: return "SIGSEGV (bad memory access)";
  case SIGBUS: return "SIGBUS (bad memory access)";
  case SIGILL: return "SIGILL (a Swift runtime trap: precondition, fatalError, overflow, nil unwrap, index out of range)";
  case SIGTRAP: return "SIGTRAP (a trap instruction)";
  case SIGFPE: return "SIGFPE (arithmetic error)";
  case SIGABRT: return "SIGABRT (abort)";
  default: return "fatal signal";
  }
}

// The running fiber's stack: usable bytes end at the info block (Fiber/Stack.swift).
static void fiber_stack_bounds(const weft_stack_info *s, uintptr_t *lo, uintptr_t *hi) {
  *hi = (uintptr_t)s;
  *lo = *hi > s->stack_size ? *hi - s->stack_size : 0;
}

// The interrupted pc, frame pointer and stack pointer (x86-64 Linux); false elsewhere.
static bool interrupted_registers(void *uctx, uintptr_t *pc, uintptr_t *fp, uintptr_t *sp) {
#if defined(__x86_64__)
  const ucontext_t *uc = (const ucontext_t *)uctx;
  *pc = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
  *fp = (uintptr_t)uc->uc_mcontext.gregs[REG_RBP];
  *sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
  return true;
#else
  (void)uctx; (void)pc; (void)fp; (void)sp;
  return false;
#endif
}

static void print_crash_backtrace(const weft_stack_info *s, void *uctx) {
  uintptr_t pc, fp, sp, lo, hi;
  if (!uctx || !interrupted_registers(uctx, &pc, &fp, &sp)) return;
  fiber_stack_bounds(s, &lo, &hi);
  uintptr_t frames[64];
  size_t n = weft_walk_frames(pc, fp, sp > 0 ? sp - 1 : 0, lo, hi, frames, 64);
  write_str("Weft: backtrace of the crashed fiber, innermost first (Swift's crash backtracer "
            "cannot walk fiber stacks and is skipped; `addr2line -f -e IMAGE OFFSET | swift demangle` "
            "names a frame):\n");
  backtrace_symbols_fd((void *const *)frames, (int)n, 2);
}

// C2: dies of `sig` with its default action (core dump where enabled), now; _exit covers a
// signal that could not be delivered.
static void die_of(int sig) {
  signal(sig, SIG_DFL);
  if (sig != SIGABRT) signal(SIGABRT, SIG_DFL);  // nothing below may reach Swift's handler
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, sig);
  raise(sig);  // pending: `sig` is blocked while its handler runs
  pthread_sigmask(SIG_UNBLOCK, &set, NULL);  // delivered here, with the default action
  _exit(128 + sig);
}

static void crash_handler(int sig, siginfo_t *info, void *uctx) {
  const weft_stack_info *s = weft_tls_stack();
  if (s) {  // C2
    uintptr_t addr = (uintptr_t)info->si_addr;
    if ((sig == SIGSEGV || sig == SIGBUS) && s->guard_lo && addr >= s->guard_lo && addr < s->guard_hi) {
      overflow_message(s->stack_size, "guard page hit");
    } else {
      struct line l = { .n = 0 };
      line_add(&l, "Weft: ");
      line_add(&l, signal_name(sig));
      line_add(&l, " on a fiber's stack\n");
      line_write(&l);
      print_crash_backtrace(s, uctx);
    }
    die_of(sig);
    return;
  }
  // C1: not on a fiber stack: whoever was installed before us, or the default action.
  int k = 0;
  while (k < WEFT_CRASH_SIGNALS - 1 && crash_signals[k] != sig) k++;
  struct sigaction *prev = &previous_crash[k];
  if (prev->sa_flags & SA_SIGINFO) {
    if (prev->sa_sigaction) { prev->sa_sigaction(sig, info, uctx); return; }
  } else if (prev->sa_handler != SIG_DFL && prev->sa_handler != SIG_IGN && prev->sa_handler) {
    prev->sa_handler(sig);
    return;
  }
  signal(sig, SIG_DFL);
  raise(sig);
}

void weft_install_overflow_handler(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = crash_handler;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  for (int k = 0; k < WEFT_CRASH_SIGNALS; k++) sigaction(crash_signals[k], &sa, &previous_crash[k]);
}

void weft_report_canary_overflow(uintptr_t stack_size) {
  overflow_message(stack_size, "stack canary overwritten");
  // Found by the worker loop on its own stack, but other threads may be on fiber stacks,
  // where Swift's backtracer would hang: abort with the default action (C2).
  signal(SIGABRT, SIG_DFL);
  abort();
}

// MARK: - The backtrace of a running fiber, on request (the long-running-fiber report)
//
// The diagnostics thread asks one worker thread at a time for the stack of the fiber it is
// running: it publishes a request in `sample_word`, sends SIGURG to that thread (tgkill), and
// waits on the word's futex. The handler, on that thread, walks the interrupted frame-pointer
// chain inside the fiber's stack into the requester's buffer and answers. SIGURG is ignored by
// default and rarely used (Go preempts goroutines with it for the same reasons); a SIGURG that
// is not a request for this thread goes to the handler installed before Weft's.
//
// sample_word = tid << 2 | phase, so that a request names its thread and its phase in one word:
// - P1 idle (0) → REQUESTED: the requester, with a release store after it wrote the buffer
//   fields; pairs with the handler's acquire load and CAS.
// - P2 REQUESTED → WRITING: the handler of thread `tid` only (CAS, full), so a late SIGURG
//   (ThreadSanitizer defers signals to the thread's next intercepted call) for an abandoned
//   request or another thread's request does nothing.
// - P3 WRITING → DONE: the handler, release store after the frames and count; pairs with the
//   requester's acquire load. A requester that gives up CASes REQUESTED → idle; once the
//   handler is WRITING it waits for DONE (the walk is bounded), then stores idle.
enum { SAMPLE_REQUESTED = 1, SAMPLE_WRITING = 2, SAMPLE_DONE = 3 };
static volatile uintptr_t sample_word;
static uintptr_t *sample_out;
static size_t sample_max, sample_count;
static struct sigaction previous_urg;
static volatile uintptr_t sample_installed;

int32_t weft_gettid(void) { return (int32_t)syscall(SYS_gettid); }

static void sample_handler(int sig, siginfo_t *info, void *uctx) {
  int saved_errno = errno;
  uintptr_t tid = (uintptr_t)weft_gettid();
  uintptr_t w = weft_load_acquire(&sample_word);  // P2
  if (w == (tid << 2 | SAMPLE_REQUESTED) && weft_cas_full(&sample_word, w, tid << 2 | SAMPLE_WRITING)) {
    size_t n = 0;
    const weft_stack_info *s = weft_tls_stack();
    uintptr_t pc, fp, sp, lo, hi;
    if (s && uctx && interrupted_registers(uctx, &pc, &fp, &sp)) {
      fiber_stack_bounds(s, &lo, &hi);
      if (sp >= lo && sp < hi) n = weft_walk_frames(pc, fp, sp - 1, lo, hi, sample_out, sample_max);
    }
    sample_count = n;
    weft_store_release(&sample_word, tid << 2 | SAMPLE_DONE);  // P3
    weft_futex_wake(&sample_word, 1);
    errno = saved_errno;
    return;
  }
  errno = saved_errno;
  if (previous_urg.sa_flags & SA_SIGINFO) {
    if (previous_urg.sa_sigaction) previous_urg.sa_sigaction(sig, info, uctx);
  } else if (previous_urg.sa_handler != SIG_DFL && previous_urg.sa_handler != SIG_IGN && previous_urg.sa_handler) {
    previous_urg.sa_handler(sig);
  }
}

bool weft_install_sample_handler(void) {
  if (weft_load_acquire(&sample_installed)) return true;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = sample_handler;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
  sigemptyset(&sa.sa_mask);
  if (sigaction(SIGURG, &sa, &previous_urg) != 0) return false;
  weft_store_release(&sample_installed, 1);
  return true;
}

size_t weft_sample_thread(int32_t tid, uintptr_t *out, size_t max, int64_t timeout_ns) {
  if (tid <= 0 || max == 0 || !weft_load_acquire(&sample_installed)) return 0;
  uintptr_t t = (uintptr_t)tid;
  sample_out = out;
  sample_max = max;
  sample_count = 0;
  weft_store_release(&sample_word, t << 2 | SAMPLE_REQUESTED);  // P1
  if (syscall(SYS_tgkill, getpid(), tid, SIGURG) != 0) {
    weft_store_release(&sample_word, 0);
    return 0;
  }
  uint64_t deadline = weft_now_ns() + (uint64_t)timeout_ns;
  while (true) {
    uintptr_t w = weft_load_acquire(&sample_word);  // P3
    if (w == (t << 2 | SAMPLE_DONE)) break;
    uint64_t now = weft_now_ns();
    if (w == (t << 2 | SAMPLE_REQUESTED)) {
      if (now >= deadline) {
        if (weft_cas_full(&sample_word, w, 0)) return 0;  // gave up; a late signal finds idle
        continue;
      }
      weft_futex_wait(&sample_word, w, (int64_t)(deadline - now));
    } else {
      weft_futex_wait(&sample_word, w, 1000000);  // WRITING: the handler finishes a bounded walk
    }
  }
  size_t n = sample_count;
  weft_store_release(&sample_word, 0);
  return n;
}

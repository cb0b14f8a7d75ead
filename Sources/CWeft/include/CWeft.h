// CWeft: the only C in Weft. Thin, inlinable wrappers over libatomic_ops (atomics and
// fences), Boost.Context's fcontext (stack switching), the futex system call, a
// thread-local slot, the fiber stack-overflow handler, ThreadSanitizer's fiber hooks, and
// for diagnostics the frame-pointer walk, symbol lookup (Symbols.c) and the SIGQUIT handler.
//
// Every atomic operation in Weft goes through one of the weft_* functions below; their
// names state the memory ordering (see Docs/Architecture.md, "Memory orderings").
#ifndef CWEFT_H
#define CWEFT_H

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>
#include <atomic_ops.h>

/// The pair Boost.Context hands across a switch (same layout as its transfer_t).
typedef struct { void *fctx; void *data; } weft_transfer_t;

// MARK: - Atomics on uintptr_t (AO_t is an unsigned word; Swift sees uintptr_t as UInt)

static inline uintptr_t weft_load_relaxed(const volatile uintptr_t *p) { return (uintptr_t)AO_load((const volatile AO_t *)p); }
static inline uintptr_t weft_load_acquire(const volatile uintptr_t *p) { return (uintptr_t)AO_load_acquire((const volatile AO_t *)p); }
static inline void weft_store_relaxed(volatile uintptr_t *p, uintptr_t v) { AO_store((volatile AO_t *)p, (AO_t)v); }
static inline void weft_store_release(volatile uintptr_t *p, uintptr_t v) { AO_store_release((volatile AO_t *)p, (AO_t)v); }
/// Sequentially consistent compare-and-swap; true when *p held `old` and now holds `new`.
static inline bool weft_cas_full(volatile uintptr_t *p, uintptr_t old, uintptr_t new_) { return AO_compare_and_swap_full((volatile AO_t *)p, (AO_t)old, (AO_t)new_) != 0; }
/// Acquire compare-and-swap (a lock acquisition).
static inline bool weft_cas_acquire(volatile uintptr_t *p, uintptr_t old, uintptr_t new_) { return AO_compare_and_swap_acquire((volatile AO_t *)p, (AO_t)old, (AO_t)new_) != 0; }
/// Release compare-and-swap (a lock release that must check the old value).
static inline bool weft_cas_release(volatile uintptr_t *p, uintptr_t old, uintptr_t new_) { return AO_compare_and_swap_release((volatile AO_t *)p, (AO_t)old, (AO_t)new_) != 0; }
/// Sequentially consistent compare-and-swap returning the value seen.
static inline uintptr_t weft_fetch_cas_full(volatile uintptr_t *p, uintptr_t old, uintptr_t new_) { return (uintptr_t)AO_fetch_compare_and_swap_full((volatile AO_t *)p, (AO_t)old, (AO_t)new_); }
static inline uintptr_t weft_fetch_add_full(volatile uintptr_t *p, uintptr_t d) { return (uintptr_t)AO_fetch_and_add_full((volatile AO_t *)p, (AO_t)d); }
static inline uintptr_t weft_fetch_add_relaxed(volatile uintptr_t *p, uintptr_t d) { return (uintptr_t)AO_fetch_and_add((volatile AO_t *)p, (AO_t)d); }
/// Full (sequentially consistent) fence.
static inline void weft_fence_full(void) { AO_nop_full(); }
/// Spin-wait hint (x86 `pause`).
static inline void weft_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

// MARK: - Futex (Linux). The word is the low 32 bits of a uintptr_t (little-endian):
// values stored in a futex word must stay below 2^32.

/// Sleeps while the low 32 bits of *p equal `expected`; `timeout_ns` < 0 means forever.
/// Returns 0 when woken (or spuriously), -1 on timeout or when the value differed.
int weft_futex_wait(volatile uintptr_t *p, uintptr_t expected, int64_t timeout_ns);
/// Wakes up to `n` threads sleeping on *p.
void weft_futex_wake(volatile uintptr_t *p, int n);

// MARK: - Monotonic clock

uint64_t weft_now_ns(void);

// MARK: - Thread-local slots (the current worker and the current fiber of this OS thread)

void *weft_tls_worker(void);
void weft_set_tls_worker(void *w);
void *weft_tls_fiber(void);
void weft_set_tls_fiber(void *f);

// Inline readers of the two slots (x86-64 Linux; elsewhere the calls above): two
// instructions instead of a call. Volatile asm, not a plain read of a _Thread_local: a fiber
// may switch stacks inside a function and resume there on another thread, and LLVM treats a
// thread-local's address as constant within a function (llvm.threadlocal.address), so it
// could reuse the first thread's slot after the switch. A volatile asm is never merged with
// another, nor moved across the opaque call that switches.
#if defined(__x86_64__) && defined(__linux__)
#define WEFT_TLS_INLINE_READ(slot) ({ \
    void *weft_value_; \
    __asm__ volatile("movq " #slot "@gottpoff(%%rip), %0\n\tmovq %%fs:(%0), %0" : "=r"(weft_value_)); \
    weft_value_; })
static inline __attribute__((always_inline)) void *weft_tls_worker_inline(void) {
  return WEFT_TLS_INLINE_READ(weft_tls_worker_slot);
}
static inline __attribute__((always_inline)) void *weft_tls_fiber_inline(void) {
  return WEFT_TLS_INLINE_READ(weft_tls_fiber_slot);
}
// Inline writers, for the same reason (a switch sets the fiber and stack slots each time;
// the calls cost ~13 instructions each). The memory clobber keeps the store in place.
#define WEFT_TLS_INLINE_WRITE(slot, value) do { \
    void *weft_address_; \
    __asm__ volatile("movq " #slot "@gottpoff(%%rip), %0\n\tmovq %1, %%fs:(%0)" \
                     : "=&r"(weft_address_) : "r"((const void *)(value)) : "memory"); } while (0)
static inline __attribute__((always_inline)) void weft_set_tls_worker_inline(void *w) {
  WEFT_TLS_INLINE_WRITE(weft_tls_worker_slot, w);
}
static inline __attribute__((always_inline)) void weft_set_tls_fiber_inline(void *f) {
  WEFT_TLS_INLINE_WRITE(weft_tls_fiber_slot, f);
}
#else
static inline void *weft_tls_worker_inline(void) { return weft_tls_worker(); }
static inline void *weft_tls_fiber_inline(void) { return weft_tls_fiber(); }
static inline void weft_set_tls_worker_inline(void *w) { weft_set_tls_worker(w); }
static inline void weft_set_tls_fiber_inline(void *f) { weft_set_tls_fiber(f); }
#endif

// MARK: - Fiber objects

/// FiberCore A2 (FiberObjects.c): makes a fiber object of `size` bytes (header and state
/// block) from this thread's cache of blocks, or from malloc, with the runtime's header set
/// so that its last release runs the destroyer but frees nothing.
void *weft_fiber_object_make(const void *metadata, size_t size);
/// The last statement of a fiber object's deinit: keeps its block for reuse (or, for an
/// object with weak or unowned references, lets the runtime free it after the last of them).
void weft_fiber_object_recycle(void *object);
/// Blocks a thread's cache keeps unless its limit is changed (non-worker threads).
#define WEFT_FIBER_OBJECTS_THREAD_LIMIT 64
/// Sets the calling thread's cache limit (workers raise it), freeing blocks above it.
void weft_fiber_objects_set_limit(size_t limit);
/// Frees the calling thread's cached blocks above `keep` (a worker going idle).
void weft_fiber_objects_trim(size_t keep);
/// Blocks in the calling thread's cache (the pending one included), for tests.
size_t weft_fiber_objects_cached(void);
/// Whether freed blocks are reused: false under ThreadSanitizer (FiberObjects.c B4).
bool weft_fiber_objects_reused(void);
/// The usable size of the malloc chunk at `p` (glibc's `malloc_usable_size`), for tests.
size_t malloc_usable_size(void *p);
static inline size_t weft_allocation_size(void *p) { return malloc_usable_size(p); }

// MARK: - Context switch

/// Switches to `to`, handing it `data`. Under ThreadSanitizer it first tells TSan that this
/// thread now runs `tsan_to` (a handle from weft_tsan_create_fiber / weft_tsan_current_fiber);
/// nothing instrumented runs between the annotation and the jump.
weft_transfer_t weft_switch(void *to, void *data, void *tsan_to);
/// Like weft_switch, but first runs `fn` on top of `to`'s stack, with the context just left
/// and `data`; what `fn` returns is what the resumed side's own switch returns. Weft's direct
/// fiber-to-fiber switch: `fn` publishes the fiber that switched out (Context.swift, S4).
weft_transfer_t weft_switch_ontop(void *to, void *data, void *tsan_to, weft_transfer_t (*fn)(weft_transfer_t));
/// Prepares a context that will run `fn` on the stack whose highest address is `stack_top`.
void *weft_make_context(void *stack_top, size_t size, void (*fn)(weft_transfer_t));

// MARK: - ThreadSanitizer fiber hooks (no-ops returning NULL without TSan)

bool weft_tsan_enabled(void);
void *weft_tsan_create_fiber(void);
void weft_tsan_destroy_fiber(void *fiber);
void *weft_tsan_current_fiber(void);

// MARK: - Swift exclusivity state (exported by the Swift runtime; two words per context)

void swift_task_enterThreadLocalContext(char *state);
void swift_task_exitThreadLocalContext(char *state);

// MARK: - Diagnostics: backtraces of switched-out fibers, the Swift demangler, SIGQUIT

/// Copies up to `max` return addresses of the fiber whose saved Boost.Context context is
/// `fctx` into `out`, innermost first, by walking its saved frame pointers; returns how many.
/// Every address read is checked against the fiber's stack [`lo`, `hi`) first, and frame
/// pointers must grow strictly, so a bad chain ends the walk (never a fault). The caller
/// guarantees that the fiber cannot resume during the walk (AnyFiber's `inspected` state).
/// x86-64 only (Boost's jump_x86_64_sysv_elf_gas.S layout); elsewhere it returns 0.
size_t weft_context_backtrace(const void *fctx, uintptr_t lo, uintptr_t hi, uintptr_t *out, size_t max);

/// Where an address lies: its image's path and the function symbol containing it (from the
/// image's ELF symbol table, read once per image, or dladdr). Strings live as long as the
/// process. False when the address is in no loaded image.
typedef struct weft_symbol {
  const char *image;
  const char *name;
  uintptr_t start;
} weft_symbol;
bool weft_symbolize(uintptr_t address, weft_symbol *out);

/// The Swift runtime's demangler (exported by libswiftCore). With a NULL buffer it returns a
/// malloc'd string (free it), or NULL when `mangled` is not a Swift symbol. `flags` must be 0.
char *swift_demangle(const char *mangled, size_t length, char *buffer, size_t *size, uint32_t flags);

/// Makes SIGQUIT write one byte to `fd` (a non-blocking pipe whose reader prints the dump),
/// unless SIGQUIT is ignored. Returns false (and installs nothing) when it is ignored.
/// The handler does nothing but that write (async-signal-safe), keeping errno.
bool weft_install_sigquit_handler(int fd);
/// Unblocks SIGQUIT for the calling thread (the diagnostics thread), so that a SIGQUIT sent to
/// the process is delivered even when every other thread was started with it blocked.
void weft_unblock_sigquit(void);
/// Puts back the SIGQUIT disposition found by weft_install_sigquit_handler.
void weft_restore_sigquit_handler(void);

// MARK: - Stack overflow detection

/// What the SIGSEGV handler needs to know about the stack the thread is running on.
typedef struct weft_stack_info {
  uintptr_t guard_lo;    // lowest address of the guard page(s); 0 when the stack has none
  uintptr_t guard_hi;    // one past the guard
  uintptr_t stack_size;  // usable bytes, reported in the message
} weft_stack_info;

/// Installs (once per process) the handler of SIGSEGV, SIGBUS, SIGILL, SIGTRAP, SIGFPE and
/// SIGABRT (Signals.c, C1–C2): on a fiber's stack it prints Weft's message ("fiber stack
/// overflow …" for a guard-page hit, else the signal and the fiber's backtrace) and dies of
/// the signal without running Swift's crash backtracer; elsewhere it chains to the previous one.
void weft_install_overflow_handler(void);
/// Gives the calling thread an alternate signal stack (once per thread).
void weft_thread_init_altstack(void);
/// Tells the handler which stack the calling thread now runs on (NULL: its own).
void weft_set_tls_stack(const weft_stack_info *info);
#if defined(__x86_64__) && defined(__linux__)
static inline __attribute__((always_inline)) void weft_set_tls_stack_inline(const weft_stack_info *info) {
  WEFT_TLS_INLINE_WRITE(weft_tls_stack_slot, info);
}
#else
static inline void weft_set_tls_stack_inline(const weft_stack_info *info) { weft_set_tls_stack(info); }
#endif
/// The stack set by weft_set_tls_stack on the calling thread.
const weft_stack_info *weft_tls_stack(void);
/// Copies `pc`, then the return addresses of the frame-pointer chain starting at `fp`, into
/// `out`; every frame must lie inside [`lo`, `hi`) and above the previous one (`last` first),
/// or the walk stops (a bad chain gives a short trace, never a fault). Returns how many.
size_t weft_walk_frames(uintptr_t pc, uintptr_t fp, uintptr_t last, uintptr_t lo, uintptr_t hi,
                        uintptr_t *out, size_t max);
/// Prints "fiber stack overflow ..." for a canary found broken, then aborts.
void weft_report_canary_overflow(uintptr_t stack_size) __attribute__((noreturn));


// MARK: - The backtrace of a running fiber (the long-running-fiber report; Signals.c P1–P3)

/// The calling thread's kernel thread id.
int32_t weft_gettid(void);
/// Installs the SIGURG handler that answers weft_sample_thread (idempotent). False if
/// sigaction failed.
bool weft_install_sample_handler(void);
/// Asks thread `tid` of this process, by SIGURG, for the backtrace of the fiber it runs now
/// (innermost first, the interrupted pc first) and waits up to `timeout_ns` for the answer.
/// Returns the number of addresses written to `out`: 0 when the thread runs no fiber or did
/// not answer in time. One caller at a time (the diagnostics thread).
size_t weft_sample_thread(int32_t tid, uintptr_t *out, size_t max, int64_t timeout_ns);

#endif

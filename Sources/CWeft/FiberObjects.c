// FiberCore A2: fiber objects come from a per-thread cache of blocks, not from malloc.
//
// A fiber object (header and state block, FiberCore A1) is made here with the runtime's
// `swift_initStackObject`, the entry point the compiler uses for an object it placed on the
// stack: the object starts with one extra unowned reference, so when its last strong reference
// goes the runtime runs the class's destroyer (AnyFiber.deinit) but does not free the memory.
// The deinit's last statement hands the block to this cache (B1), to reuse without malloc or
// free: glibc serves a 288-byte chunk from its slow path (its per-thread cache holds 7 of a
// size), ~380 instructions per malloc and free.
//
// B1. The last statement of AnyFiber.deinit gives the block back (weft_fiber_object_recycle);
//     the runtime still touches the header after that, in swift_deallocObject, so the block
//     waits in `pending` until the next give on the same thread: by then the destroyer that
//     gave it has returned, because no Swift code runs between that last statement and the
//     runtime's return (AnyFiber.deinit's work is in a separate, not-inlined function).
//     Only `head` is ever taken.
// B2. An object that got a weak reference (a side table) or a live unowned one at the time of
//     its deinit is not kept: recycle drops the extra unowned reference itself, and the runtime
//     frees the block with `free` when the last weak or unowned reference goes (the block
//     came from malloc, as swift_slowDealloc expects for an 8-byte alignment mask).
// B3. The cache is per OS thread (initial-exec TLS; the functions never switch fibers, so a
//     call stays on one thread): no atomics. A fiber freed on another thread than the one it
//     was made on fills that thread's cache; each cache keeps at most `limit` blocks and frees
//     the rest. Workers raise their limit (`weft_fiber_objects_set_limit`) and trim to a few
//     when they go idle; a thread that exits frees its cache (a pthread key's destructor).
// B4. Under ThreadSanitizer no block is kept (every limit is 0; a block is freed at the next
//     give, after the runtime is done with it): what orders a fiber's last use on one thread
//     before its block's reuse on another is the Swift runtime's reference count, whose
//     atomics TSan does not see (the runtime is not instrumented), so it would report every
//     reuse as a race. With malloc and free it sees each fiber's life as it is.
#define _GNU_SOURCE
#include "CWeft.h"
#include "TSan.h"
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

void *swift_initStackObject(const void *metadata, void *object);
void swift_unownedRelease(void *object);

// The runtime's immortal mark in an inline reference count word: the "use slow RC" bit and all
// of bits 0–31 (the unowned count and the pure-Swift-dealloc bit) set.
#define IMMORTAL_BITS 0x80000000FFFFFFFFull

typedef struct {
  void *head;      // blocks free for reuse, linked through their first word (B1)
  void *pending;   // the block given last: its release may still be under way (B1)
  size_t count;    // blocks on `head`
  size_t limit;    // most blocks `head` keeps (B3)
  int armed;       // the thread-exit destructor will run (B3)
} block_cache;

#ifdef WEFT_TSAN
#define LIMIT(n) 0  // B4
#else
#define LIMIT(n) (n)
#endif

static _Thread_local __attribute__((tls_model("initial-exec"))) block_cache cache = {
    NULL, NULL, 0, LIMIT(WEFT_FIBER_OBJECTS_THREAD_LIMIT), 0};

static pthread_key_t exit_key;
static pthread_once_t exit_key_once = PTHREAD_ONCE_INIT;

static void free_cache(void *unused) {
  (void)unused;
  block_cache *c = &cache;
  while (c->head) {
    void *b = c->head;
    c->head = *(void **)b;
    free(b);
  }
  c->count = 0;
  free(c->pending);  // a thread that is exiting runs no destroyer any more
  c->pending = NULL;
  // A destructor that runs after this one may still free fibers: recycle arms the key again,
  // and POSIX runs destructors again while keys have values.
  c->armed = 0;
}

static void make_exit_key(void) { pthread_key_create(&exit_key, free_cache); }

static void arm(block_cache *c) {
  pthread_once(&exit_key_once, make_exit_key);
  pthread_setspecific(exit_key, (void *)1);
  c->armed = 1;
}

void *weft_fiber_object_make(const void *metadata, size_t size) {
  block_cache *c = &cache;
  void *b = c->head;
  if (b) {
    c->head = *(void **)b;
    c->count--;
  } else {
    b = malloc(size);
    if (!b) abort();
  }
  return swift_initStackObject(metadata, b);
}

void weft_fiber_object_recycle(void *object) {
  // The strong count is zero and the object is deiniting; 64-bit inline reference counts:
  // bit 63 marks a side table, bits 1–31 hold the unowned count (2 here: the runtime's own
  // and the extra one swift_initStackObject gave).
  uint64_t bits = ((uint64_t *)object)[1];
  if ((bits >> 63) != 0 || ((bits >> 1) & 0x7fffffff) != 2) {
    swift_unownedRelease(object);  // B2: the runtime frees it after the last weak or unowned one
    return;
  }
  // B1: marked immortal, so that swift_deallocObject, which runs next, returns at once: an
  // immortal object is never freed and its counts are never written (without this it would
  // drop the extra unowned reference with a CAS loop, ~70 instructions per fiber).
  __atomic_store_n(&((uint64_t *)object)[1], bits | IMMORTAL_BITS, __ATOMIC_RELAXED);
  block_cache *c = &cache;
  if (!c->armed) arm(c);
  void *older = c->pending;
  c->pending = object;
  if (!older) return;
  if (c->count < c->limit) {
    *(void **)older = c->head;
    c->head = older;
    c->count++;
  } else {
    free(older);
  }
}

void weft_fiber_objects_set_limit(size_t limit) {
  cache.limit = LIMIT(limit);
  weft_fiber_objects_trim(limit);
}

void weft_fiber_objects_trim(size_t keep) {
  block_cache *c = &cache;
  while (c->count > keep) {
    void *b = c->head;
    c->head = *(void **)b;
    c->count--;
    free(b);
  }
}

size_t weft_fiber_objects_cached(void) { return cache.count + (cache.pending != NULL); }

bool weft_fiber_objects_reused(void) { return LIMIT(1) != 0; }

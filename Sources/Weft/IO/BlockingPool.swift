#if canImport(Glibc)
import Glibc
#endif

// `blocking { }`: Tokio's spawn_blocking. Code that would hold a worker (getaddrinfo, file
// I/O, any blocking C call) runs on a separate pool of OS threads while the calling fiber
// parks.
//
// Algorithm: one FIFO of jobs under a pthread mutex (these are plain OS threads, never
// fibers, so a pthread lock and condition are right here; no fiber ever holds them across a
// park). `submit` appends a job and signals the condition; when no thread is idle and fewer
// than `limit` exist, it starts one (grows on demand). A thread idle for `idleTimeout`
// exits (shrinks when idle). Each job completes an `Event` that its fiber waits on.
// - B1: a job runs exactly once, on a pool thread; its result is written before its event's
//   notify and read after the wait (Event E4).
// - B2: at most `limit` threads; jobs beyond wait in the queue, in order.
//
// | field                         | written by               | read by      |
// |-------------------------------|--------------------------|--------------|
// | jobs, threads, idle, stopped  | under `mutex`            | under `mutex`|

final class BlockingPool: @unchecked Sendable {
  // SAFETY: every mutable field is guarded by `mutex` (table above).
  static let shared = BlockingPool(limit: BlockingPool.limitFromEnvironment(), idleTimeoutSeconds: 10)

  private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
  private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
  private var jobs: [() -> Void] = []
  private var head = 0
  private(set) var threads = 0
  private var idle = 0
  let limit: Int
  let idleTimeoutSeconds: Int

  init(limit: Int, idleTimeoutSeconds: Int) {
    self.limit = max(1, limit)
    self.idleTimeoutSeconds = idleTimeoutSeconds
    pthread_mutex_init(mutex, nil)
    var attr = pthread_condattr_t()
    pthread_condattr_init(&attr)
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC)
    pthread_cond_init(condition, &attr)
    pthread_condattr_destroy(&attr)
  }

  static func limitFromEnvironment() -> Int {
    if let e = getenv("WEFT_BLOCKING_THREADS"), let n = Int(String(cString: e)), n > 0 { return n }
    return 64
  }

  /// Threads now in the pool (for tests).
  var threadCount: Int {
    pthread_mutex_lock(mutex)
    defer { pthread_mutex_unlock(mutex) }
    return threads
  }

  func submit(_ job: @escaping () -> Void) {
    pthread_mutex_lock(mutex)
    jobs.append(job)
    var start = false
    if idle == 0 && threads < limit {
      threads += 1
      start = true
    }
    pthread_cond_signal(condition)
    pthread_mutex_unlock(mutex)
    if start { startThread() }
  }

  private func startThread() {
    var t = pthread_t()
    let box = Unmanaged.passRetained(self).toOpaque()
    var attr = pthread_attr_t()
    pthread_attr_init(&attr)
    pthread_attr_setdetachstate(&attr, Int32(PTHREAD_CREATE_DETACHED))
    let rc = pthread_create(&t, &attr, { arg in
      let pool = Unmanaged<BlockingPool>.fromOpaque(arg!).takeRetainedValue()
      pool.threadLoop()
      return nil
    }, box)
    pthread_attr_destroy(&attr)
    if rc != 0 {
      Unmanaged<BlockingPool>.fromOpaque(box).release()
      pthread_mutex_lock(mutex)
      threads -= 1
      let stranded = threads == 0 && head < jobs.count
      pthread_mutex_unlock(mutex)
      // No thread could start and none runs: run the queue here rather than lose a job (B1).
      if stranded { drainInline() }
    }
  }

  private func drainInline() {
    while let job = nextJob(wait: false) { job() }
  }

  private func nextJob(wait: Bool) -> (() -> Void)? {
    pthread_mutex_lock(mutex)
    defer { pthread_mutex_unlock(mutex) }
    while head >= jobs.count {
      if !wait { return nil }
      idle += 1
      var ts = timespec()
      clock_gettime(CLOCK_MONOTONIC, &ts)
      ts.tv_sec += idleTimeoutSeconds
      let rc = pthread_cond_timedwait(condition, mutex, &ts)
      idle -= 1
      if rc == ETIMEDOUT && head >= jobs.count {
        threads -= 1  // shrinks when idle
        return nil
      }
    }
    let job = jobs[head]
    head += 1
    if head > 64 && head * 2 > jobs.count {
      jobs.removeFirst(head)
      head = 0
    }
    return job
  }

  private func threadLoop() {
    while let job = nextJob(wait: true) { job() }
  }
}

/// A job's outcome, written by the pool thread before its event's notify (B1).
private final class BlockingResult<R>: @unchecked Sendable {
  // SAFETY: written once by the pool thread before `done.notify()`, read after `done.wait()`.
  var value: Result<R, any Error>? = nil
  let done = Event()
}

/// Runs `body` on Weft's blocking pool (Tokio's `spawn_blocking`) and returns its result,
/// parking the calling fiber meanwhile: its worker runs other fibers.
///
/// - **Triggering:** one-shot: returns when `body` has returned or thrown.
/// - **Memory ordering:** what `body` did is visible after `blocking` returns, and what the
///   caller did before is visible to `body` (the pool's lock and the completion event).
/// - **Blocks:** the calling fiber (never its worker). Called from a thread that is not a
///   Weft worker, `body` simply runs on that thread.
/// - **Errors:** rethrows `body`'s error. If the waiting fiber is interrupted or cancelled it
///   throws that error at once; `body` still runs to its end and its result is dropped.
/// - **Julia:** no direct equivalent (Julia's libuv threadpool runs its own file I/O and
///   getaddrinfo); Tokio's `spawn_blocking`. At most `WEFT_BLOCKING_THREADS` (64) threads,
///   started on demand, each leaving after 10 s idle.
public func blocking<R>(_ body: @escaping @Sendable () throws -> R) throws -> R {
  if Worker.current == nil { return try body() }
  let box = BlockingResult<R>()
  BlockingPool.shared.submit {
    let r: Result<R, any Error>
    do { r = .success(try body()) } catch { r = .failure(error) }
    box.value = r
    box.done.notify()
  }
  try box.done.wait()
  return try box.value.unsafelyUnwrapped.get()
}

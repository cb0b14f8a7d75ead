// Semaphore: Julia's counting `Semaphore(n)` (base/lock.jl).
//
// Algorithm: one atomic word holds the permits in use (low bits) and a WAITERS bit; a
// `WaitQueue` holds blocked acquirers. Fast paths are one CAS each: acquire increments while
// fewer than `size` are in use; release decrements while no one waits. When the semaphore is
// full an acquirer takes the queue lock, sets WAITERS and parks. A release that sees WAITERS
// hands its permit directly to the first waiter (the count stays the same) and clears WAITERS
// with the last waiter: FIFO, and no barging past waiters.
//
// Invariants:
// - S1: WAITERS is set and cleared only under the queue lock; under that lock it is set ⇔ the
//   queue is not empty (set right before the first waiter registers, cleared when the last one
//   leaves). A release that saw WAITERS without the lock re-checks it under the lock: another
//   release may have handed the last waiter its permit in between.
// - S2: WAITERS is set only while all `size` permits are in use, and while it is set the count
//   does not change: acquirers see no free permit, and releasers take the queue lock and hand
//   their permit over instead of decrementing. So a waiter that saw "full" under the queue
//   lock is registered before any release can look at the queue: no lost wake-up.
// - S3: the count never goes below 0: a release that finds 0 permits in use is misuse.
// - S4: ordering: acquire CAS pairs with the releaser's release CAS; a hand-off passes
//   ordering through the queue lock and the wake.
//
// | field (word)  | written by                                   | read by                |
// |---------------|----------------------------------------------|------------------------|
// | state (0)     | acquire/release (CAS), waiters bit under lock | everyone (atomic)      |
// | waiters       | queue-lock holders                           | queue-lock holders     |

/// Julia's `Semaphore`: at most `size` permits in use at once.
///
/// - **Triggering:** a counter: `acquire()` takes a permit, waiting while all `size` are in
///   use; `release()` returns one. Waiters are served first-in-first-out.
/// - **Memory ordering:** acquire on `acquire()`, release on `release()`.
/// - **Blocks:** `acquire()` parks the calling fiber (never its worker) or, off the workers,
///   the calling thread.
/// - **Errors:** `acquire` throws `TimeoutError` or an interruption's error (holding no permit);
///   `acquire { }` releases when its body returns or throws. `release()` with no
///   permit in use, and a size below 1, stop the program with a `Weft misuse:` message.
/// - **Julia:** `Semaphore(n)`, `acquire`, `release`, `acquire(f, s)` as `acquire { }`.
///   Permits are not owned: any fiber may release a permit another acquired, as in Julia.
public final class Semaphore: @unchecked Sendable {
  // SAFETY (for @unchecked Sendable): the state word is atomic; the list and the WAITERS bit
  // are changed only under the queue lock (S1).
  // S1: a waiter that leaves by interruption or timeout clears WAITERS when it was the last.
  let queue = WaitQueue(stateWords: 1, afterUnlink: { q in
    if q.isEmpty, q.stateWord(0).loadRelaxed() & Semaphore.waitersBit != 0 {
      q.stateWord(0).fetchSubFull(Semaphore.waitersBit)
    }
  })
  @inline(__always) private var state: AtomicWord { queue.stateWord(0) }
  /// How many permits the semaphore has (Julia's `sem_size`).
  public let size: Int

  static let waitersBit: UInt = 1 << 62

  /// Creates a semaphore with `size` permits, none in use.
  /// - Precondition: `size` ≥ 1.
  public init(_ size: Int) {
    precondition(size >= 1, "Weft misuse: Semaphore size must be ≥ 1 (got \(size))")
    self.size = size
  }

  /// Permits in use now (a snapshot).
  public var inUse: Int { Int(state.loadAcquire() & ~Semaphore.waitersBit) }

  /// Julia's `acquire(s)`: takes a permit, waiting until one is free.
  /// - Parameter timeout: give up after this long (nil: wait for ever).
  /// - Throws: `TimeoutError`; the error of an interruption (`schedule(_:error:)`), or
  ///   `CancellationError` after `cancel()`. A wait that throws holds no permit.
  @inline(__always)
  public func acquire(timeout: Duration? = nil) throws {
    if let timeout { try checkTimeout(timeout, "Semaphore.acquire") }
    let s = state.loadRelaxed()
    // Acquire: pairs with the release CAS in `release` (S4).
    if s < UInt(size), state.compareExchangeAcquire(s, s + 1) { return }
    try acquireSlow(timeout)
  }

  /// Julia's `acquire(f, s)`: runs `body` holding a permit; releases it when `body` returns
  /// or throws.
  /// - Throws: what `acquire(timeout:)` throws (then `body` does not run), or what `body` throws.
  @discardableResult
  public func acquire<R>(timeout: Duration? = nil, _ body: () throws -> R) throws -> R {
    try acquire(timeout: timeout)
    defer { release() }
    return try body()
  }

  /// Julia's `release(s)`: returns a permit, letting the first waiter (if any) take it.
  /// - Precondition: a permit is in use.
  public func release() {
    while true {
      var s = state.loadRelaxed()
      while s & Semaphore.waitersBit == 0 {
        if s == 0 { releaseMisuse() }  // S3
        // Release: pairs with the acquire CAS in `acquire` (S4).
        let seen = state.fetchCompareExchangeFull(s, s - 1)
        if seen == s { return }
        s = seen
      }
      if releaseSlow() { return }
    }
  }

  // MARK: Slow paths

  @inline(never)
  private func acquireSlow(_ timeout: Duration?) throws {
    let me = AnyFiber.currentContext
    let due = timeout.map(deadline(after:))
    while true {
      let s = state.loadRelaxed()
      if s & ~Semaphore.waitersBit < UInt(size) {
        if state.compareExchangeAcquire(s, s + 1) { return }
        continue
      }
      queue.lock()
      let t = state.loadRelaxed()
      if t & ~Semaphore.waitersBit < UInt(size) { queue.unlock(); continue }  // a permit came free
      if t & Semaphore.waitersBit == 0 {
        // S1, S2: the count cannot change while we hold the queue lock and it is full, except
        // by a lock-free release racing this CAS; then retry.
        if !state.compareExchangeFull(t, t | Semaphore.waitersBit) { queue.unlock(); continue }
      }
      if let i = queue.parkUnlocking(me, reason: "Semaphore.acquire", deadline: due) {
        throw i.error("Semaphore.acquire", timeout: timeout)  // unlinked without a permit (S1 via afterUnlink)
      }
      return  // the releaser handed us its permit (S2)
    }
  }

  /// Hands our permit to the first waiter; false when the last waiter left between our read of
  /// WAITERS and taking the queue lock (then the caller retries the lock-free path).
  @inline(never)
  private func releaseSlow() -> Bool {
    queue.lock()
    // S1: re-check under the queue lock; WAITERS may have been cleared by another release.
    if state.loadRelaxed() & Semaphore.waitersBit == 0 {
      queue.unlock()
      return false
    }
    // S1, S2: WAITERS is set, so the queue is not empty and the count is stable.
    guard let next = queue.dequeue() else {
      fatalError("BUG IN Weft: Semaphore WAITERS bit set with an empty queue (state \(state.loadRelaxed()))")
    }
    if queue.isEmpty {
      state.fetchSubFull(Semaphore.waitersBit)  // S1: the last waiter leaves
    }
    queue.unlock()
    next.wake()  // hand-off: `next` holds the permit we released (S4: ordered by the wake)
    return true
  }

  @inline(never)
  private func releaseMisuse() -> Never {
    preconditionFailure("Weft misuse: Semaphore.release() with no permit in use; each release() must match an acquire()")
  }
}

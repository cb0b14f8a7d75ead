// A fiber running async code: `try awaitAsync { try await … }`.
//
// Algorithm: the call starts a Swift task (preferring the calling fiber's scheduler as its
// `TaskExecutor`, so the async code runs on Weft's workers between fibers) and parks the
// calling fiber — not its worker — in an ordinary interruptible wait whose site is the
// call's `AsyncCall` box. The task stores its outcome in the box and wakes the fiber.
//
// Invariants:
// - B1: `outcome` and `waiter` are read and written only under the box's lock. The task sets
//   `outcome` and takes `waiter` in one hold, so either the fiber sees the outcome before it
//   registers (and does not park) or the task finds it registered and wakes it (WaitQueue Q2).
// - B2: whoever takes `waiter` out — the finishing task or an interrupter through `tryUnlink`
//   (cancel, `schedule(_:error:)`, the timeout) — is the one that wakes the fiber, once.
// - B3 (cancellation, the other direction): a wait that ended by interruption cancels the
//   Swift task (`Task.cancel()`, after the fiber is off the lock) and throws at once; the
//   task goes on until it notices, and its outcome is dropped.
// - B4: the box's lock is never held while calling out (task cancel, wake).
//
// | field   | written by                          | read by                      |
// |---------|-------------------------------------|------------------------------|
// | outcome | the task (under lock, once)         | the fiber after its wait     |
// | waiter  | the fiber (register), task/unlinker | the same, under lock         |

/// The meeting point of one `awaitAsync` call: the fiber waits here, the task finishes here.
final class AsyncCall<T>: WaitSite, @unchecked Sendable {
  // SAFETY: `outcome` and `waiter` are guarded by the lock (B1).
  private let words = AtomicBlock(count: 1)
  private var lock: FutexLock { FutexLock(words[0]) }
  private var outcome: Swift.Result<T, any Error>?
  private var waiter: AnyFiber?

  deinit { words.deallocate() }

  /// The task's end (B1, B2).
  func finish(_ result: Swift.Result<T, any Error>) {
    lock.lock()
    outcome = result
    let w = waiter.take()
    lock.unlock()
    w?.wake()  // B4
  }

  /// Parks `me` until `finish` or an interrupter (B1); returns why it was interrupted.
  func wait(_ me: AnyFiber, deadline: UInt64?, interruptible: Bool = true) -> WaitInterruption? {
    var record = WaitRecord(site: self, what: "awaitAsync", interruptible: interruptible)
    return withUnsafeMutablePointer(to: &record) { r -> WaitInterruption? in
      lock.lock()
      if outcome != nil { lock.unlock(); return nil }
      if let d = deadline, d <= monotonicNanoseconds() { lock.unlock(); return .timedOut }
      switch me.beginWait(r) {
      case .registered: break
      case .interrupted(let i): lock.unlock(); return i
      case .scheduled: preconditionFailure("BUG IN Weft: awaitAsync took a bare wait()'s schedule")
      }
      waiter = me
      lock.unlock()
      me.parkWaiting(r, deadline: deadline)
      return me.endWait(r)
    }
  }

  /// The outcome, once `wait` returned nil (B1).
  func takeOutcome() -> Swift.Result<T, any Error> {
    lock.lock()
    defer { lock.unlock() }
    guard let o = outcome.take() else { preconditionFailure("BUG IN Weft: awaitAsync woke without an outcome") }
    return o
  }

  /// B2: an interrupter takes the waiting fiber out (WaitSite; never blocks, R3).
  func tryUnlink(_ fiber: AnyFiber, _ r: UnsafeMutablePointer<WaitRecord>, _ reason: WaitInterruption) -> UnlinkOutcome {
    guard lock.tryLock() else { return .busy }
    defer { lock.unlock() }
    guard waiter === fiber else { return .notWaiting }
    waiter = nil
    r.pointee.interruption = reason  // R4
    return .unlinked
  }
}

/// Runs async code from a fiber: starts a Swift task running `body`, parks the calling fiber
/// (its worker runs other fibers and jobs meanwhile) until the task finishes, and returns its
/// value or rethrows its error.
///
/// - **Where it runs**: the task prefers the calling fiber's scheduler as its `TaskExecutor`
///   (`executor: nil`), so its jobs run on Weft's default-pool workers; pass another executor
///   (e.g. `globalConcurrentExecutor`) to run it there. It is an unstructured task with no
///   actor isolation.
/// - **Task-locals**: Weft's task-local storage (`withTaskLocal`, `taskLocalValue`) belongs
///   to the fiber and is not visible in `body`. Swift `@TaskLocal` values are copied into the
///   task as by any `Task { }` (from a fiber that is the runtime's per-thread fallback, which
///   a fiber never should bind across a wait: it would stay on the worker thread).
/// - **Interruption, cancellation, timeouts**: like every Weft wait: `cancel()` of the fiber
///   or `schedule(_:error:)` ends it at once (throws `CancellationError` / that error), and
///   `timeout:` throws `TimeoutError`; in each case the Swift task is cancelled, left to end
///   on its own, and its result dropped. Cancelling the task from inside (`withUnsafeCurrentTask`)
///   makes `body` see it, as usual.
/// - **From other threads**: a thread that is not a Weft worker blocks until the task ends.
/// - **Julia**: none (Julia has no async/await); Swift's `Task { }` + `await task.value`.
public func awaitAsync<T: Sendable>(executor: (any TaskExecutor)? = nil, timeout: Duration? = nil,
                          _ body: sending @escaping @isolated(any) () async throws -> T) throws -> T {
  try checkTimeout(timeout, "awaitAsync")
  let me = AnyFiber.currentContext
  let call = AsyncCall<T>()
  let preferred: any TaskExecutor = executor ?? Scheduler.current
  let task = Task(executorPreference: preferred) {
    do { call.finish(.success(try await body())) } catch { call.finish(.failure(error)) }
  }
  AsyncCallCount.begin()
  defer { AsyncCallCount.end() }
  if let i = call.wait(me, deadline: timeout.map(deadline(after:))) {
    task.cancel()  // B3
    throw i.error("awaitAsync", timeout: timeout)
  }
  return try call.takeOutcome().get()
}

/// `awaitAsync` that no interruption ends: a cancellation stays pending (sticky) for the
/// fiber's next interruptible wait, and the call returns only when `body` has;
/// `schedule(_:error:)` of a fiber blocked here is misuse, as for `ReentrantLock.lock()`. For WeftDistributed's consuming remote operations (a channel `take` that was
/// cancelled after its owner had taken the item must still return that item: nothing lost).
@_spi(WeftDistributed)
public func awaitAsyncUninterruptibly<T: Sendable>(_ body: sending @escaping @isolated(any) () async -> T) -> T {
  let me = AnyFiber.currentContext
  let call = AsyncCall<T>()
  let task = Task(executorPreference: Scheduler.current) { call.finish(.success(await body())) }
  AsyncCallCount.begin()
  defer { AsyncCallCount.end() }
  if call.wait(me, deadline: nil, interruptible: false) != nil {
    preconditionFailure("BUG IN Weft: an uninterruptible awaitAsync was interrupted")
  }
  _ = task
  do { return try call.takeOutcome().get() } catch { preconditionFailure("BUG IN Weft: a non-throwing body failed") }
}

/// `awaitAsync` calls in progress, process-wide: while any is, the deadlock report stays
/// quiet (a fiber waiting for a Swift task is not deadlocked; Weft cannot see the task run).
enum AsyncCallCount {
  // SAFETY: a process-wide block, never freed; only accessed atomically.
  private static let words = AtomicBlock(count: 1)
  // Relaxed: a statistic; the detector's checks tolerate a stale value for one interval.
  static func begin() { _ = words[0].fetchAddRelaxed(1) }
  static func end() { _ = words[0].fetchAddRelaxed(UInt.max) }  // wraps: minus one
  static var outstanding: Int { Int(bitPattern: words[0].loadAcquire()) }
}

// A fiber running async code: `try awaitAsync { try await … }`.
//
// Algorithm: the call starts a Swift task (preferring the calling fiber's scheduler as its
// `TaskExecutor`, so the async code runs on Weft's workers between fibers) and parks the
// calling fiber — not its worker — in an ordinary interruptible wait whose site is the
// call's `AsyncCall` box. The task stores its outcome in the box and wakes the fiber.
//
// Split for speed (B5): `awaitAsync` and the box's typed part (`AsyncCall<T>`, its outcome)
// are inlinable, so a caller's module specializes them for its `T`; everything else — the
// lock, the waiter, the wait itself — is the non-generic `AsyncCallSite`. Unspecialized,
// each call looked up the generic metadata of `AsyncCall<T>`, `Result<T, any Error>` and
// `Optional` of it eight times: 12,762 instructions per call then, 7,585 specialized
// (callgrind, Docs/Benchmarks.md, fiber core step 6a).
//
// Invariants:
// - B1: `done` and `waiter` are read and written only under the site's lock. The task sets
//   `done` and takes `waiter` in one hold, so either the fiber sees `done` before it
//   registers (and does not park) or the task finds it registered and wakes it (WaitQueue Q2).
//   The task writes `outcome` before that hold and the fiber reads it after its wait ended
//   with `done` seen: the lock (or the wake, F3) orders the write before the read.
// - B2: whoever takes `waiter` out — the finishing task or an interrupter through `tryUnlink`
//   (cancel, `schedule(_:error:)`, the timeout) — is the one that wakes the fiber, once.
// - B3 (cancellation, the other direction): a wait that ended by interruption cancels the
//   Swift task (`Task.cancel()`, after the fiber is off the lock) and throws at once; the
//   task goes on until it notices, and its outcome is dropped.
// - B4: the site's lock is never held while calling out (task cancel, wake).
//
// | field   | written by                          | read by                      |
// |---------|-------------------------------------|------------------------------|
// | outcome | the task (once, before `finish`)    | the fiber after its wait     |
// | done    | the task (under lock, once)         | the fiber (under lock)       |
// | waiter  | the fiber (register), task/unlinker | the same, under lock         |

/// The untyped meeting point of one `awaitAsync` call: the fiber waits here, the task
/// finishes here (B1, B2).
@usableFromInline
class AsyncCallSite: WaitSite, @unchecked Sendable {
  // SAFETY: `done` and `waiter` are guarded by the lock (B1).
  private let words = AtomicBlock(count: 1)
  private var lock: FutexLock { FutexLock(words[0]) }
  @exclusivity(unchecked) private var done = false  // B1: under the lock, no dynamic check
  @exclusivity(unchecked) private var waiter: AnyFiber?  // B1: likewise

  @usableFromInline init() {}

  deinit { words.deallocate() }

  /// The task's end, after it stored the outcome (B1, B2).
  @usableFromInline
  final func finish() {
    lock.lock()
    done = true
    let w = waiter.take()
    lock.unlock()
    w?.wake()  // B4
  }

  /// Parks the calling fiber until `finish`, or throws why the wait was interrupted after
  /// cancelling `task` (B3). `timeout` was checked by `checkAwaitTimeout`.
  @usableFromInline
  final func awaitFinish(_ task: Task<Void, Never>, timeout: Duration?, interruptible: Bool) throws {
    let me = AnyFiber.currentContext
    AsyncCallCount.begin()
    defer { AsyncCallCount.end() }
    let interruption = wait(me, deadline: timeout.map(deadline(after:)), interruptible: interruptible)
    // JobQueue J7: a task job left in the slot (this fiber did not park) must not wait for
    // this worker's next loop turn. A fiber that parked finds its slot empty.
    AsyncCallSite.releaseSlotIfNotParked()
    guard let i = interruption else { return }
    precondition(interruptible, "BUG IN Weft: an uninterruptible awaitAsync was interrupted")
    task.cancel()  // B3
    throw i.error("awaitAsync", timeout: timeout)
  }

  /// Parks `me` until `finish` or an interrupter (B1); returns why it was interrupted.
  private func wait(_ me: AnyFiber, deadline: UInt64?, interruptible: Bool) -> WaitInterruption? {
    var record = WaitRecord(site: self, what: "awaitAsync", interruptible: interruptible)
    return withUnsafeMutablePointer(to: &record) { r -> WaitInterruption? in
      lock.lock()
      if done { lock.unlock(); return nil }
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

  /// B2: an interrupter takes the waiting fiber out (WaitSite; never blocks, R3).
  @usableFromInline
  final func tryUnlink(_ fiber: AnyFiber, _ r: UnsafeMutablePointer<WaitRecord>, _ reason: WaitInterruption) -> UnlinkOutcome {
    guard lock.tryLock() else { return .busy }
    defer { lock.unlock() }
    guard waiter === fiber else { return .notWaiting }
    waiter = nil
    r.pointee.interruption = reason  // R4
    return .unlinked
  }

  /// Rejects a negative timeout before any task starts.
  @usableFromInline
  static func checkAwaitTimeout(_ timeout: Duration?) throws { try checkTimeout(timeout, "awaitAsync") }

  /// Where the call's task runs: `executor`, else the calling fiber's scheduler.
  @usableFromInline
  static func preferred(_ executor: (any TaskExecutor)?) -> any TaskExecutor { executor ?? Scheduler.current }

  /// Around the start of the call's task: on a worker, the task's first job waits in the
  /// worker's job slot for the fiber to park (JobQueue J7). The fiber does not switch in
  /// between, so both calls run on the same worker.
  @usableFromInline
  static func beginStartingTask() { setStartingTask(true) }

  @usableFromInline
  static func endStartingTask() { setStartingTask(false) }

  /// Borrowed from the thread's slot, uncounted: this runs twice per call.
  @inline(__always)
  private static func setStartingTask(_ on: Bool) {
    guard ThreadLocal.fiber != nil, let raw = ThreadLocal.worker else { return }
    Unmanaged<Worker>.fromOpaque(raw)._withUnsafeGuaranteedRef { w in if w.runsJobs { w.ownJobs.pointee.startingTask = on } }
  }

  /// J7: a task job still in this worker's slot (the fiber did not park) goes where other
  /// workers see it before the fiber goes on. A fiber that parked finds the slot empty.
  private static func releaseSlotIfNotParked() {
    guard let raw = ThreadLocal.worker else { return }
    Unmanaged<Worker>.fromOpaque(raw)._withUnsafeGuaranteedRef { w in
      if w.ownJobs.pointee.hasWork { w.scheduler.jobs.releaseSlot(w) }
    }
  }
}

/// The typed part of one `awaitAsync` call: the task's outcome (B1, B5).
@usableFromInline
final class AsyncCall<T>: AsyncCallSite, @unchecked Sendable {
  // SAFETY: written once by the task before `finish`, read by the fiber after (B1).
  @exclusivity(unchecked) @usableFromInline var outcome: Swift.Result<T, any Error>?

  @inlinable override init() { super.init() }

  /// The outcome, once `awaitFinish` returned (B1).
  @inlinable
  func takeOutcome() -> Swift.Result<T, any Error> {
    guard let o = outcome.take() else { preconditionFailure("BUG IN Weft: awaitAsync woke without an outcome") }
    return o
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
@inlinable
public func awaitAsync<T: Sendable>(executor: (any TaskExecutor)? = nil, timeout: Duration? = nil,
                          _ body: sending @escaping @isolated(any) () async throws -> T) throws -> T {
  try AsyncCallSite.checkAwaitTimeout(timeout)
  let call = AsyncCall<T>()
  AsyncCallSite.beginStartingTask()
  let task = Task(executorPreference: AsyncCallSite.preferred(executor)) {
    do { call.outcome = .success(try await body()) } catch { call.outcome = .failure(error) }
    call.finish()
  }
  AsyncCallSite.endStartingTask()
  try call.awaitFinish(task, timeout: timeout, interruptible: true)
  return try call.takeOutcome().get()
}

/// `awaitAsync` that no interruption ends: a cancellation stays pending (sticky) for the
/// fiber's next interruptible wait, and the call returns only when `body` has;
/// `schedule(_:error:)` of a fiber blocked here is misuse, as for `ReentrantLock.lock()`. For WeftDistributed's consuming remote operations (a channel `take` that was
/// cancelled after its owner had taken the item must still return that item: nothing lost).
@_spi(WeftDistributed)
public func awaitAsyncUninterruptibly<T: Sendable>(_ body: sending @escaping @isolated(any) () async -> T) -> T {
  let call = AsyncCall<T>()
  AsyncCallSite.beginStartingTask()
  let task = Task(executorPreference: AsyncCallSite.preferred(nil)) {
    call.outcome = .success(await body())
    call.finish()
  }
  AsyncCallSite.endStartingTask()
  do { try call.awaitFinish(task, timeout: nil, interruptible: false) } catch {
    preconditionFailure("BUG IN Weft: an uninterruptible awaitAsync was interrupted")
  }
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

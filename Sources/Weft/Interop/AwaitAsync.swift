// A fiber running async code: `try awaitAsync { try await … }`.
//
// Algorithm: the call starts a Swift task (preferring the calling fiber's scheduler as its
// `TaskExecutor`, so the async code runs on Weft's workers between fibers) and parks the
// calling fiber — not its worker — in an ordinary interruptible wait whose site is the
// call's `AsyncCallSite`. The task stores its outcome (B6) and wakes the fiber.
//
// Split for speed (B5): `awaitAsync` is inlinable, so a caller's module specializes it for
// its `T`; everything else — the lock, the waiter, the wait itself — is the non-generic
// `AsyncCallSite`. Unspecialized, each call looked up the generic metadata of the box,
// `Result<T, any Error>` and `Optional` of it eight times: 12,762 instructions per call then,
// 7,585 specialized (callgrind, Docs/Benchmarks.md, fiber core step 6a).
// - B6: the typed outcome lives in `awaitAsync`'s frame, on the waiting fiber's stack; the
//   task writes it there under the site's lock (`finish`) unless the wait ended by
//   interruption first (`abandoned`, set under the lock by every path that ends the wait
//   without `done`: then the frame may be gone, and the task drops the outcome). A generic
//   box class held it before: a class's deinit is not specialized, and `AsyncCall<T>`'s
//   looked up the metadata of `Result<T, any Error>` in the runtime's cache at every call
//   (~560 instructions), besides the box's allocation.
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
// | outcome | the task (in `finish`, under lock)  | the fiber after its wait (B6) |
// | done    | the task (under lock, once)         | the fiber (under lock)       |
// | waiter  | the fiber (register), task/unlinker | the same, under lock         |

/// The untyped meeting point of one `awaitAsync` call: the fiber waits here, the task
/// finishes here (B1, B2).
@usableFromInline
final class AsyncCallSite: WaitSite, @unchecked Sendable {
  // SAFETY: `done` and `waiter` are guarded by the lock (B1).
  private let words = AtomicBlock(count: 1)
  private var lock: FutexLock { FutexLock(words[0]) }
  @exclusivity(unchecked) private var done = false  // B1: under the lock, no dynamic check
  @exclusivity(unchecked) private var waiter: AnyFiber?  // B1: likewise
  /// B6: the fiber's wait ended by interruption: its frame, and the outcome's slot in it, may
  /// be gone. Under the lock.
  @exclusivity(unchecked) private var abandoned = false

  @usableFromInline init() {}

  deinit { words.deallocate() }

  /// The task's end (B1, B2, B6): `store` writes the outcome into the fiber's frame, unless
  /// the fiber's wait was interrupted (then the caller drops it).
  @usableFromInline
  func finish(_ store: () -> Void) {
    lock.lock()
    if abandoned {
      lock.unlock()
      return
    }
    store()  // B6: a plain store into the waiting fiber's frame, not a call-out (B4)
    done = true
    let w = waiter.take()
    lock.unlock()
    w?.wake()  // B4
  }

  /// Parks the calling fiber until `finish`, or throws why the wait was interrupted after
  /// cancelling `task` (B3). `timeout` was checked by `checkAwaitTimeout`.
  @usableFromInline
  func awaitFinish(_ task: Task<Void, Never>, timeout: Duration?, interruptible: Bool) throws {
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
      if let d = deadline, d <= monotonicNanoseconds() { return abandon(.timedOut) }
      switch me.beginWait(r) {
      case .registered: break
      case .interrupted(let i): return abandon(i)
      case .scheduled: preconditionFailure("BUG IN Weft: awaitAsync took a bare wait()'s schedule")
      }
      waiter = me
      lock.unlock()
      me.parkWaiting(r, deadline: deadline)
      return me.endWait(r)
    }
  }

  /// B6: the wait ends without the outcome; called with the lock held, releases it.
  private func abandon(_ why: WaitInterruption) -> WaitInterruption {
    abandoned = true
    lock.unlock()
    return why
  }

  /// B2: an interrupter takes the waiting fiber out (WaitSite; never blocks, R3), and with it
  /// the task's right to write the outcome (B6).
  @usableFromInline
  func tryUnlink(_ fiber: AnyFiber, _ r: UnsafeMutablePointer<WaitRecord>, _ reason: WaitInterruption) -> UnlinkOutcome {
    guard lock.tryLock() else { return .busy }
    defer { lock.unlock() }
    guard waiter === fiber else { return .notWaiting }
    waiter = nil
    abandoned = true  // B6
    r.pointee.interruption = reason  // R4
    return .unlinked
  }

  /// The task's outcome, once `awaitFinish` returned (B1).
  @inlinable
  static func taken<T>(_ slot: UnsafeMutablePointer<Swift.Result<T, any Error>?>) -> Swift.Result<T, any Error> {
    guard let o = slot.pointee.take() else { preconditionFailure("BUG IN Weft: awaitAsync woke without an outcome") }
    return o
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
  let call = AsyncCallSite()
  var outcome: Swift.Result<T, any Error>? = nil  // B6: in this frame, written by the task
  // `body` was sent here, and goes on to the task only: the closure below does not use it.
  nonisolated(unsafe) let body = body
  return try withUnsafeMutablePointer(to: &outcome) { slot in
    let target = AsyncOutcomeSlot(slot)
    AsyncCallSite.beginStartingTask()
    let task = Task(executorPreference: AsyncCallSite.preferred(executor)) {
      let result: Swift.Result<T, any Error>
      do { result = .success(try await body()) } catch { result = .failure(error) }
      call.finish { target.pointer.pointee = result }
    }
    AsyncCallSite.endStartingTask()
    try call.awaitFinish(task, timeout: timeout, interruptible: true)
    return try AsyncCallSite.taken(slot).get()
  }
}

/// `awaitAsync` that no interruption ends: a cancellation stays pending (sticky) for the
/// fiber's next interruptible wait, and the call returns only when `body` has;
/// `schedule(_:error:)` of a fiber blocked here is misuse, as for `ReentrantLock.lock()`. For WeftDistributed's consuming remote operations (a channel `take` that was
/// cancelled after its owner had taken the item must still return that item: nothing lost).
@_spi(WeftDistributed)
public func awaitAsyncUninterruptibly<T: Sendable>(_ body: sending @escaping @isolated(any) () async -> T) -> T {
  let call = AsyncCallSite()
  var outcome: Swift.Result<T, any Error>? = nil  // B6
  nonisolated(unsafe) let body = body  // sent on to the task only, as in `awaitAsync`
  return withUnsafeMutablePointer(to: &outcome) { slot in
    let target = AsyncOutcomeSlot(slot)
    AsyncCallSite.beginStartingTask()
    let task = Task(executorPreference: AsyncCallSite.preferred(nil)) {
      let result: Swift.Result<T, any Error> = .success(await body())
      call.finish { target.pointer.pointee = result }
    }
    AsyncCallSite.endStartingTask()
    do { try call.awaitFinish(task, timeout: nil, interruptible: false) } catch {
      preconditionFailure("BUG IN Weft: an uninterruptible awaitAsync was interrupted")
    }
    do { return try AsyncCallSite.taken(slot).get() } catch { preconditionFailure("BUG IN Weft: a non-throwing body failed") }
  }
}

/// B6: where the task writes the outcome: a slot in the waiting fiber's frame.
@usableFromInline
struct AsyncOutcomeSlot<T>: @unchecked Sendable {
  // SAFETY: written only by `AsyncCallSite.finish`'s store, under the site's lock, while the
  // fiber still waits (B6); read by the fiber after its wait saw `done`.
  @usableFromInline let pointer: UnsafeMutablePointer<Swift.Result<T, any Error>?>
  @inlinable init(_ pointer: UnsafeMutablePointer<Swift.Result<T, any Error>?>) { self.pointer = pointer }
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

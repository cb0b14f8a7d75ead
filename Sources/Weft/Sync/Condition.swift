// Condition: Julia's edge-triggered, single-thread `Condition` (GenericCondition{AlwaysLockedST}).
//
// Algorithm: a `WaitQueue`; `wait` registers the caller and parks, `notify` removes one or all
// waiters under the queue lock and wakes them after it, handing each the value or error.
//
// Thread binding (Julia's AlwaysLockedST ownership check, decided for Weft): a `Condition`
// belongs to the OS thread of its first `wait` or `notify` — a worker, or a non-worker
// thread. Every later use must come from that same thread: fibers that run on that worker
// (sticky fibers pinned there, or any fiber while it runs there) or that thread itself. Such
// users never run in parallel, which is what makes "check a predicate, then wait" atomic with
// respect to notifiers. Any other thread is a `Weft misuse:` precondition failure. (Julia binds
// at construction to the creating thread; Weft binds at first use because conditions are
// often created on a non-worker thread and then handed to fibers.)
//
// Invariants:
// - C1: `binding` goes from 0 to the key of one thread exactly once (CAS) and never changes.
// - C2: a thread compares `binding` with its own key; only that thread can have written its
//   key, so a relaxed load suffices.
// - C3: the waiter list is touched under the queue lock (WaitQueue Q1), even though after C1
//   all users share one thread: cheap, and robust while a misuse is being reported.
//
// | field (word)   | written by                     | read by                   |
// |----------------|--------------------------------|---------------------------|
// | binding (0)    | first user (CAS)               | every user (relaxed)      |
// | boundWorker (1)| first user, after its CAS      | misuse messages           |
// | waiters        | queue-lock holders (Q1)        | queue-lock holders        |

/// Julia's `Condition`: an edge-triggered event source that fibers of one worker wait on.
///
/// - **Triggering:** edge: `notify` wakes only fibers waiting at that moment; a `notify` with
///   no waiters is lost (keep your own state and wait in a loop; `Event` and `Channel` are
///   level-triggered).
/// - **Memory ordering:** none beyond program order: all users run on one thread.
/// - **Blocks:** `wait()` parks the calling fiber (its worker runs other fibers), or the calling
///   thread if that thread is not a worker.
/// - **Errors:** `notify(error:)` makes each woken `wait()` throw that error. Use from a second
///   thread (see the file comment: bound to the worker or thread of its first use) stops the
///   program with a `Weft misuse:` message. Not thread-safe: use `Threads.Condition` to
///   coordinate fibers on several workers.
/// - **Julia:** `Condition`, `wait(c; first)`, `notify(c, val; all, error)`. Difference: bound
///   to the thread of its first use rather than of its construction.
public final class Condition: @unchecked Sendable {
  // SAFETY (for @unchecked Sendable): users are confined to one thread by C1/C2 (checked on
  // every call); the list is also guarded by the queue lock (C3).
  let queue = WaitQueue(stateWords: 2)
  @inline(__always) private var binding: AtomicWord { queue.stateWord(0) }
  @inline(__always) private var boundWorker: AtomicWord { queue.stateWord(1) }

  /// Creates a condition with no waiters, not yet bound to a thread.
  public init() {}

  /// Julia's `wait(c)`: blocks the calling fiber until a `notify` on this condition, and
  /// returns the value passed to it (nil for none).
  /// - Parameters:
  ///   - first: true (Julia's `first=true`): wake this waiter before those already waiting,
  ///     instead of first-in-first-out.
  ///   - timeout: give up after this long (nil: wait for ever).
  /// - Throws: the error passed to `notify(error:)`; `TimeoutError`; the error of an
  ///   interruption (`schedule(_:error:)`), or `CancellationError` after `cancel()` — the
  ///   waiter is then no longer registered, and a later `notify` does not count it.
  @discardableResult
  public func wait(first: Bool = false, timeout: Duration? = nil) throws -> (any Sendable)? {
    checkThread("wait()")
    try checkTimeout(timeout, "Condition.wait")
    let me = AnyFiber.currentContext
    let due = timeout.map(deadline(after:))
    queue.lock()
    if let i = queue.parkUnlocking(me, first: first, reason: "Condition.wait", deadline: due) {
      throw i.error("Condition.wait", timeout: timeout)
    }
    return try me.takeWakeValue()
  }

  /// Julia's `notify(c, value; all)`: wakes all waiters (or, with `all: false`, the first),
  /// and their `wait()` returns `value`.
  /// - Returns: how many fibers were woken (0 when none waited: the notification is lost).
  @discardableResult
  public func notify(value: (any Sendable)? = nil, all: Bool = true) -> Int {
    checkThread("notify(value:all:)")
    return Condition.wake(queue, all: all, value: value, error: nil)
  }

  /// Julia's `notify(c, err; all, error=true)`: wakes all waiters (or the first), and their
  /// `wait()` throws `error`.
  /// - Returns: how many fibers were woken.
  @discardableResult
  public func notify(error: any Error, all: Bool = true) -> Int {
    checkThread("notify(error:all:)")
    return Condition.wake(queue, all: all, value: nil, error: error)
  }

  /// Julia's `isempty(c::Condition)`: whether no fiber waits on this condition (a snapshot).
  ///
  /// - **Stability:** among the users of the condition's thread (see the type) it stays true
  ///   until one of them calls `wait()`, and it never races them; it does not bind the
  ///   condition to a thread, and reading it from another thread only sees a passing state.
  /// - **Memory ordering:** read under the wait queue's lock; no ordering with the waiters'
  ///   other writes is implied.
  /// - **Blocks:** never (a short internal lock).
  public var isEmpty: Bool {
    queue.lock()
    defer { queue.unlock() }
    return queue.isEmpty
  }

  /// How many fibers wait now (for tests and dumps).
  var waiterCount: Int {
    queue.lock()
    defer { queue.unlock() }
    return queue.count
  }

  /// Decides under the queue lock, wakes after it (shared with Threads.Condition).
  static func wake(_ queue: WaitQueue, all: Bool, value: (any Sendable)?, error: (any Error)?) -> Int {
    queue.lock()
    var woken = all ? queue.dequeueAll() : queue.dequeue(upTo: 1)
    queue.unlock()
    let n = woken.count
    while let f = woken.popFirst() {
      // The fiber is ours alone now (Q2): hand it the payload, then wake it.
      f.with { if let error { $0.wakeError = error } else { $0.wakeValue = value } }
      f.wake()
    }
    return n
  }

  // MARK: Thread binding

  @inline(__always)
  private func checkThread(_ operation: StaticString) {
    let key = Condition.currentThreadKey()
    if binding.loadRelaxed() == key { return }  // C2
    bindOrFail(key, operation)
  }

  @inline(never)
  private func bindOrFail(_ key: UInt, _ operation: StaticString) {
    // C1: the first user binds the condition to its thread.
    if binding.compareExchangeFull(0, key) {
      boundWorker.storeRelease(UInt(Threads.threadid()))
      return
    }
    // Name both threads so that two non-worker threads read differently: a worker by its
    // number, any other thread by its thread fiber's id (the key's tag, see currentThreadKey).
    let bound = boundWorker.loadAcquire()
    let boundKey = binding.loadAcquire()
    let here = ThreadLocal.worker != nil ? AnyFiber.currentPlaceDescription
      : "a thread that is not a Weft worker (thread fiber \(key >> 1))"
    let owner = bound != 0 ? "worker \(bound)"
      : boundKey & 1 == 1 ? "another thread that is not a Weft worker (thread fiber \(boundKey >> 1))"
      : "another Weft worker"
    preconditionFailure("Weft misuse: Condition.\(operation) called on \(here), "
      + "but this Condition is used on \(owner); a Condition is not thread-safe: use it only from fibers "
      + "of one worker (spawn(sticky: true)), or use Threads.Condition")
  }

  /// The calling OS thread's identity: its worker's address, or its thread fiber's id
  /// shifted and tagged (addresses are even, so the two never collide).
  @inline(__always)
  static func currentThreadKey() -> UInt {
    if let w = ThreadLocal.worker { return UInt(bitPattern: w) }
    return UInt(AnyFiber.currentContext.id) << 1 | 1
  }
}

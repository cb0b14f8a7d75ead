// Threads.Condition: Julia's thread-safe condition (GenericCondition{ReentrantLock}).
//
// Algorithm: a `WaitQueue` plus a user-visible lock. `wait` requires the lock; it registers
// the caller in the queue *while still holding the lock*, then releases the lock completely
// (all recursion levels, Julia's `unlockall`), parks, and on waking re-acquires the lock and
// restores the recursion count (`relockall`). `notify` requires the lock too.
//
// Invariants:
// - TC1: a waiter is registered before it releases the lock, and a notifier holds the lock,
//   so a notify that follows a waiter's predicate check always finds the waiter registered:
//   the release is atomic with the registration; no lost wake-up.
// - TC2: the queue's own lock guards the list (WaitQueue Q1) even though users also hold the
//   user lock: a plain `AbstractLock` cannot say who holds it, so the list must not depend on
//   users obeying the rule.
// - TC3: the payload (`wakeValue`/`wakeError`) is written by the notifier after removing the
//   waiter and before waking it, and read by the waiter after it resumes (WaitQueue Q2).
//
// | field          | written by                         | read by                        |
// |----------------|------------------------------------|--------------------------------|
// | underlyingLock | init                               | everyone                       |
// | waiters        | queue-lock holders (TC2)           | queue-lock holders             |

extension Threads {
  /// Julia's `Threads.Condition`: a thread-safe condition paired with a lock.
  ///
  /// - **Triggering:** edge: `notify` wakes only fibers waiting at that moment; keep your own
  ///   state under the lock and wait in a loop (`lock(); while !ready { try wait() }; unlock()`).
  /// - **Memory ordering:** that of its lock (acquire on `lock`, release on `unlock`); `wait`
  ///   releases and re-acquires it.
  /// - **Blocks:** `wait()` parks the calling fiber (never its worker) or, off the workers, the
  ///   calling thread; re-acquiring the lock may park again.
  /// - **Errors:** `notify(error:)` makes each woken `wait()` throw (after re-acquiring the
  ///   lock). `wait` or `notify` without holding the lock stops the program with a
  ///   `Weft misuse:` message (checked per fiber for `ReentrantLock`; for other locks only
  ///   whether anyone holds it).
  /// - **Julia:** `Threads.Condition([lock])`, `wait`, `notify(c, val; all, error)`, and
  ///   `lock`/`unlock`/`trylock`/`islocked` on the condition itself. The lock is
  ///   `underlyingLock` (Julia's `c.lock`).
  public final class Condition: AbstractLock, @unchecked Sendable {
    // SAFETY (for @unchecked Sendable): the list is guarded by the queue lock (TC2); the lock
    // reference is immutable.
    /// The lock that guards the condition's state (Julia's `c.lock`).
    public let underlyingLock: any AbstractLock
    private let view: LockView
    let queue = WaitQueue()

    /// Creates a condition guarded by `lock` (by default a new `ReentrantLock`).
    public init(lock: any AbstractLock = ReentrantLock()) {
      self.underlyingLock = lock
      self.view = LockView(lock)
    }

    // MARK: AbstractLock (forwarded to the lock)

    /// Julia's `lock(l)`: takes the underlying lock.
    public func lock() { underlyingLock.lock() }
    /// Julia's `unlock(l)`: releases the underlying lock.
    public func unlock() { underlyingLock.unlock() }
    /// Julia's `trylock(l)`: takes the underlying lock if that needs no waiting.
    public func tryLock() -> Bool { underlyingLock.tryLock() }
    /// Julia's `islocked(l)`: whether anyone holds the underlying lock.
    public var isLocked: Bool { underlyingLock.isLocked }

    // MARK: Waiting

    /// Julia's `wait(c)`: atomically releases the lock (however many times the caller holds
    /// it), blocks until a `notify`, then re-acquires the lock (with the same recursion count)
    /// and returns the value passed to `notify` (nil for none).
    /// - Parameters:
    ///   - first: true (Julia's `first=true`): wake this waiter before earlier ones.
    ///   - timeout: give up after this long (nil: wait for ever).
    /// - Precondition: the caller holds the lock.
    /// - Throws: the error passed to `notify(error:)`; `TimeoutError`; an interruption's error
    ///   or `CancellationError`. The lock is held again whenever it throws.
    @discardableResult
    public func wait(first: Bool = false, timeout: Duration? = nil) throws -> (any Sendable)? {
      requireLock("wait()")
      try checkTimeout(timeout, "Threads.Condition.wait")
      let me = AnyFiber.currentContext
      let due = timeout.map(deadline(after:))
      var record = WaitRecord(site: queue, what: "Threads.Condition.wait")
      let interruption = withUnsafeMutablePointer(to: &record) { r -> WaitInterruption? in
        queue.lock()
        // TC1: registered while the user lock is still held. A pending interruption keeps it.
        if let i = queue.join(me, r, first: first) { queue.unlock(); return i }
        queue.unlock()
        let aware = view.aware
        let count = aware?.unlockAll() ?? 1
        if aware == nil { underlyingLock.unlock() }
        me.parkWaiting(r, deadline: due)
        let i = me.endWait(r)
        if let aware { aware.relockAll(count) } else { underlyingLock.lock() }
        return i
      }
      if let interruption { throw interruption.error("Threads.Condition.wait", timeout: timeout) }
      return try me.takeWakeValue()  // TC3
    }

    /// Julia's `notify(c, value; all)`: wakes all waiters (or, with `all: false`, the first);
    /// each `wait()` returns `value` once it has re-acquired the lock.
    /// - Precondition: the caller holds the lock.
    /// - Returns: how many fibers were woken (0 when none waited).
    @discardableResult
    public func notify(value: (any Sendable)? = nil, all: Bool = true) -> Int {
      requireLock("notify(value:all:)")
      return Weft.Condition.wake(queue, all: all, value: value, error: nil)
    }

    /// Julia's `notify(c, err; all, error=true)`: wakes all waiters (or the first); each
    /// `wait()` throws `error` once it has re-acquired the lock.
    /// - Precondition: the caller holds the lock.
    /// - Returns: how many fibers were woken.
    @discardableResult
    public func notify(error: any Error, all: Bool = true) -> Int {
      requireLock("notify(error:all:)")
      return Weft.Condition.wake(queue, all: all, value: nil, error: error)
    }

    /// Julia's `isempty(c::Threads.Condition)`: whether no fiber waits on this condition
    /// (a snapshot).
    ///
    /// - **Stability:** waiters register and notifiers remove them while holding the lock
    ///   (TC1), so while the caller holds the lock the answer changes only through the caller's
    ///   own `wait()` or `notify`. Without the lock it may be stale at once.
    /// - **Memory ordering:** read under the wait queue's lock; the caller's own lock gives
    ///   the ordering with the waiters' state.
    /// - **Blocks:** never (a short internal lock); it does not require holding the lock,
    ///   as in Julia.
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

    @inline(__always)
    private func requireLock(_ operation: StaticString) {
      if !view.isHeldByCaller {
        preconditionFailure("Weft misuse: Threads.Condition.\(operation) called without holding the condition's lock; "
          + "call lock() first (lock(); while !ready { try wait() }; unlock())")
      }
    }
  }
}

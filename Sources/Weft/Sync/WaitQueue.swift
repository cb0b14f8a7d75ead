// The one wait queue every synchronisation primitive parks on (DESIGN.md, layer 7).
//
// Algorithm: a FIFO of parked contexts (`WaiterList`, intrusive through `AnyFiber.waitNextRaw`)
// guarded by a short internal `FutexLock`. A waiter decides under the lock that it must wait,
// appends itself, releases the lock and parks (`AnyFiber.park`, token semantics, FiberState
// F3). A waker decides under the lock whom to wake, removes those fibers from the list, releases
// the lock and only then wakes them (STYLE.md habit 5). "The current context" is a fiber (it
// switches away and its worker runs other fibers) or the calling non-worker thread (it sleeps
// on a futex); both are `AnyFiber`s, so every primitive works from both.
//
// Invariants:
// - Q1: a fiber is in the list only between its own `enqueue` and the `dequeue`/`remove` that
//   takes it out, and both happen under `mutex`.
// - Q2: exactly one party wakes a registered fiber: whoever removed it from the list under
//   `mutex` (a notifier, or the timeout hook of a timed wait). A wake that lands before the
//   fiber has finished parking is kept by the fiber's state word (F3), so removing and waking
//   after unlocking never loses a wake-up.
// - Q3: every parked context has a `WaitRecord` naming this queue (WaitRecord R1): an
//   interrupter, canceller or timeout removes it under `mutex` through `tryUnlink`, exactly
//   like a notifier would, and then it is the one that wakes it (Q2). `afterUnlink` lets the
//   owning primitive repair its state under the lock when a waiter leaves that way.
// - Q4: `mutex` is held only for O(1) list and state updates (plus O(n) `remove` on a
//   timeout), never across `park()`: it blocks OS threads, not fibers.
//
// | field          | written by                                | read by                     |
// |----------------|-------------------------------------------|-----------------------------|
// | words[0] mutex | lock/unlock (atomic)                      | lock/unlock                 |
// | words[1...]    | the owning primitive (atomic, its rules)  | the owning primitive        |
// | waiters        | holders of `mutex`                        | holders of `mutex`          |

/// An internal FIFO of parked fibers and threads with its own short lock, plus a few atomic
/// words that the owning primitive keeps its lock-free state in (so that the state and the
/// queue share one allocation and one cache line).
final class WaitQueue: WaitSite, @unchecked Sendable {
  // SAFETY (for @unchecked Sendable): `waiters` is touched only under `mutex` (Q1); the words
  // are accessed only atomically; `words` is freed in deinit when no thread can reach `self`.
  private let words: AtomicBlock
  @exclusivity(unchecked) private var waiters = WaiterList()  // guarded by `mutex` (Q1)
  /// Runs under `mutex` when a waiter left without a notifier (Q3), or a timed wait gave up
  /// before joining: the owner repairs its state (e.g. Semaphore's WAITERS bit).
  private let afterUnlink: (@Sendable (WaitQueue) -> Void)?

  /// `stateWords`: how many atomic words (initially 0) the owning primitive needs.
  init(stateWords: Int = 0, afterUnlink: (@Sendable (WaitQueue) -> Void)? = nil) {
    words = AtomicBlock(count: 1 + stateWords)
    self.afterUnlink = afterUnlink
  }

  deinit { words.deallocate() }

  @inline(__always) private var mutex: FutexLock { FutexLock(words[0]) }

  /// The owning primitive's `index`th atomic word.
  @inline(__always) func stateWord(_ index: Int) -> AtomicWord { words[1 + index] }

  // MARK: Under the lock

  @inline(__always) func lock() { mutex.lock() }
  @inline(__always) func unlock() { mutex.unlock() }

  /// Lock held. Whether no one waits.
  var isEmpty: Bool { waiters.isEmpty }
  /// Lock held. How many wait.
  var count: Int { waiters.count }

  /// Lock held. Registers `fiber` last (or first).
  func enqueue(_ fiber: AnyFiber, first: Bool = false) {
    if first { waiters.prepend(fiber) } else { waiters.append(fiber) }
  }

  /// Lock held. Takes the first waiter; the caller wakes it after unlocking (Q2).
  func dequeue() -> FiberRef? { waiters.popFirst() }

  /// Lock held. Takes every waiter; the caller wakes them after unlocking (Q2).
  func dequeueAll() -> WaiterList { waiters.takeAll() }

  /// Lock held. Takes up to `limit` waiters, in order.
  func dequeue(upTo limit: Int) -> WaiterList {
    if limit >= waiters.count { return waiters.takeAll() }
    var taken = WaiterList()
    for _ in 0..<limit { if let f = waiters.popFirst() { f.with { taken.append($0) } } }
    return taken
  }

  // MARK: Parking

  /// Lock held. Registers `me` for the wait `r` (WaitRecord R1) and joins the list; returns
  /// the pending interruption instead when there is one (then `me` did not join).
  func join(_ me: AnyFiber, _ r: UnsafeMutablePointer<WaitRecord>, first: Bool = false) -> WaitInterruption? {
    switch me.beginWait(r) {
    case .registered:
      enqueue(me, first: first)
      return nil
    case .interrupted(let i):
      return i
    case .scheduled:
      preconditionFailure("BUG IN Weft: a queue wait was taken for a bare wait()")
    }
  }

  /// Lock held on entry, released on return. Registers `me` (the current context), releases
  /// the lock and parks until a notifier removes it (returns nil) or an interrupter, canceller
  /// or the `deadline` (monotonic ns) does (returns why; `me` is no longer linked, Q3).
  /// `interruptible: false` (ReentrantLock.lock): interrupting it is misuse.
  func parkUnlocking(_ me: AnyFiber, first: Bool = false, reason: StaticString, interruptible: Bool = true,
                     deadline: UInt64? = nil) -> WaitInterruption? {
    var record = WaitRecord(site: self, what: reason, interruptible: interruptible)
    return withUnsafeMutablePointer(to: &record) { r -> WaitInterruption? in
      if let d = deadline, d <= monotonicNanoseconds() {
        // Already due: give up without joining (the owner's state may expect a waiter).
        afterUnlink?(self)
        mutex.unlock()
        return .timedOut
      }
      if let i = join(me, r, first: first) {
        afterUnlink?(self)
        mutex.unlock()
        return i
      }
      mutex.unlock()
      me.parkWaiting(r, deadline: deadline)
      return me.endWait(r)
    }
  }

  /// Q3: an interrupter's removal of `fiber` (WaitSite). Never blocks (WaitRecord R3).
  @usableFromInline func tryUnlink(_ fiber: AnyFiber, _ r: UnsafeMutablePointer<WaitRecord>, _ reason: WaitInterruption) -> UnlinkOutcome {
    guard mutex.tryLock() else { return .busy }
    let removed = waiters.remove(fiber)
    if removed {
      r.pointee.interruption = reason  // R4: before the interrupter's wake
      afterUnlink?(self)
    }
    mutex.unlock()
    return removed ? .unlinked : .notWaiting
  }

  /// Wakes every fiber of `list` (taken under the lock, woken after it: Q2). Pops before
  /// waking: a woken fiber may reuse its link at once.
  static func wakeAll(_ list: inout WaiterList) {
    while let f = list.popFirst() { f.wake() }
  }
}

extension AnyFiber {
  /// The id of the calling context (fiber or thread fiber), without retaining it: the
  /// identity locks record as their owner. Ids are never reused, so a fiber that ended holding
  /// a lock can never be mistaken for a later one.
  @inline(__always)
  static var currentID: UInt {
    if let p = ThreadLocal.fiber {
      // SAFETY: the slot's fiber is alive while it runs on this thread (see currentContext).
      return Unmanaged<AnyFiber>.fromOpaque(p)._withUnsafeGuaranteedRef { UInt($0.id) }
    }
    return UInt(AnyFiber.currentContext.id)
  }

  /// "worker N" or "thread (not a worker)", for misuse messages.
  static var currentPlaceDescription: String {
    Worker.current.map { "worker \($0.index + 1)" } ?? "a thread that is not a Weft worker"
  }
}

// The non-generic half of a channel: its lock, its closed flag, its readiness waiters, and the
// park/wake calls of the core toolkit.
//
// Why two halves: `Channel<T>`'s operations are `@inlinable` so that each client specialises
// them for its `T`. Unspecialised, a third to a half of the time went to generic metadata
// lookups: weft-bench measured ping_pong 1,457 ns per round trip and chan_throughput 538 ns
// per item; specialised, ~500 ns (mostly the fiber switches) and ~30 ns. Inlinable code can
// only call public or `@usableFromInline` declarations, so everything it needs from the core
// (FutexLock, AnyFiber.park/wake, WaiterList) is reached through the small out-of-line methods
// below; the generic state (buffer, waiter cells) is in ChannelCore.swift.
//
// | field          | written by                               | read by                     |
// |----------------|------------------------------------------|-----------------------------|
// | words[0] lock  | lock/unlock (FutexLock)                  | lock/unlock                 |
// | words[1] closed| `publishClosed`, under the lock, once    | `isClosedFlag` (any thread) |
// | readyWaiters   | under the lock: `waitForReadiness`,      | the same                    |
// |                | `unlockWakingReadyWaiters`               |                             |

@usableFromInline
final class ChannelGuts: @unchecked Sendable {
  // SAFETY (@unchecked Sendable): the words are only accessed atomically; `readyWaiters` only
  // under the lock (table above).
  private let words = AtomicBlock(count: 2)
  private var readyWaiters = WaiterList()
  /// The channel's user-facing lock (`Channel: AbstractLock`), made on first use.
  private var userLockStorage: ReentrantLock?

  @usableFromInline init() {}

  deinit { words.deallocate() }

  // MARK: Lock

  @usableFromInline func lock() { FutexLock(words[0]).lock() }
  @usableFromInline func unlock() { FutexLock(words[0]).unlock() }
  func tryLock() -> Bool { FutexLock(words[0]).tryLock() }

  // MARK: Closed flag

  /// Julia's `isopen`, negated, without taking the lock.
  @usableFromInline var isClosedFlag: Bool {
    // Acquire: pairs with the release in `publishClosed`.
    words[1].loadAcquire() != 0
  }

  /// Called under the lock by the close that wins (ChannelCore I5).
  @usableFromInline func publishClosed() {
    // Release: pairs with the acquire in `isClosedFlag`.
    words[1].storeRelease(1)
  }

  // MARK: Readiness waiters (fetch, wait)

  /// Under the lock: whether any fetch/wait caller waits (the truth behind
  /// `ChannelCore.hasReadyWaiters`, I6, after a waiter left by interruption).
  @usableFromInline var hasReadyWaiters: Bool { !readyWaiters.isEmpty }

  /// Under the lock: registers `me`, unlocks, parks until a put or close wakes it, and locks
  /// again. The caller has set `ChannelCore.hasReadyWaiters`. Returns the error to throw when
  /// an interrupter, canceller or the deadline ended the wait instead (then `me` is unlinked).
  @usableFromInline
  func waitForReadiness(_ me: AnyFiber, site: any WaitSite, _ what: StaticString, timeout: Duration?,
                        deadline: UInt64?) -> (any Error)? {
    var record = WaitRecord(site: site, what: what)
    let interruption = withUnsafeMutablePointer(to: &record) { r -> WaitInterruption? in
      if let d = deadline, d <= monotonicNanoseconds() { return .timedOut }
      if case .interrupted(let i) = me.beginWait(r) { return i }
      readyWaiters.append(me)
      unlock()
      me.parkWaiting(r, deadline: deadline)
      let i = me.endWait(r)
      lock()
      return i
    }
    return interruption.map { $0.error(what, timeout: timeout) }
  }

  /// Under the lock: unlinks a readiness waiter for an interrupter (Channel.tryUnlink).
  func removeReadyWaiter(_ f: AnyFiber) -> Bool { readyWaiters.remove(f) }

  /// Under the lock: takes every readiness waiter, unlocks, then wakes them (decide under the
  /// lock, act after it). The caller has cleared `ChannelCore.hasReadyWaiters`.
  @usableFromInline
  func unlockWakingReadyWaiters() {
    var list = readyWaiters.takeAll()
    unlock()
    while let f = list.popFirst() { f.wake() }
  }

  // MARK: The user-facing lock

  /// The channel's `ReentrantLock`, created on first use (under the state lock, so that two
  /// racing first users get the same one).
  func userLock() -> ReentrantLock {
    lock()
    defer { unlock() }
    if let l = userLockStorage { return l }
    let l = ReentrantLock()
    userLockStorage = l
    return l
  }

  /// The lock if it was ever used; nil means nobody has locked the channel yet.
  var userLockIfCreated: ReentrantLock? {
    lock()
    defer { unlock() }
    return userLockStorage
  }

  // MARK: The core toolkit, for inlinable code

  /// The calling fiber, or the calling thread's thread fiber.
  @usableFromInline static func currentContext() -> AnyFiber { AnyFiber.currentContext }

  /// The calling fiber uncounted, for its own frame (FiberRef O2a): a blocked put or take
  /// holds its fiber this way, which saves a retain and a release per hand-off.
  @usableFromInline static func currentContextRef() -> FiberRef { AnyFiber.currentContextRef }

  /// Makes `f` runnable; see FiberState F3 (exactly once per wait, by whoever dequeued it).
  /// The last use of `f` (FiberRef O3).
  @usableFromInline static func wake(_ f: FiberRef) { f.wake() }

  /// Under the lock: registers `me` for a put or take whose `cell` joins the channel's queue
  /// in `join` (which returns whether readiness waiters must be woken), unlocks, parks until
  /// a take, put, close or interrupter wakes it. Returns the error to throw when an
  /// interrupter, canceller or the deadline ended the wait (the cell is then `.interrupted`
  /// and unlinked, or, when the deadline had already passed, never joined).
  @usableFromInline
  func parkCell(_ meRef: FiberRef, site: any WaitSite, cell: UnsafeMutableRawPointer, _ what: StaticString,
                timeout: Duration?, join: () -> Bool) -> (any Error)? {
    meRef.with { me in parkCell(me, site: site, cell: cell, what, timeout: timeout, join: join) }
  }

  @inline(__always)
  private func parkCell(_ me: AnyFiber, site: any WaitSite, cell: UnsafeMutableRawPointer, _ what: StaticString,
                        timeout: Duration?, join: () -> Bool) -> (any Error)? {
    let due = timeout.map(deadline(after:))
    var record = WaitRecord(site: site, what: what)
    record.context = cell
    let interruption = withUnsafeMutablePointer(to: &record) { r -> WaitInterruption? in
      if let d = due, d <= monotonicNanoseconds() { unlock(); return .timedOut }
      if case .interrupted(let i) = me.beginWait(r) { unlock(); return i }
      if join() { unlockWakingReadyWaiters() } else { unlock() }
      me.parkWaiting(r, deadline: due)
      return me.endWait(r)
    }
    return interruption.map { $0.error(what, timeout: timeout) }
  }

  /// `deadline(after:)` for inlinable code.
  @usableFromInline static func deadline(_ timeout: Duration?) -> UInt64? { timeout.map(Weft.deadline(after:)) }

  /// A negative timeout is an `ArgumentError` (for inlinable code).
  @usableFromInline static func check(_ timeout: Duration?, _ what: StaticString) throws { try checkTimeout(timeout, what) }

  /// Puts an interruption that iteration could not throw back for the next wait.
  @usableFromInline static func rearm(_ error: any Error) {
    if error is CancellationError { return }  // sticky anyway
    AnyFiber.currentContext.rearm(.error(error))
  }

  @usableFromInline
  static func wokenWhileWaiting(_ me: FiberRef, _ what: StaticString) -> Never {
    preconditionFailure("BUG IN Weft: fiber \(me.id) was woken while blocked in \(what) without being taken off its queue")
  }
}

/// A waitable first-in-first-out queue that fibers and threads put items into and take items
/// from: Julia's `Channel{T}`.
///
/// `Channel<T>(capacity: n)` buffers up to `n` items; `capacity: 0` (the default) is
/// unbuffered, a rendezvous: `put` returns only once a `take` has received the item, and
/// `take` waits for a `put`; `Channel<T>.unbounded()` (or `capacity: .max`, Julia's
/// `Channel(Inf)`) never makes `put` wait. Items come out in the order they went in.
///
/// Contract:
/// - **Triggering**: level-triggered. `isReady` and `wait()` reflect the current contents;
///   an item put before anyone waits is kept for the next `take`.
/// - **Memory ordering**: a `put` happens-before the `take` (or `fetch`) that receives its
///   item; `close` happens-before every call that observes the channel closed.
/// - **What blocks**: `put` on a full (or unbuffered) channel, and `take`, `fetch`, `wait` on
///   an empty one block the calling *fiber* — it parks and its worker runs other fibers —
///   or, called from a thread that is not a Weft worker, that thread. Waiters are served in
///   FIFO order; an unbuffered `put` hands its item straight to the first waiting taker,
///   which runs next on the putter's worker.
/// - **Interruption, cancellation, timeouts**: every blocking call takes `timeout:` (throws
///   `TimeoutError`), and a fiber blocked in one is taken off the channel at once by
///   `schedule(_:error:)` or `cancel()` (the call throws; a put's item is not delivered).
/// - **Close and errors**: after `close()`, `put` throws `ChannelClosedError`; `take` and
///   `fetch` still return the buffered items, then throw. `close(error:)` makes those calls
///   throw that error instead (a channel `bind(to:)` a fiber that fails is closed with
///   `TaskFailedError`). Closing wakes every blocked caller: blocked putters throw, and their
///   items are not delivered. The first close wins; later ones do nothing.
/// - **Julia**: `Channel{T}(sz)`, `put!`, `take!`, `fetch`, `isready`, `wait`, `close`,
///   `isopen`, `bind`, `Channel(f; spawn, threadpool, taskref)`. Differences: `fetch()` on an
///   unbuffered channel is a misuse that stops the program (Julia throws an ErrorException);
///   a second `close` keeps the first error (Julia overwrites it); `for x in channel` ends
///   quietly on any close — use `drain(_:)` or `collect()` to receive a close error.
///
/// A channel is also a lock (`AbstractLock`), like Julia's; see `lock()`.
public final class Channel<T: Sendable>: WaitSite, @unchecked Sendable {
  // SAFETY (@unchecked Sendable): `core` is read and written only while the lock in `guts`
  // is held (ChannelCore I4); `guts` is thread-safe; `boundFiber` is written once during
  // init, before the channel is shared.

  /// The most items the buffer holds: 0 for unbuffered, `Int.max` for unbounded.
  public let capacity: Int

  /// Lock, closed flag, readiness waiters (non-generic; ChannelGuts.swift).
  @usableFromInline let guts = ChannelGuts()
  /// The state machine, in its own allocation so that no Swift exclusivity check runs on it.
  @usableFromInline let core: UnsafeMutablePointer<ChannelCore<T>>

  /// The fiber that `init(capacity:spawn:pool:_:)` created and bound (Julia's `taskref`);
  /// nil for channels made otherwise.
  public internal(set) var boundFiber: Fiber<Void>?

  /// Creates a channel that buffers up to `capacity` items (Julia's `Channel{T}(sz)`).
  /// - Parameter capacity: 0 for an unbuffered channel (a rendezvous), `Int.max` for an
  ///   unbounded one.
  /// - Precondition: `capacity` ≥ 0.
  public init(capacity: Int = 0) {
    precondition(capacity >= 0,
      "Weft misuse: Channel capacity \(capacity) is negative; use 0 for an unbuffered channel, "
      + "n > 0 for a buffer of n items, or Channel.unbounded()")
    self.capacity = capacity
    core = .allocate(capacity: 1)
    core.initialize(to: ChannelCore(capacity: capacity))
  }

  /// An unbounded channel (Julia's `Channel(Inf)`): `put` never waits.
  public static func unbounded() -> Channel<T> { Channel(capacity: .max) }

  deinit {
    core.pointee.buffer.deallocate()
    core.deinitialize(count: 1)
    core.deallocate()
  }

  // MARK: put and take

  /// Julia's `put!(c, v)`: appends `value`, waiting while the buffer is full; on an unbuffered
  /// channel, waits until a `take` receives it.
  /// - Parameters:
  ///   - value: the item to append.
  ///   - timeout: give up after this long (nil: wait for ever).
  /// - Throws: `ChannelClosedError`, or the error the channel was closed with, if it is closed
  ///   before the item is accepted; `TimeoutError`; an interruption's error
  ///   (`schedule(_:error:)`) or `CancellationError`. When it throws, the item was not delivered.
  @inlinable
  public func put(_ value: T, timeout: Duration? = nil) throws {
    if let timeout { try ChannelGuts.check(timeout, "Channel.put") }
    guts.lock()
    switch core.pointee.put(value) {
    case .handedOff(let taker):
      guts.unlock()
      ChannelGuts.wake(taker)
    case .buffered(let wakeReadyWaiters):
      if wakeReadyWaiters { guts.unlockWakingReadyWaiters() } else { guts.unlock() }
    case .closed(let error):
      guts.unlock()
      throw error ?? ChannelClosedError()
    case .mustWait:
      try putWaiting(value, timeout)
    }
  }

  /// The blocking half of `put`; called with the lock held.
  @inlinable @inline(never)
  func putWaiting(_ value: T, _ timeout: Duration?) throws {
    let me = ChannelGuts.currentContextRef()  // uncounted: this frame is the fiber's own (FiberRef O2a)
    var cell = ChannelWaiter<T>(fiber: me, item: value)
    let failure = withUnsafeMutablePointer(to: &cell) { p -> (any Error)? in
      guts.parkCell(me, site: self, cell: UnsafeMutableRawPointer(p), "Channel.put", timeout: timeout) {
        let wake = core.pointee.enqueuePutter(p)
        debugCheckInvariants()
        return wake
      }
    }
    if let failure { throw failure }
    switch cell.outcome {
    case .completed: return
    case .closed: throw closedError()
    case .waiting, .interrupted: ChannelGuts.wokenWhileWaiting(me, "Channel.put")
    }
  }

  /// Julia's `take!(c)`: removes and returns the oldest item, waiting until there is one.
  /// - Parameter timeout: give up after this long (nil: wait for ever).
  /// - Throws: once the channel is closed and has no item left, `ChannelClosedError` or the
  ///   error it was closed with; `TimeoutError`; an interruption's error or
  ///   `CancellationError`. When it throws, no item was taken.
  @inlinable
  public func take(timeout: Duration? = nil) throws -> T {
    if let timeout { try ChannelGuts.check(timeout, "Channel.take") }
    switch takeOutcome(timeout) {
    case .item(let v): return v
    case .closed(let e), .interrupted(let e): throw e
    }
  }

  /// How a take ended (iteration must tell a close from an interruption).
  @usableFromInline
  enum TakeOutcome {
    case item(T)
    case closed(any Error)
    case interrupted(any Error)
  }

  @inlinable
  func takeOutcome(_ timeout: Duration?) -> TakeOutcome {
    guts.lock()
    switch core.pointee.take() {
    case .item(let v, let putter):
      guts.unlock()
      if let putter { ChannelGuts.wake(putter) }
      return .item(v)
    case .closed(let error):
      guts.unlock()
      return .closed(error ?? ChannelClosedError())
    case .mustWait:
      return takeWaiting(timeout)
    }
  }

  /// The blocking half of `take`; called with the lock held.
  @inlinable @inline(never)
  func takeWaiting(_ timeout: Duration?) -> TakeOutcome {
    let me = ChannelGuts.currentContextRef()  // uncounted: this frame is the fiber's own (FiberRef O2a)
    var cell = ChannelWaiter<T>(fiber: me, item: nil)
    let failure = withUnsafeMutablePointer(to: &cell) { p -> (any Error)? in
      guts.parkCell(me, site: self, cell: UnsafeMutableRawPointer(p), "Channel.take", timeout: timeout) {
        core.pointee.enqueueTaker(p)
        debugCheckInvariants()
        return false
      }
    }
    if let failure { return .interrupted(failure) }
    switch cell.outcome {
    case .completed: return .item(cell.item.take().unsafelyUnwrapped)
    case .closed: return .closed(closedError())
    case .waiting, .interrupted: ChannelGuts.wokenWhileWaiting(me, "Channel.take")
    }
  }

  /// An interrupter's removal of a blocked put, take, fetch or wait (WaitSite, I4).
  @usableFromInline func tryUnlink(_ fiber: AnyFiber, _ r: UnsafeMutablePointer<WaitRecord>, _ reason: WaitInterruption) -> UnlinkOutcome {
    guard guts.tryLock() else { return .busy }
    defer { guts.unlock() }
    if let raw = r.pointee.context {
      let cell = raw.assumingMemoryBound(to: ChannelWaiter<T>.self)
      guard cell.pointee.outcome == .waiting else { return .notWaiting }  // a put/take/close took it
      let removed = core.pointee.putters.remove(cell) || core.pointee.takers.remove(cell)
      precondition(removed, "BUG IN Weft: a waiting channel cell was in neither queue (I3)")
      cell.pointee.outcome = .interrupted
    } else {
      guard guts.removeReadyWaiter(fiber) else { return .notWaiting }
      core.pointee.hasReadyWaiters = guts.hasReadyWaiters  // I6
    }
    r.pointee.interruption = reason  // R4
    debugCheckInvariants()
    return .unlinked
  }

  // MARK: fetch, wait, isReady

  /// Julia's `fetch(c)`: waits for an item and returns the oldest without removing it.
  /// - Parameter timeout: give up after this long (nil: wait for ever).
  /// - Throws: once the channel is closed and empty, `ChannelClosedError` or its close error;
  ///   `TimeoutError`; an interruption's error or `CancellationError`.
  /// - Precondition: the channel is buffered (`capacity` > 0): an unbuffered channel holds no
  ///   item to look at (Julia throws an ErrorException; here it is a misuse).
  @inlinable
  public func fetch(timeout: Duration? = nil) throws -> T {
    if capacity == 0 { Channel.fetchOfUnbuffered() }
    try ChannelGuts.check(timeout, "Channel.fetch")
    let due = ChannelGuts.deadline(timeout)
    guts.lock()
    while true {
      if let v = core.pointee.buffer.first { guts.unlock(); return v }
      if core.pointee.isClosed {
        let e = core.pointee.closeError
        guts.unlock()
        throw e ?? ChannelClosedError()
      }
      if let e = waitForReadiness("Channel.fetch", timeout, due) { guts.unlock(); throw e }
    }
  }

  @usableFromInline
  static func fetchOfUnbuffered() -> Never {
    preconditionFailure("Weft misuse: fetch() on an unbuffered channel, which holds no item to look at; "
      + "use take(), or a channel with capacity > 0")
  }

  /// Julia's `wait(c::Channel)`: waits until the channel `isReady`.
  /// - Parameter timeout: give up after this long (nil: wait for ever).
  /// - Throws: if the channel is closed and not ready: `ChannelClosedError` or its close error;
  ///   `TimeoutError`; an interruption's error or `CancellationError`.
  @inlinable
  public func wait(timeout: Duration? = nil) throws {
    try ChannelGuts.check(timeout, "Channel.wait")
    let due = ChannelGuts.deadline(timeout)
    guts.lock()
    while true {
      if core.pointee.isReady { guts.unlock(); return }
      if core.pointee.isClosed {
        let e = core.pointee.closeError
        guts.unlock()
        throw e ?? ChannelClosedError()
      }
      if let e = waitForReadiness("Channel.wait", timeout, due) { guts.unlock(); throw e }
    }
  }

  /// Under the lock: waits in ChannelGuts until a put or close, then locks again (I6); the
  /// error to throw when interrupted, cancelled or timed out instead.
  @inlinable
  func waitForReadiness(_ what: StaticString, _ timeout: Duration?, _ due: UInt64?) -> (any Error)? {
    core.pointee.hasReadyWaiters = true
    debugCheckInvariants()
    let failure = guts.waitForReadiness(ChannelGuts.currentContext(), site: self, what, timeout: timeout, deadline: due)
    if failure != nil { core.pointee.hasReadyWaiters = guts.hasReadyWaiters }  // I6: we left early
    return failure
  }

  /// Julia's `isready(c)`: true when an item is buffered, or, on an unbuffered channel, when
  /// a putter is waiting. A snapshot: it may change as soon as it is read.
  @inlinable
  public var isReady: Bool {
    guts.lock()
    defer { guts.unlock() }
    return core.pointee.isReady
  }

  // MARK: close

  /// Julia's `isopen(c)`: false once the channel is closed (even while items remain).
  @inlinable
  public var isOpen: Bool { !guts.isClosedFlag }

  /// Julia's `close(c)`: closes the channel. Later `put`s throw `ChannelClosedError`; takers
  /// drain the buffered items and then throw it. Wakes every blocked caller. Does nothing if
  /// the channel is already closed.
  public func close() { close(nil) }

  /// Julia's `close(c, excp)`: like `close()`, but the calls that fail throw `error`.
  public func close(error: any Error) { close(.some(error)) }

  func close(_ error: (any Error)?) {
    guts.lock()
    guard let closing = core.pointee.close(error: error) else {
      guts.unlock()
      return
    }
    guts.publishClosed()  // I5
    debugCheckInvariants()
    if closing.wakeReadyWaiters { guts.unlockWakingReadyWaiters() } else { guts.unlock() }
    ChannelWaiterQueue<T>.wakeAll(closing.takers)
    ChannelWaiterQueue<T>.wakeAll(closing.putters)
  }

  /// The error a failed blocked call throws (I5: set before its wake).
  @usableFromInline
  func closedError() -> any Error {
    closeErrorIfAny ?? ChannelClosedError()
  }

  /// The error the channel was closed with; nil while open or after a plain `close()`.
  @usableFromInline
  var closeErrorIfAny: (any Error)? {
    guts.lock()
    defer { guts.unlock() }
    return core.pointee.closeError
  }

  @inlinable @inline(__always)
  func debugCheckInvariants() {
    #if DEBUG
    core.pointee.checkInvariants()
    #endif
  }
}

extension Channel: CustomStringConvertible {
  /// E.g. `Channel<Int>(capacity: 1, open, 1 item buffered)`.
  public var description: String {
    guts.lock()
    let n = core.pointee.buffer.count
    let open = !core.pointee.isClosed
    let putters = core.pointee.putters.count
    guts.unlock()
    let cap = capacity == .max ? "unbounded" : "capacity: \(capacity)"
    let items = capacity == 0 ? "\(putters) putter\(putters == 1 ? "" : "s") waiting"
                              : "\(n) item\(n == 1 ? "" : "s") buffered"
    return "Channel<\(T.self)>(\(cap), \(open ? "open" : "closed"), \(items))"
  }
}

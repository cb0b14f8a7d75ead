// The channel state machine: every transition of `Channel` is a method here, run under the
// channel's lock (ChannelGuts); each returns whom to wake, and `Channel` wakes them after
// unlocking (shared/STYLE.md, habit 5). The generic state lives here, `@usableFromInline`, so
// that clients specialise it for their element type (see ChannelGuts.swift for why).
//
// Algorithm (Go's runtime/chan.go, with Julia's base/channels.jl semantics):
//
// - put(v): closed → fail. A taker is waiting → hand v straight to it (it runs next on this
//   worker). Room in the buffer → append. Otherwise enqueue a waiter cell holding v and park.
// - take(): the buffer has an item → remove the oldest; if a putter waits (the buffer was
//   full), move its item to the tail of the buffer and complete its put. No buffer item but
//   a putter waits (unbuffered) → take its item and complete its put. Closed → fail.
//   Otherwise enqueue an empty waiter cell and park until a putter fills it.
// - fetch() / wait(): level-triggered readiness; they register in `readyWaiters` and re-check
//   after every wake. A put that buffers an item, or a putter that starts waiting, wakes them.
// - close(error): marks the channel closed (first close wins), completes every waiting taker
//   and putter with `.closed` (a putter keeps its item and throws), wakes readiness waiters.
//   Buffered items stay for later takers.
//
// A waiting putter or taker is a `ChannelWaiter` on its own stack (Go's sudog, without the
// allocation): the stack of a parked fiber, or of a thread parked on a futex, does not move.
//
// Invariants (checked by `checkInvariants()` in debug builds):
// - I1: `takers` is non-empty only while the buffer is empty and no putter waits.
// - I2: with capacity > 0, `putters` is non-empty only while the buffer is full
//       (count == capacity); with capacity 0 the buffer is always empty.
// - I3: a cell in `putters` holds an item; a cell in `takers` holds none. Every queued cell's
//       outcome is `.waiting`. An interrupted cell is unlinked and marked `.interrupted` under
//       the lock by `Channel.tryUnlink`, which then wakes it instead of a put, take or close.
// - I4: a cell is written only under the channel lock while it is queued; the transition that
//       dequeues it writes its outcome (and item) under the lock, and only then, after the
//       unlock, wakes its fiber exactly once. The owner reads the cell after `park()` returns.
// - I5: `isClosed` and `closeError` are written once, together, under the lock (first close
//       wins); after that no waiter is ever queued on `takers` or `putters`.
// - I6: the readiness waiters (kept in ChannelGuts) are non-empty only while the channel is
//       open and not ready; `hasReadyWaiters` is true exactly while they are non-empty.
//
// | field         | written by (always under the lock)           | read by                       |
// |---------------|----------------------------------------------|-------------------------------|
// | buffer        | put (append), take (remove, refill)          | take, fetch, isReady          |
// | putters       | put (enqueue), take/close (dequeue)          | take, isReady, close          |
// | takers        | take (enqueue), put/close (dequeue)          | put, close                    |
// | hasReadyWaiters (+ ChannelGuts.readyWaiters) | fetch/wait (set), put/close (clear) | put, close |
// | isClosed      | close                                        | all; `Channel.isOpen` reads the atomic mirror |
// | closeError    | close                                        | failing put/take/fetch/wait   |
// | cell.outcome  | the dequeuing put/take/close                 | the cell's owner after park   |

/// How a put or take that waited ended.
@usableFromInline
enum ChannelWaitOutcome: UInt8 {
  case waiting
  /// A taker received the putter's item, or a putter filled the taker's cell.
  case completed
  /// The channel was closed first; a putter still owns its item.
  case closed
  /// An interrupter, canceller or timeout took the cell out of its queue (WaitRecord.swift);
  /// a putter still owns its item.
  case interrupted
}

/// A putter or taker blocked on a channel; lives on the blocked context's stack.
@usableFromInline
struct ChannelWaiter<T> {
  // SAFETY: uncounted (FiberRef O2): the cell lives in the frame of `putWaiting`/`takeWaiting`,
  // which runs on the waiting fiber itself (O2a), until after its park returns, i.e. until
  // after the waker's last use of the cell (I4). Whoever dequeues the cell carries the
  // `FiberRef` out and wakes it, counting nothing.
  @usableFromInline let fiber: FiberRef
  /// A putter's item until it is taken; the item delivered to a taker.
  @usableFromInline var item: T?
  @usableFromInline var outcome = ChannelWaitOutcome.waiting
  @usableFromInline var next: UnsafeMutablePointer<ChannelWaiter<T>>?

  @inlinable
  init(fiber: FiberRef, item: T?) {
    self.fiber = fiber
    self.item = item
  }
}

/// An intrusive FIFO of waiter cells (the links live in the cells; no allocation).
@usableFromInline
struct ChannelWaiterQueue<T> {
  @usableFromInline typealias Cell = UnsafeMutablePointer<ChannelWaiter<T>>
  @usableFromInline var head: Cell?
  @usableFromInline var tail: Cell?

  @inlinable init() {}

  @inlinable var isEmpty: Bool { head == nil }

  @inlinable
  mutating func append(_ c: Cell) {
    c.pointee.next = nil
    if let t = tail { t.pointee.next = c } else { head = c }
    tail = c
  }

  @inlinable
  mutating func popFirst() -> Cell? {
    guard let h = head else { return nil }
    head = h.pointee.next
    if head == nil { tail = nil }
    h.pointee.next = nil
    return h
  }

  /// Detaches the whole queue; the caller walks it with `next` (read before each wake).
  @inlinable
  mutating func takeAll() -> Cell? {
    let h = head
    head = nil
    tail = nil
    return h
  }

  /// Unlinks `c` if it is queued here (O(n)); true when it was.
  @inlinable
  mutating func remove(_ c: Cell) -> Bool {
    var prev: Cell? = nil
    var cur = head
    while let p = cur {
      if p == c {
        if let prev { prev.pointee.next = p.pointee.next } else { head = p.pointee.next }
        if tail == p { tail = prev }
        p.pointee.next = nil
        return true
      }
      prev = p
      cur = p.pointee.next
    }
    return false
  }

  @inlinable
  var count: Int {
    var n = 0
    var c = head
    while let p = c { n += 1; c = p.pointee.next }
    return n
  }

  /// Wakes every fiber of a detached cell list, reading each link before the wake (after the
  /// wake the cell's stack frame may be gone).
  @inlinable
  static func wakeAll(_ list: Cell?) {
    var c = list
    while let cell = c {
      c = cell.pointee.next
      ChannelGuts.wake(cell.pointee.fiber)
    }
  }
}

/// The state of one channel; see the algorithm and invariants above.
@usableFromInline
struct ChannelCore<T> {
  @usableFromInline typealias Cell = UnsafeMutablePointer<ChannelWaiter<T>>

  @usableFromInline let capacity: Int
  @usableFromInline var buffer = RingBuffer<T>()
  @usableFromInline var putters = ChannelWaiterQueue<T>()
  @usableFromInline var takers = ChannelWaiterQueue<T>()
  /// True while fetch/wait callers wait in ChannelGuts (I6).
  @usableFromInline var hasReadyWaiters = false
  @usableFromInline var isClosed = false
  /// The error `close(error:)` gave; nil after a plain `close()` (I5).
  @usableFromInline var closeError: (any Error)?

  @inlinable init(capacity: Int) { self.capacity = capacity }

  /// Julia's `isready`: an item is buffered, or (unbuffered) a putter waits.
  @inlinable var isReady: Bool { !buffer.isEmpty || !putters.isEmpty }

  // MARK: put

  @usableFromInline
  enum PutDecision {
    /// Handed to a waiting taker, whose cell is complete: wake it.
    case handedOff(FiberRef)
    /// Buffered; if true, wake the readiness waiters.
    case buffered(wakeReadyWaiters: Bool)
    /// The channel is closed (with this error, or nil for a plain close).
    case closed((any Error)?)
    /// No taker and no room: the caller must enqueue a cell with `enqueuePutter`.
    case mustWait
  }

  @inlinable @inline(__always)
  mutating func put(_ value: T) -> PutDecision {
    if isClosed { return .closed(closeError) }
    if let taker = takers.popFirst() {
      // I1: the buffer is empty, so handing over keeps FIFO order.
      taker.pointee.item = value
      taker.pointee.outcome = .completed  // I4
      return .handedOff(taker.pointee.fiber)
    }
    if buffer.count < capacity {
      buffer.append(value, limit: capacity)
      return .buffered(wakeReadyWaiters: takeReadyWaiters())
    }
    return .mustWait
  }

  /// Queues a blocked putter; true when readiness waiters must be woken (a waiting putter
  /// makes an unbuffered channel ready).
  @inlinable
  mutating func enqueuePutter(_ cell: Cell) -> Bool {
    putters.append(cell)
    return takeReadyWaiters()
  }

  /// Clears `hasReadyWaiters`; true when it was set (the caller wakes them after unlocking).
  @inlinable @inline(__always)
  mutating func takeReadyWaiters() -> Bool {
    if !hasReadyWaiters { return false }
    hasReadyWaiters = false
    return true
  }

  // MARK: take

  @usableFromInline
  enum TakeDecision {
    /// An item; wake this putter (whose put completed) if any.
    case item(T, wake: FiberRef?)
    case closed((any Error)?)
    /// Nothing available: the caller must enqueue a cell with `enqueueTaker`.
    case mustWait
  }

  @inlinable @inline(__always)
  mutating func take() -> TakeDecision {
    if !buffer.isEmpty {
      let v = buffer.removeFirst()
      if let p = putters.popFirst() {
        // I2: the buffer was full; the oldest waiting item moves to its tail.
        buffer.append(p.pointee.item.take().unsafelyUnwrapped, limit: capacity)
        p.pointee.outcome = .completed
        return .item(v, wake: p.pointee.fiber)
      }
      return .item(v, wake: nil)
    }
    if let p = putters.popFirst() {
      // Unbuffered (I2): take the item straight from the putter's cell.
      let v = p.pointee.item.take().unsafelyUnwrapped
      p.pointee.outcome = .completed
      return .item(v, wake: p.pointee.fiber)
    }
    if isClosed { return .closed(closeError) }
    return .mustWait
  }

  @inlinable mutating func enqueueTaker(_ cell: Cell) { takers.append(cell) }

  // MARK: close

  /// Everyone a close must wake: taker and putter cells (already completed as `.closed`) and,
  /// if `wakeReadyWaiters`, the readiness waiters.
  @usableFromInline
  struct Closing {
    @usableFromInline var takers: Cell?
    @usableFromInline var putters: Cell?
    @usableFromInline var wakeReadyWaiters: Bool
    @inlinable init(takers: Cell?, putters: Cell?, wakeReadyWaiters: Bool) {
      self.takers = takers
      self.putters = putters
      self.wakeReadyWaiters = wakeReadyWaiters
    }
  }

  /// Closes the channel (I5); nil when it was closed already.
  @inlinable
  mutating func close(error: (any Error)?) -> Closing? {
    if isClosed { return nil }
    isClosed = true
    closeError = error
    let t = takers.takeAll()
    let p = putters.takeAll()
    ChannelCore.markClosed(t)
    ChannelCore.markClosed(p)
    return Closing(takers: t, putters: p, wakeReadyWaiters: takeReadyWaiters())
  }

  @inlinable
  static func markClosed(_ list: Cell?) {
    var c = list
    while let cell = c { cell.pointee.outcome = .closed; c = cell.pointee.next }  // I4
  }

  // MARK: Invariants

  /// Checks I1–I3, I5, I6 (O(1)); called under the lock in debug builds.
  @inlinable
  func checkInvariants() {
    if !takers.isEmpty {
      precondition(buffer.isEmpty && putters.isEmpty && !isClosed,
        "BUG IN Weft: channel has waiting takers with \(buffer.count) buffered items, putters: \(!putters.isEmpty), closed: \(isClosed) (I1, I5)")
    }
    if !putters.isEmpty {
      precondition(!isClosed && (capacity == 0 ? buffer.isEmpty : buffer.count == capacity),
        "BUG IN Weft: channel has waiting putters with \(buffer.count) of \(capacity) buffered, closed: \(isClosed) (I2, I5)")
    }
    precondition(capacity > 0 || buffer.isEmpty, "BUG IN Weft: unbuffered channel holds \(buffer.count) items (I2)")
    if hasReadyWaiters {
      precondition(!isClosed && !isReady, "BUG IN Weft: readiness waiters on a ready or closed channel (I6)")
    }
  }
}

#if canImport(Glibc)
import Glibc
#endif
import CWeftIO

// One non-blocking descriptor registered with a reactor (Docs/Reactor.md): the readiness
// slots (ReadinessSlot.swift) and Go's fdMutex-style reference count that makes `close`
// safe while other fibers use or wait on the descriptor.
//
// The `ops` word: bit 0 CLOSED, bits 1… the number of operations in progress (each counts 2).
// - D1: an operation begins only while CLOSED is clear (CAS loop) and ends with a
//   decrement; the descriptor number stays open (and so cannot be reused by another open)
//   while any operation is in progress.
// - D2: `close()` sets CLOSED once (fetch-or), then notifies both slots, so parked waiters
//   wake, see CLOSED and throw `IOError.closed`; whoever brings the count to 0 with CLOSED
//   set — `close` itself, or the last operation to end — closes the number, exactly once.
// - D3: the reactor keeps this object alive (a retained token) from registration until a
//   poll that begins after the final close (Reactor P3), so a poller never reads a freed slot.
//
// | field           | written by                         | read by                  |
// |-----------------|------------------------------------|--------------------------|
// | words[0], [1]   | slots (ReadinessSlot S1–S4)        | the same                 |
// | words[2] ops    | operations (CAS, fetch-sub), close | the same                 |
// | fd, reactor     | init only                          | anyone                   |

/// A descriptor in non-blocking mode, watched by its scheduler's reactor. WeftNet's
/// sockets and pipes are built on it; its operations park the calling fiber, never the worker.
package final class IODescriptor: WaitSite, @unchecked Sendable {
  // SAFETY: `fd` and `reactor` are immutable; every other field is an atomic word.
  package let fd: Int32
  let reactor: Reactor
  private let words = AtomicBlock(count: 3)
  @inline(__always) func slot(_ d: IODirection) -> AtomicWord { words[d.rawValue] }
  @inline(__always) private var ops: AtomicWord { words[2] }

  private static let closedBit: UInt = 1
  private static let opUnit: UInt = 2

  /// Registers `fd` (already non-blocking, owned from now on: `close()` closes it) with the
  /// reactor of `scheduler` (default: the current fiber's, or the shared one).
  package init(fd: Int32, scheduler: Scheduler = .current) throws {
    self.fd = fd
    self.reactor = try scheduler.io.reactor()
    let rc = reactor.register(self)
    if rc != 0 {
      words.deallocate()
      _ = Glibc.close(fd)
      throw IOError.system("epoll_ctl(ADD)", rc)
    }
  }

  deinit { words.deallocate() }

  /// Whether `close()` was called.
  package var isClosed: Bool { ops.loadAcquire() & IODescriptor.closedBit != 0 }

  /// D2: closes the descriptor; fibers blocked on it wake and throw `IOError.closed`.
  /// Idempotent. The number itself is closed once no operation is in progress.
  package func close() {
    // Full: pairs with beginOperation's CAS (D1).
    let old = ops.fetchOrFull(IODescriptor.closedBit)
    if old & IODescriptor.closedBit != 0 { return }
    for d in [IODirection.read, .write] { notify(d)?.wake() }
    if old == 0 { finalClose() }
  }

  /// D1: an operation may use `fd` until `endOperation`; throws if closed.
  @inline(__always)
  package func beginOperation(_ what: StaticString) throws {
    var s = ops.loadRelaxed()
    while true {
      if s & IODescriptor.closedBit != 0 { throw IOError.closed("\(what)") }
      // Full CAS: pairs with close's fetch-or (D1).
      let seen = ops.fetchCompareExchangeFull(s, s + IODescriptor.opUnit)
      if seen == s { return }
      s = seen
    }
  }

  @inline(__always)
  package func endOperation() {
    // Full: pairs with close's fetch-or; the last one out after close closes the number (D2).
    let old = ops.fetchSubFull(IODescriptor.opUnit)
    if old == IODescriptor.closedBit | IODescriptor.opUnit { finalClose() }
  }

  private func finalClose() {
    reactor.deregister(self)
    _ = Glibc.close(fd)
    reactor.retire(self)  // D3
  }

  /// Runs `call` (a non-blocking system call on `fd` returning ≥ 0, or -1 with errno read
  /// by the closure right after the call, as (result, errno)) until it succeeds, parking on
  /// `direction` readiness whenever it says EAGAIN. Throws `IOError` (the call's errno,
  /// `.closed`), `TimeoutError` when `deadline` passes, or an interruption's error.
  package func perform(_ direction: IODirection, _ what: StaticString, timeout: Duration?, deadline: UInt64?,
                       _ call: (Int32) -> (Int, Int32)) throws -> Int {
    try beginOperation(what)
    defer { endOperation() }
    while true {
      let (n, e) = call(fd)
      if n >= 0 { return n }
      switch e {
      case EINTR: continue
      case EAGAIN, EWOULDBLOCK, EINPROGRESS:
        if let i = awaitReadiness(direction, what: what, deadline: deadline) {
          throw i.error(what, timeout: timeout)
        }
        if isClosed { throw IOError.closed("\(what)") }
      default:
        throw IOError.system("\(what)", e)
      }
    }
  }

  /// Parks until `direction` is ready once (a connect's completion); throws as `perform`.
  package func waitFor(_ direction: IODirection, _ what: StaticString, timeout: Duration?, deadline: UInt64?) throws {
    try beginOperation(what)
    defer { endOperation() }
    if let i = awaitReadiness(direction, what: what, deadline: deadline) { throw i.error(what, timeout: timeout) }
    if isClosed { throw IOError.closed("\(what)") }
  }
}

/// Deadline for a `timeout` (nil: none), for WeftNet.
package func ioDeadline(_ timeout: Duration?, _ what: StaticString) throws -> UInt64? {
  guard let t = timeout else { return nil }
  try checkTimeout(t, what)
  return deadline(after: t)
}

/// errno of the calling thread; read it right after the failing call (a fiber may migrate,
/// DESIGN.md).
@inline(__always) package func currentErrno() -> Int32 { weft_errno() }

/// Open descriptors of this process (for leak tests), or -1.
package func openDescriptorCount() -> Int { Int(weft_open_descriptor_count()) }

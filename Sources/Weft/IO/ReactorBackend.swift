import CWeftIO

// The reactor's one system interface (Docs/Reactor.md). Epoll implements it today; an
// io_uring backend (IORING_OP_POLL_ADD with multishot, the eventfd registered the same way)
// can implement it later without touching the readiness slots, the poller role or the
// monitor. Every method may be called from any thread; `wait` by one poller at a time
// (Reactor P1).

/// Readiness bits a backend reports (epoll's values).
struct Readiness: OptionSet {
  let rawValue: UInt32
  static let readable = Readiness(rawValue: UInt32(truncatingIfNeeded: WEFT_IO_IN))
  static let writable = Readiness(rawValue: UInt32(truncatingIfNeeded: WEFT_IO_OUT))
  static let error = Readiness(rawValue: UInt32(truncatingIfNeeded: WEFT_IO_ERR))
  static let hangUp = Readiness(rawValue: UInt32(truncatingIfNeeded: WEFT_IO_HUP))
  static let readHangUp = Readiness(rawValue: UInt32(truncatingIfNeeded: WEFT_IO_RDHUP))
  /// What wakes a reader: data, end of stream, an error.
  static let wakesReader: Readiness = [.readable, .error, .hangUp, .readHangUp]
  /// What wakes a writer: room, an error, the peer gone.
  static let wakesWriter: Readiness = [.writable, .error, .hangUp]
}

protocol ReactorBackend: AnyObject, Sendable {
  /// Watches `fd` for reading and writing, edge-triggered, once for its whole life; `token`
  /// (never 0: 0 is the interrupt) comes back with its events. Returns 0 or errno.
  func register(fd: Int32, token: UInt64) -> Int32
  /// Stops watching `fd` (before it is closed).
  func deregister(fd: Int32)
  /// Waits up to `timeoutNanoseconds` (< 0: for ever; 0: does not block) for events, at most
  /// `capacity`, written to `masks`/`tokens`. Returns how many (0 on timeout, interrupt or EINTR).
  func wait(masks: UnsafeMutablePointer<UInt32>, tokens: UnsafeMutablePointer<UInt64>, capacity: Int,
            timeoutNanoseconds: Int64) -> Int
  /// Makes a blocked or the next `wait` return (any thread; the eventfd).
  func interrupt()
  /// The descriptor whose readability interrupts `wait`, for `Parker` (see Parker.swift).
  var interruptDescriptor: Int32 { get }
  /// Releases the backend's descriptors; no call may follow.
  func close()
}

/// Linux epoll: edge-triggered (EPOLLET) for I/O descriptors, level-triggered for the eventfd.
final class EpollBackend: ReactorBackend, @unchecked Sendable {
  // SAFETY: both descriptors are immutable after init; epoll and eventfd calls are thread-safe.
  let epoll: Int32
  let eventFD: Int32

  init() throws {
    let ep = weft_epoll_create()
    if ep < 0 { throw IOError.system("epoll_create1", -ep) }
    let ev = weft_eventfd_create()
    if ev < 0 { Glibc_close(ep); throw IOError.system("eventfd", -ev) }
    let rc = weft_epoll_add(ep, ev, UInt32(truncatingIfNeeded: WEFT_IO_IN), 0)
    if rc != 0 { Glibc_close(ep); Glibc_close(ev); throw IOError.system("epoll_ctl", rc) }
    epoll = ep
    eventFD = ev
  }

  func register(fd: Int32, token: UInt64) -> Int32 {
    let events = UInt32(truncatingIfNeeded: WEFT_IO_IN | WEFT_IO_OUT | WEFT_IO_RDHUP) | UInt32(truncatingIfNeeded: WEFT_IO_ET)
    return weft_epoll_add(epoll, fd, events, token)
  }

  func deregister(fd: Int32) { _ = weft_epoll_del(epoll, fd) }

  func wait(masks: UnsafeMutablePointer<UInt32>, tokens: UnsafeMutablePointer<UInt64>, capacity: Int,
            timeoutNanoseconds: Int64) -> Int {
    let n = weft_epoll_wait(epoll, masks, tokens, Int32(capacity), timeoutNanoseconds)
    if n < 0 { return 0 }  // EINTR: a spurious return, the caller polls again
    var kept = 0
    for i in 0..<Int(n) {
      if tokens[i] == 0 { weft_eventfd_drain(eventFD); continue }  // the interrupt
      masks[kept] = masks[i]
      tokens[kept] = tokens[i]
      kept += 1
    }
    return kept
  }

  func interrupt() { weft_eventfd_signal(eventFD) }
  var interruptDescriptor: Int32 { eventFD }

  func close() {
    Glibc_close(epoll)
    Glibc_close(eventFD)
  }
}

#if canImport(Glibc)
import Glibc
@inline(__always) func Glibc_close(_ fd: Int32) { _ = Glibc.close(fd) }
#endif

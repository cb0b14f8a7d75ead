// Interruptible waits: the record every blocked fiber leaves where interrupters, cancellers,
// timeouts and `schedule` can find it (Julia's `t.queue`, which `schedule(t, err; error=true)`
// unlinks with `list_deletefirst!`).
//
// Algorithm. Every wait that parks registers a `WaitRecord` (on the waiting fiber's stack) in
// the fiber's *signal word*, then joins its primitive's list ("the site"), unlocks and parks.
// The primitive's own notifier removes it under the site's lock and wakes it, as before
// (WaitQueue Q2). Anybody else who wants the wait to end — `schedule(t, error:)`, `cancel()`,
// a timeout — is an *interrupter*: it locks the signal word, reads the record, and asks the
// site to unlink the fiber (`tryUnlink`, which only try-locks the site's lock). Whoever takes
// the fiber out of the site's list — notifier or interrupter — is the one that wakes it, so
// each wait ends exactly once, and a waiter is never left linked after it returns.
//
// The signal word (`AnyFiber.signal`, one atomic word per fiber):
//
//     bits 4…63   record pointer << 1 (records are 8-aligned: the low 4 bits are free), or 0
//     bit 3       SCHEDULE_PENDING  a `schedule(t, value:)` came while `t` was not in `wait()`
//     bit 2       INTERRUPT_PENDING a `schedule(t, error:)` came while `t` was not waiting
//     bit 1       CANCELLED         sticky, set by `cancel()`
//     bit 0       LOCKED            an interrupter or scheduler holds the word (a spin lock)
//
// Invariants:
// - R1: the record pointer is set by the fiber itself (registration), while it holds its
//   site's lock and before it joins the site's list; it is cleared only by the fiber itself
//   after its park returned (deregistration). Both CAS the word and never while LOCKED.
// - R2: while a thread holds LOCKED and sees a record, the record (on the waiter's stack) and
//   its site are alive: the waiter cannot deregister (R1) and so cannot leave its wait.
// - R3: an interrupter holding LOCKED only *try*-locks a site (lock order: site lock, then the
//   signal word; never the reverse while blocking); when that fails it unlocks the word and
//   retries, so a waiter registering under its site lock never deadlocks with it.
// - R4: the unlinker writes `interruption` before its wake; the waiter reads it after its park
//   returns (ordered by the wake, FiberState F3).
// - R5: pending bits and CANCELLED change only while LOCKED is held (unlock is a plain release
//   store of the new word), or by the owner's registration CAS, which keeps them.
// - R6: a timeout's action acts only on the record it was made for; the waiter cancels the
//   timer (Timers T3: cancel waits for a running action) before it deregisters, so a record
//   address reused by a later wait is never mistaken for the old one.
//
// | field                  | written by                                 | read by                     |
// |------------------------|--------------------------------------------|-----------------------------|
// | signal word            | the fiber (CAS, R1), lockers (R5)          | everyone                    |
// | record.interruption    | the unlinker, under the site lock or LOCKED | the waiter after waking (R4) |
// | record.claimed         | claim sites (bare wait, sleep), under LOCKED | the same                  |
// | cold.pendingError/Value| holders of LOCKED                          | holders of LOCKED           |

/// Why an interruptible wait ended other than by its own notifier.
@usableFromInline
enum WaitInterruption {
  /// `schedule(t, error:)`: the wait throws this error.
  case error(any Error)
  /// `cancel()`: the wait throws `CancellationError`.
  case cancelled
  /// The wait's timeout passed: the wait throws `TimeoutError`.
  case timedOut
}

/// What a fiber can be blocked in: a primitive that can take a registered fiber out of its
/// list when an interrupter asks.
@usableFromInline
protocol WaitSite: AnyObject {
  /// Takes `fiber` (whose wait `record` is) out of this site's list if it is still there, recording
  /// `reason` in the record (R4). Called with the fiber's signal word LOCKED (R2); must not
  /// block (R3): it try-locks the site's lock and answers `.busy` when that fails.
  func tryUnlink(_ fiber: AnyFiber, _ record: UnsafeMutablePointer<WaitRecord>, _ reason: WaitInterruption) -> UnlinkOutcome
}

@usableFromInline
enum UnlinkOutcome {
  /// Taken out: the caller wakes the fiber.
  case unlinked
  /// Its notifier took it first (or it was never linked): the wait ends normally.
  case notWaiting
  /// The site's lock was held: retry.
  case busy
}

/// One wait's record, on the waiting fiber's stack for the whole wait.
@usableFromInline
struct WaitRecord {
  // SAFETY (unowned(unsafe)): the waiting frame keeps its site alive for the whole wait, and
  // the record is read by others only while the waiter is still in the wait (R2).
  unowned(unsafe) let site: any WaitSite
  /// What the fiber waits in, for messages ("Event.wait", "ReentrantLock.lock").
  let what: StaticString
  /// False for waits that must not be abandoned (ReentrantLock.lock): interrupting one is misuse.
  let interruptible: Bool
  /// Set by an unlinker other than the notifier (R4).
  var interruption: WaitInterruption? = nil
  /// For claim sites (bare `wait()`, `sleep`): whether a waker has claimed the wait (under LOCKED).
  var claimed = false
  /// Site-specific: the channel cell, the timer entry, …
  var context: UnsafeMutableRawPointer? = nil

  init(site: any WaitSite, what: StaticString, interruptible: Bool = true) {
    self.site = site
    self.what = what
    self.interruptible = interruptible
  }
}

/// Bits of the signal word (see the file comment).
enum Signal {
  static let locked: UInt = 1
  static let cancelled: UInt = 2
  static let interruptPending: UInt = 4
  static let schedulePending: UInt = 8
  static let flagMask: UInt = 0xF

  @inline(__always) static func encode(_ r: UnsafeMutablePointer<WaitRecord>) -> UInt {
    UInt(bitPattern: r) << 1  // x86-64/arm64 user addresses are below 2^48: the shift loses nothing
  }
  @inline(__always) static func record(_ word: UInt) -> UnsafeMutablePointer<WaitRecord>? {
    UnsafeMutablePointer(bitPattern: (word & ~flagMask) >> 1)
  }
}

/// Thrown by a wait whose `timeout:` passed (every blocking operation takes one, as a
/// `Duration`; `nil` waits for ever).
public struct TimeoutError: Error, CustomStringConvertible, Sendable, Equatable {
  /// The operation that gave up, e.g. "Channel.take".
  public let operation: String
  /// The timeout it was given.
  public let timeout: Duration
  /// The error for `operation` (such as `"Channel.take"`) giving up after `timeout`.
  public init(operation: String, timeout: Duration) {
    self.operation = operation
    self.timeout = timeout
  }
  public var description: String { "TimeoutError: \(operation) timed out after \(timeout)" }
}

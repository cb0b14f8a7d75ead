// OneWayEvent: the Julia manual's "low-level synchronization using schedule and wait" example,
// made a public primitive.
//
// Algorithm (the manual's): one atomic word, EMPTY → WAITING → NOTIFYING or EMPTY → NOTIFYING.
// - wait: record the current context in `waiter`, then CAS EMPTY → WAITING. Success means the
//   notifier is now obliged to wake us, so park at once (the bare `wait()`). Failure means the
//   word is already NOTIFYING: return.
// - notify: move the word to NOTIFYING (CAS loop). If it was WAITING, the waiter is parked or
//   about to park, and only this notifier may wake it (Julia's "the caller must own the task").
//
// Invariants:
// - O1: `waiter` is written only by the waiter, before its CAS EMPTY → WAITING (full), and read
//   only by the notifier after its CAS WAITING → NOTIFYING (full), which synchronises with it.
// - O2: the word reaches NOTIFYING exactly once and never leaves it; so at most one wake, and
//   only when the waiter registered (WAITING), which is exactly when it parks.
// - O3: the wake may arrive before the waiter has parked; `park()` keeps it (FiberState F3).
// - O4: interruption (WaitRecord.swift): the waiter registers its record before its CAS
//   EMPTY → WAITING; an interrupter takes it back with a CAS WAITING → EMPTY, which races the
//   notifier's WAITING → NOTIFYING: whoever moves the word out of WAITING wakes the waiter.
//   The stale `waiter` reference left behind is overwritten by the next waiter (O1).
//
// | field (word) | written by                      | read by                         |
// |--------------|---------------------------------|---------------------------------|
// | word (0)     | waiter (CAS), notifier (CAS), interrupter (CAS, O4) | all              |
// | waiter       | the waiter, before its CAS (O1) | the notifier, after its CAS     |

/// A one-shot event for exactly one waiting fiber and one notifier, built on atomics and the
/// bare park/wake (the `OneWayEvent` of the Julia manual's "Low-level synchronization using
/// schedule and wait").
///
/// - **Triggering:** level, one-shot: once `notify()` has run, `wait()` returns at once, forever;
///   there is no reset (make a new one).
/// - **Memory ordering:** acquire/release: the notifier's writes before `notify()` are visible
///   to the waiter after `wait()` (sequentially consistent CASes on one word).
/// - **Blocks:** `wait()` parks the calling fiber (never its worker) or, off the workers, the
///   calling thread. No locks: the cheapest blocking hand-over in Weft.
/// - **Errors / contract:** one waiter and one notifier per event. A second fiber waiting while
///   another waits is `Weft misuse:` (detected). A second `notify()` does nothing. A wait
///   that is not the only thing that can wake that fiber (e.g. someone else `schedule`s it)
///   breaks the contract, as in Julia.
/// - **Julia:** the manual's `OneWayEvent` with `notify(ev)` / `wait(ev)`; Weft's also allows a
///   wait after the notify (it returns at once) and reports a second concurrent waiter.
public final class OneWayEvent: WaitSite, @unchecked Sendable {
  // SAFETY (for @unchecked Sendable): `word` is atomic; `waiter` is handed from the waiter to
  // the notifier through the state word's full CASes (O1).
  private let words = AtomicBlock(count: 1)
  @inline(__always) private var word: AtomicWord { words[0] }
  @exclusivity(unchecked) private var waiter: AnyFiber?  // O1: handed over by the state CASes

  static let empty: UInt = 0
  static let waiting: UInt = 1
  static let notifying: UInt = 2

  /// Creates an event that has not been notified.
  public init() {}
  deinit { words.deallocate() }

  /// Whether `notify()` has run (a snapshot).
  public var isNotified: Bool { word.loadAcquire() == OneWayEvent.notifying }

  /// The state of the event's word (the manual's `EMPTY`, `WAITING`, `NOTIFYING`).
  public enum State: Sendable, Equatable {
    /// Neither a `wait()` nor a `notify()` has reached the word yet.
    case empty
    /// A fiber waits (it has registered and parks, or is about to); no `notify()` yet.
    case waiting
    /// `notify()` has run; it stays so forever (O2).
    case notifying
  }

  /// A snapshot of the state word (the manual's `ev.state`), for diagnostics and tests.
  ///
  /// - **Memory ordering:** an acquire load; `.notifying` makes the notifier's writes before
  ///   `notify()` visible, as `isNotified` does.
  /// - **Stability:** `.notifying` is final; `.empty` and `.waiting` may change at once.
  /// - **Blocks:** never.
  public var state: State {
    let s = word.loadAcquire()
    if s == OneWayEvent.empty { return .empty }
    if s == OneWayEvent.waiting { return .waiting }
    return .notifying
  }

  /// Wakes the waiter if it waits; otherwise makes its coming `wait()` return at once.
  public func notify() {
    var s = word.loadAcquire()
    while s != OneWayEvent.notifying {
      // Full CAS: pairs with the waiter's CAS EMPTY → WAITING (O1, O2).
      let seen = word.fetchCompareExchangeFull(s, OneWayEvent.notifying)
      if seen == s {
        if s == OneWayEvent.waiting {
          // We own the waiter's wake now (O2); it parks or is about to (O3).
          let w = waiter.unsafelyUnwrapped
          waiter = nil
          w.wake()
        }
        return
      }
      s = seen
    }
  }

  /// Blocks the calling fiber until `notify()` (returns at once if it already ran).
  /// - Parameter timeout: give up after this long (nil: wait for ever).
  /// - Throws: `TimeoutError`; an interruption's error (`schedule(_:error:)`) or
  ///   `CancellationError` — then the event is empty again (O4) and can be waited on anew.
  /// - Precondition: no other fiber is waiting on this event.
  public func wait(timeout: Duration? = nil) throws {
    try checkTimeout(timeout, "OneWayEvent.wait")
    let s = word.loadAcquire()
    if s == OneWayEvent.notifying { return }
    if s == OneWayEvent.waiting { secondWaiter() }
    let me = AnyFiber.currentContext
    let due = timeout.map(deadline(after:))
    var record = WaitRecord(site: self, what: "OneWayEvent.wait")
    let interruption = withUnsafeMutablePointer(to: &record) { r -> WaitInterruption? in
      // O4: registered before WAITING is published, so an interrupter can find us.
      if case .interrupted(let i) = me.beginWait(r) { return i }
      waiter = me  // O1: published by the CAS below
      let seen = word.fetchCompareExchangeFull(OneWayEvent.empty, OneWayEvent.waiting)
      if seen == OneWayEvent.empty {
        // The notifier (or an interrupter, O4) must now wake us; park immediately.
        me.parkWaiting(r, deadline: due)
        return me.endWait(r)
      }
      // Never WAITING: nobody can unlink us (O4), so no wake is owed.
      _ = me.endWait(r)
      if seen == OneWayEvent.waiting { secondWaiter() }
      // NOTIFYING: the notifier came first and will not touch `waiter`.
      waiter = nil
      return nil
    }
    if let interruption { throw interruption.error("OneWayEvent.wait", timeout: timeout) }
  }

  /// O4: an interrupter takes the waiter back with WAITING → EMPTY (WaitSite).
  @usableFromInline func tryUnlink(_ fiber: AnyFiber, _ r: UnsafeMutablePointer<WaitRecord>, _ reason: WaitInterruption) -> UnlinkOutcome {
    // Taken back already (by an interrupter, while the waiter has not deregistered yet): the
    // word is EMPTY again, which must not read as "about to be WAITING" — a timeout's action
    // would retry for ever while the waiter waits in `Timers.cancel` for that action (T3).
    // `interruption` was written under the fiber's LOCKED, which the caller holds now (R4, R5).
    if r.pointee.interruption != nil { return .notWaiting }
    // Full CAS: races the notifier's CAS WAITING → NOTIFYING; the winner wakes the waiter (O2, O4).
    let seen = word.fetchCompareExchangeFull(OneWayEvent.waiting, OneWayEvent.empty)
    if seen == OneWayEvent.waiting {
      r.pointee.interruption = reason  // R4
      return .unlinked
    }
    // EMPTY: registered but not yet WAITING — it is about to be; retry. NOTIFYING: too late.
    return seen == OneWayEvent.empty ? .busy : .notWaiting
  }

  @inline(never)
  private func secondWaiter() -> Never {
    preconditionFailure("Weft misuse: OneWayEvent.wait() while another fiber waits on it; a OneWayEvent has "
      + "exactly one waiter (use Event or Condition for several)")
  }
}

// The fiber side of interruptible waits (see WaitRecord.swift for the protocol and R1–R6):
// registering and deregistering a record, interrupting, cancelling, and the `schedule` wake
// of a fiber blocked in a bare `wait()`.

/// How `beginWait` ended.
enum WaitStart {
  /// Registered: join the site's list, unlock it, park, then `endWait`.
  case registered
  /// Not registered: a pending interruption or cancellation; the wait throws it at once.
  case interrupted(WaitInterruption)
  /// Not registered: a bare `wait()` found a pending `schedule` (its value is in `wakeValue`).
  case scheduled
}

extension AnyFiber {
  @inline(__always) var signal: AtomicWord { word(FiberCore.Word.signal) }

  /// Julia has no cancellation; Weft's `cancel()` (Swift's `Task.cancel()`): sticky, seen by
  /// the current or next interruptible wait.
  public var isCancelled: Bool { signal.loadAcquire() & Signal.cancelled != 0 }

  // MARK: The waiter (R1)

  /// R1: registers `r`; the caller holds its site's lock and has not joined the list yet.
  @inline(__always)
  func beginWait(_ r: UnsafeMutablePointer<WaitRecord>) -> WaitStart {
    // Full CAS: publishes the record; pairs with `lockSignal`'s acquire CAS (R2).
    if signal.compareExchangeFull(0, Signal.encode(r)) { return .registered }
    return beginWaitSlow(r)
  }

  @inline(never)
  private func beginWaitSlow(_ r: UnsafeMutablePointer<WaitRecord>) -> WaitStart {
    var s = lockSignal()
    if let other = Signal.record(s) {
      unlockSignal(s)
      preconditionFailure("BUG IN Weft: fiber \(id) began a wait in \(r.pointee.what) while still registered in "
        + "\(other.pointee.what) (already in a wait list)")
    }
    if r.pointee.interruptible {
      if s & Signal.interruptPending != 0 {
        let e = cold.pendingError.take()
        unlockSignal(s & ~Signal.interruptPending)
        return .interrupted(.error(e.unsafelyUnwrapped))
      }
      if s & Signal.cancelled != 0 {
        unlockSignal(s)
        return .interrupted(.cancelled)
      }
    }
    if s & Signal.schedulePending != 0, r.pointee.site === ClaimSite.bareWait {
      wakeValue = cold.pendingValue.take()
      unlockSignal(s & ~Signal.schedulePending)
      return .scheduled
    }
    s |= Signal.encode(r)
    unlockSignal(s)
    return .registered
  }

  /// R1: deregisters `r` once the park returned; returns how the wait was interrupted, if it was.
  @inline(__always)
  func endWait(_ r: UnsafeMutablePointer<WaitRecord>) -> WaitInterruption? {
    // Full CAS: pairs with `lockSignal`'s acquire (an interrupter locking later sees no record).
    if !signal.compareExchangeFull(Signal.encode(r), 0) { endWaitSlow(Signal.encode(r)) }
    return r.pointee.interruption  // R4: written before the wake that resumed us
  }

  @inline(never)
  private func endWaitSlow(_ mine: UInt) {
    while true {
      let s = signal.loadRelaxed()
      precondition(s & ~Signal.flagMask == mine, "BUG IN Weft: fiber \(id) ended a wait it was not registered in")
      // R1: never while LOCKED; keep the pending and cancelled bits (R5).
      if s & Signal.locked == 0, signal.compareExchangeFull(s, s & Signal.flagMask) { return }
      cpuRelax()
    }
  }

  /// Puts an interruption that a wait could not deliver (a non-throwing iterator's `next()`)
  /// back for the fiber's next interruptible wait. Called by the fiber itself.
  func rearm(_ interruption: WaitInterruption) {
    guard case .error(let e) = interruption else { return }  // cancellation is sticky anyway
    let s = lockSignal()
    if s & Signal.interruptPending == 0 { cold.pendingError = e }
    unlockSignal(s | Signal.interruptPending)
  }

  // MARK: The signal word's lock (R5)

  /// Spins until it holds LOCKED (holders keep it for a few instructions, R3); returns the word.
  func lockSignal() -> UInt {
    while true {
      let s = signal.loadRelaxed()
      // Acquire: pairs with `unlockSignal`'s release and the owner's registration CAS (R2).
      if s & Signal.locked == 0, signal.compareExchangeAcquire(s, s | Signal.locked) { return s }
      cpuRelax()
    }
  }

  /// Releases LOCKED, storing `s` (the pending, cancelled and record bits to keep).
  func unlockSignal(_ s: UInt) {
    // Release: pairs with the next `lockSignal`'s acquire and the owner's CASes (R1).
    signal.storeRelease(s & ~Signal.locked)
  }

  // MARK: Interrupters

  /// Ends this fiber's interruptible wait with `reason`. Not waiting: `.error` is kept for its
  /// next interruptible wait (the first one pending wins), `.cancelled` leaves the sticky flag.
  /// `only`: act only on that wait (a timeout, R6).
  func interrupt(_ reason: WaitInterruption, only: UnsafeMutablePointer<WaitRecord>? = nil) {
    while true {
      var s = lockSignal()
      if case .cancelled = reason { s |= Signal.cancelled }
      guard let r = Signal.record(s), only == nil || only == r else {
        if only == nil { keepPending(reason, &s) }
        unlockSignal(s)
        return
      }
      if !r.pointee.interruptible {
        unlockSignal(s)
        if case .error = reason { uninterruptible(r.pointee.what) }
        return  // cancel: the flag waits for the next interruptible wait
      }
      switch r.pointee.site.tryUnlink(self, r, reason) {
      case .unlinked:
        unlockSignal(s)
        wake()  // Q2: we took it out, so we wake it
        return
      case .notWaiting:
        if only == nil { keepPending(reason, &s) }
        unlockSignal(s)
        return
      case .busy:
        unlockSignal(s)  // R3
        cpuRelax()
      }
    }
  }

  private func keepPending(_ reason: WaitInterruption, _ s: inout UInt) {
    guard case .error(let e) = reason, s & Signal.interruptPending == 0 else { return }
    cold.pendingError = e
    s |= Signal.interruptPending
  }

  @inline(never)
  private func uninterruptible(_ what: StaticString) -> Never {
    preconditionFailure("Weft misuse: schedule(_:error:) of fiber \(id), which is blocked in \(what), a wait that cannot "
      + "be interrupted; use a timed or interruptible form (e.g. ReentrantLock.tryLock(timeout:))")
  }

  /// `schedule(t)` / `schedule(t, value:)` of a started fiber: wakes it from a bare `wait()` or
  /// `yield(to:)`, or, when it is not in one, keeps the value for its next `wait()`.
  func scheduleWake(value: (any Sendable)?) {
    var s = lockSignal()
    if let r = Signal.record(s) {
      guard r.pointee.site === ClaimSite.bareWait else {
        unlockSignal(s)
        preconditionFailure("Weft misuse: schedule(_:value:) of fiber \(id), which is blocked in \(r.pointee.what); "
          + "only a fiber blocked in wait() or yield(to:) can be scheduled with a value (Julia: \"schedule: Task not "
          + "runnable\"); use schedule(_:error:) or cancel() to interrupt it")
      }
      guard !r.pointee.claimed else {
        // Claimed by an interrupter (it set `interruption`, R4): that wait ends by the
        // interruption and the fiber is as good as runnable, so, as for any runnable fiber,
        // the schedule is kept for its next wait(). Claimed by a schedule: twice.
        if r.pointee.interruption != nil && s & Signal.schedulePending == 0 {
          cold.pendingValue = value
          unlockSignal(s | Signal.schedulePending)
          return
        }
        unlockSignal(s)
        scheduledTwice()
      }
      r.pointee.claimed = true
      wakeValue = value
      unlockSignal(s)
      wake()
      return
    }
    if state.loadAcquire() == FiberState.done {
      unlockSignal(s)
      preconditionFailure("Weft misuse: schedule(_:) of fiber \(id), which is done; a finished fiber cannot run again")
    }
    if s & Signal.schedulePending != 0 { unlockSignal(s); scheduledTwice() }
    cold.pendingValue = value
    s |= Signal.schedulePending
    unlockSignal(s)
  }

  @inline(never)
  private func scheduledTwice() -> Never {
    preconditionFailure("Weft misuse: schedule(_:) of fiber \(id), which was already scheduled and has not run its "
      + "wait() since (Julia: \"schedule: Task not runnable\")")
  }
}

/// The sites of waits whose only list is the record itself: a bare `wait()` (woken by
/// `schedule`) and `sleep` (woken by its timer). A waker *claims* the record under the fiber's
/// LOCKED bit; whoever claims first wakes the fiber.
final class ClaimSite: WaitSite, @unchecked Sendable {
  // SAFETY: stateless.
  static let bareWait = ClaimSite()
  static let sleep = ClaimSite()

  @usableFromInline func tryUnlink(_ fiber: AnyFiber, _ r: UnsafeMutablePointer<WaitRecord>, _ reason: WaitInterruption) -> UnlinkOutcome {
    // The caller holds the fiber's LOCKED, which guards `claimed` (R5).
    if r.pointee.claimed { return .notWaiting }
    r.pointee.claimed = true
    r.pointee.interruption = reason
    return .unlinked
  }
}

/// A timer action's reference to one wait record (R6).
struct RecordRef: @unchecked Sendable {
  // SAFETY: used only by the timer action, which runs before the waiter's `Timers.cancel`
  // returns (T3), i.e. while the record is alive, and checks it is still registered (R6).
  let pointer: UnsafeMutablePointer<WaitRecord>
}

/// Monotonic deadline `timeout` from now (saturating: a huge timeout never wraps around).
func deadline(after timeout: Duration) -> UInt64 {
  let (s, atto) = timeout.components
  if s < 0 || (s == 0 && atto <= 0) { return monotonicNanoseconds() }
  let ns = s >= 1 << 33 ? UInt64(1) << 62 : UInt64(s) * 1_000_000_000 + UInt64(atto / 1_000_000_000)
  return monotonicNanoseconds() &+ ns
}

/// Rejects a negative timeout with a clear error (Duration can be negative). Inlined: the
/// common wait has no timeout, and the call cost 18 instructions per wait (callgrind).
@inline(__always)
func checkTimeout(_ timeout: Duration?, _ what: StaticString) throws {
  if let t = timeout { try checkTimeout(t, what) }
}

private func checkTimeout(_ t: Duration, _ what: StaticString) throws {
  if t < .zero { throw ArgumentError("\(what): negative timeout \(t)") }
}

extension WaitInterruption {
  /// The error an interrupted wait throws.
  func error(_ what: StaticString, timeout: Duration?) -> any Error {
    switch self {
    case .error(let e): return e
    case .cancelled: return CancellationError()
    case .timedOut: return TimeoutError(operation: "\(what)", timeout: timeout ?? .zero)
    }
  }
}

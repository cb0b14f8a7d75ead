// Readiness slots: how a fiber waits for a descriptor without losing an edge (Go's pollDesc
// rg/wg, Tokio's ScheduledIo). Every descriptor has two slots, one for reading and one for
// writing, each one atomic word:
//
//     EMPTY   (0)        no readiness seen since it was last consumed, nobody waits
//     READY   (1)        an edge (or close) arrived; the next waiter consumes it and retries
//     LINKING (2)        a fiber is registering (a few instructions: beginWait, then publish)
//     fiber   (other)    a retained `Unmanaged<AnyFiber>`: that fiber is parked on the slot
//
// Transitions:
// - notify (the poller, or close): exchange → READY. If the old value was a fiber, the
//   notifier now owns its reference and wakes it. LINKING or EMPTY: nothing to wake (S2).
// - wait (the fiber, after its system call said EAGAIN): READY → EMPTY by CAS (consumed: try
//   the call again); EMPTY → LINKING by CAS, register the WaitRecord in the signal word
//   (beginWait), LINKING → fiber by CAS, park. If the LINKING → fiber CAS fails, a notify
//   came in between: undo the registration and consume the READY.
// - interrupt (timeout, cancel, schedule(_:error:)): `tryUnlink` CASes fiber → EMPTY; the
//   interrupter then owns the reference and wakes the fiber. It finds LINKING: `.busy`, it
//   retries (WaitRecord R3; the registering fiber holds no lock the interrupter needs).
//
// Invariants:
// - S1: one fiber at most waits on a slot (two fibers reading one socket at once is misuse,
//   reported with `Weft misuse:`; Julia's streams serialise readers with a lock, and so do
//   WeftNet's streams, so their users never see this).
// - S2: a readiness edge is never lost: the notifier's exchange writes READY whatever the
//   slot held, and the waiter consumes READY *before* its system call (never after), so an
//   edge that arrives after the call returned EAGAIN is either READY when the waiter looks,
//   or fails its LINKING → fiber CAS.
// - S3: whoever takes the fiber value out of the slot (exchange or CAS) owns its reference
//   and is the only one that wakes it (WaitQueue Q2's rule, lock-free).
// - S4: orderings: every transition is a full CAS/exchange; the notifier's exchange pairs
//   with the waiter's CASes, so what the kernel reported is visible to the retried call
//   (which re-reads the kernel anyway).
//
// | field        | written by                                        | read by            |
// |--------------|---------------------------------------------------|--------------------|
// | slot word    | poller/close (exchange), waiter (CAS), interrupter (CAS) | all three   |

/// Which readiness a waiter needs.
package enum IODirection: Int, Sendable {
  case read = 0
  case write = 1
}

enum SlotValue {
  static let empty: UInt = 0
  static let ready: UInt = 1
  static let linking: UInt = 2
}

extension IODescriptor {
  /// Notify (S2): marks `direction` ready; returns the fiber that waited, whose reference
  /// the caller now owns and must wake (S3).
  @inline(__always)
  func notify(_ direction: IODirection) -> AnyFiber? {
    // Full exchange: pairs with the waiter's CASes (S4).
    let old = slot(direction).exchangeFull(SlotValue.ready)
    guard old > SlotValue.linking else { return nil }
    return Unmanaged<AnyFiber>.fromOpaque(UnsafeRawPointer(bitPattern: old).unsafelyUnwrapped).takeRetainedValue()
  }

  /// Waits until `direction` is ready (or was since the last consume). Returns nil when the
  /// caller should retry its system call; else why the wait was interrupted.
  func awaitReadiness(_ direction: IODirection, what: StaticString, deadline: UInt64?) -> WaitInterruption? {
    let word = slot(direction)
    let me = AnyFiber.currentContext
    while true {
      let s = word.loadAcquire()
      if s == SlotValue.ready {
        if word.compareExchangeFull(SlotValue.ready, SlotValue.empty) { return nil }  // S2: consumed
        continue
      }
      if s != SlotValue.empty {
        preconditionFailure("Weft misuse: two fibers wait to \(direction == .read ? "read" : "write") descriptor \(fd) "
          + "at once (\(what)); serialise them with a lock, or give each its own descriptor")
      }
      if let d = deadline, d <= monotonicNanoseconds() { return .timedOut }
      guard word.compareExchangeFull(SlotValue.empty, SlotValue.linking) else { continue }
      var record = WaitRecord(site: self, what: what)
      record.context = UnsafeMutableRawPointer(bitPattern: direction.rawValue + 1)
      let outcome = withUnsafeMutablePointer(to: &record) { r -> WaitInterruption?? in
        switch me.beginWait(r) {
        case .registered: break
        case .interrupted(let i):
          // Not registered: put the slot back; a notify that came meanwhile left READY,
          // which the next wait consumes (S2).
          _ = word.compareExchangeFull(SlotValue.linking, SlotValue.empty)
          return .some(i)
        case .scheduled:
          preconditionFailure("BUG IN Weft: an I/O wait was taken for a bare wait()")
        }
        let mine = Unmanaged.passRetained(me)
        let value = UInt(bitPattern: mine.toOpaque())
        if !word.compareExchangeFull(SlotValue.linking, value) {
          // A notify replaced LINKING with READY (S2): do not park; consume it.
          mine.release()
          if let i = me.endWait(r) { return .some(i) }
          return .some(nil)
        }
        reactor.waiterArrived()
        me.parkWaiting(r, deadline: deadline)
        reactor.waiterLeft()
        return .some(me.endWait(r))
      }
      switch outcome {
      case .some(.some(let i)): return i
      case .some(.none): continue  // woken by a notify: consume READY at the top
      case .none: continue
      }
    }
  }

  /// S3: an interrupter's removal of the waiting fiber (WaitSite).
  @usableFromInline func tryUnlink(_ fiber: AnyFiber, _ r: UnsafeMutablePointer<WaitRecord>, _ reason: WaitInterruption) -> UnlinkOutcome {
    let direction = IODirection(rawValue: Int(bitPattern: r.pointee.context) - 1).unsafelyUnwrapped
    let word = slot(direction)
    let mine = UInt(bitPattern: Unmanaged.passUnretained(fiber).toOpaque())
    let seen = word.fetchCompareExchangeFull(mine, SlotValue.empty)
    if seen == mine {
      r.pointee.interruption = reason  // R4: before the interrupter's wake
      Unmanaged<AnyFiber>.fromOpaque(UnsafeRawPointer(bitPattern: mine).unsafelyUnwrapped).release()  // S3: the caller still holds one
      return .unlinked
    }
    return seen == SlotValue.linking ? .busy : .notWaiting
  }
}

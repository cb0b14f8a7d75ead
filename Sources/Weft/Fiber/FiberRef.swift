/// An uncounted reference to a fiber, as run queues, the run-next slot, wait lists and the
/// worker loop hold it: moving a fiber through the scheduler touches no reference count.
///
/// Who keeps a fiber alive (the ownership table; Docs/Architecture.md, "Fiber ownership"):
///
/// | step                          | counted references                               | uncounted (`FiberRef`)            |
/// |-------------------------------|--------------------------------------------------|-----------------------------------|
/// | created (`Fiber { }`)          | the user's handles                               | —                                 |
/// | submit (spawn, schedule)       | + the run reference (O1), taken by `submit`      | the queue entry                   |
/// | pop, steal, run-next, inbox    | unchanged                                        | the worker's `current`            |
/// | park                           | unchanged                                        | the wait list / wait record       |
/// | wake                           | unchanged                                        | the queue entry (run-next, inbox) |
/// | inline run (Completion I1)     | unchanged; the waiter's caller holds the child    | the worker's `current`            |
/// | finish                         | − the run reference, dropped by the loop after the final switch (or by the inline runner) | — |
/// | freed (last reference gone)    | none: the block is the freeing thread's cache's (FiberCore A2) until reused | — |
///
/// - O1: a fiber that was submitted holds one reference to itself, the run reference, from
///   `Scheduler.submit` until the worker loop that took its final switch has given its stack
///   back (`Worker.afterSwitch`, `.finish`), or until an inline run of it returns. So a
///   submitted fiber that is not done is always alive, whatever its user handles do.
/// - O2: every place a submitted, unfinished fiber can sit — a run queue, the run-next slot,
///   an inbox, a wait list, a channel cell, the worker's `current` — holds a `FiberRef`: it is
///   valid as long as the fiber is in that place, by O1. A thread fiber is never queued; in a
///   wait list it is alive because its thread is blocked in that wait (and `wake` retains it
///   across the futex wake, Park.swift).
/// - O2a: the running fiber's own frame holds a `FiberRef` to itself (`currentContextRef`;
///   a channel's `putWaiting`/`takeWaiting`): a worker's fiber is alive while it runs by O1,
///   a thread fiber by its thread's slot, which holds a counted reference until the thread
///   exits (Park.swift).
/// - O3: nothing touches a fiber through a `FiberRef` after handing it on (pushing it to a
///   queue, waking it): from then on another worker may run it to its end and free it.
/// - O4 (debug builds): `RunReferenceLedger` records every run reference taken and dropped: taking
///   one twice or dropping one that is not held stops the program, and tests check that none
///   is left once a scheduler's fibers are done.
@usableFromInline
struct FiberRef: Equatable, @unchecked Sendable {
  // SAFETY: a plain address; validity is by O1/O2, not by this type.
  /// The fiber object's address (never 0).
  @usableFromInline let bits: UInt

  @inlinable @inline(__always) init(_ fiber: AnyFiber) {
    bits = UInt(bitPattern: Unmanaged.passUnretained(fiber).toOpaque())
  }

  /// From a word a queue stored; nil for 0.
  @inline(__always) init?(bits: UInt) {
    guard bits != 0 else { return nil }
    self.bits = bits
  }

  @inline(__always) var unmanaged: Unmanaged<AnyFiber> {
    Unmanaged<AnyFiber>.fromOpaque(UnsafeRawPointer(bitPattern: bits).unsafelyUnwrapped)
  }

  /// Borrows the fiber for `body`, counting nothing (O2 keeps it alive meanwhile).
  @inline(__always) func with<R>(_ body: (AnyFiber) throws -> R) rethrows -> R {
    try unmanaged._withUnsafeGuaranteedRef(body)
  }

  /// Wakes the fiber (`AnyFiber.wake`); the last use of `self` (O3).
  @inline(__always) func wake() { with { $0.wake() } }

  /// The fiber's id.
  var id: UInt64 { with { $0.id } }

  /// A counted reference, for cold paths and tests.
  var fiber: AnyFiber { unmanaged.takeUnretainedValue() }

  /// O1: the run reference, taken once by `Scheduler.submit`.
  @inline(__always) static func takeRunReference(_ fiber: AnyFiber) -> FiberRef {
    _ = Unmanaged.passRetained(fiber)
    RunReferenceLedger.tookRunReference(fiber)
    return FiberRef(fiber)
  }

  /// O1: drops the run reference; the fiber may be freed here. The last use of `self`.
  @inline(__always) func dropRunReference() {
    RunReferenceLedger.droppedRunReference(bits)
    unmanaged.release()
  }
}

/// O4: in debug builds, checks that every run reference is taken once and dropped once.
/// Costs nothing in release builds.
enum RunReferenceLedger {
  #if DEBUG
  private static let lock = OwnedFutexLock()
  nonisolated(unsafe) private static var holding: Set<UInt> = []
  #endif

  @inline(__always) static func tookRunReference(_ fiber: AnyFiber) {
    #if DEBUG
    let bits = FiberRef(fiber).bits
    lock.lock.withLock {
      let fresh = holding.insert(bits).inserted
      precondition(fresh, "BUG IN Weft: fiber \(fiber.id) took its run reference twice (O1)")
    }
    #endif
  }

  @inline(__always) static func droppedRunReference(_ bits: UInt) {
    #if DEBUG
    lock.lock.withLock {
      let held = holding.remove(bits) != nil
      precondition(held, "BUG IN Weft: a fiber's run reference was dropped twice, or never taken (O1)")
    }
    #endif
  }

  /// Fibers holding a run reference now (debug builds; 0 in release), for tests.
  static var runReferencesHeld: Int {
    #if DEBUG
    return lock.lock.withLock { holding.count }
    #else
    return 0
    #endif
  }
}

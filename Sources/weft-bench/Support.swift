import Synchronization
import Weft

/// A shared counter for checking that every fiber ran (benchmark bookkeeping, not Weft).
final class Counter: Sendable {
  private let count = Atomic<Int>(0)
  func increment() { count.add(1, ordering: .relaxed) }
  var value: Int { count.load(ordering: .acquiring) }
}

/// The "simple internal gate" many_waiters_memory uses until Event is available: fibers
/// register and `wait()`; `open()` schedules every registered fiber once.
final class Gate: Sendable {
  private let state = Mutex<(open: Bool, waiters: [AnyFiber])>((false, []))

  /// Blocks the calling fiber until `open()`.
  func pass() throws {
    let me = Fiber.current
    let mustWait = state.withLock { s -> Bool in
      if s.open { return false }
      s.waiters.append(me)
      return true
    }
    if mustWait { _ = try wait() }
  }

  var waiting: Int { state.withLock { $0.waiters.count } }

  func open() {
    let ws = state.withLock { s -> [AnyFiber] in
      s.open = true
      defer { s.waiters = [] }
      return s.waiters
    }
    for w in ws { schedule(w) }
  }
}

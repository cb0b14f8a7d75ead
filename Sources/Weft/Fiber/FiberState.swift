/// The run state of a fiber: one atomic word (`AnyFiber.state`).
///
///     created ──schedule──▶ runnable ──worker picks──▶ running ──park──▶ parked
///                              ▲                        │   ▲              │
///                              │                     wake   └─ (notified)  │
///                              └──────────── wake ─────────────────────────┘
///     running ──body returns──▶ done
///
/// - F1: only the worker that took a fiber from a queue writes `running`, and only a fiber
///   whose state is `runnable` sits in a run queue.
/// - F2: `parked` is written by the worker loop after the switch out has completed (the
///   fiber's context is saved), never by the fiber itself: a waker that sees `parked` may
///   resume the fiber at once on any worker.
/// - F3: a wake that finds `running` (the fiber is still on its way to parking, or has not
///   decided to park yet) leaves `notified`; the next park consumes it and returns at once.
///   So a wake is never lost and a fiber is made runnable exactly once per wake.
/// - F4: a wake of a fiber that is `runnable`, `notified` or `done` is a double wake:
///   misuse of `schedule`, reported by a precondition.
/// - F5: `inspected` is `parked` held by a backtrace walker (`AnyFiber.withParkedContext`):
///   only the walker writes it (CAS `parked → inspected`) and takes it back (`→ parked`); a
///   waker that finds it waits for `parked` (the walk copies at most a few hundred words), so
///   a fiber never resumes while its stack is read. Thread fibers are never inspected.
enum FiberState {
  static let created: UInt = 0
  static let runnable: UInt = 1
  static let running: UInt = 2
  static let parked: UInt = 3
  static let notified: UInt = 4
  static let done: UInt = 5
  static let inspected: UInt = 6
  /// Debug builds: what every word of a freed fiber's block holds while the block waits in a
  /// thread's cache for reuse (FiberCore A2), so that a fiber touched after it was freed is
  /// reported instead of acting on whatever fiber the block holds next.
  static let freed: UInt = 0xDBDB_DBDB_DBDB_DBDB

  static func name(_ s: UInt) -> String {
    switch s {
    case created: return "created"
    case runnable: return "runnable"
    case running: return "running"
    case parked: return "parked"
    case notified: return "notified"
    case done: return "done"
    case inspected: return "parked"  // F5: parked, its stack being read
    case freed: return "freed"
    default: return "invalid(\(s))"
    }
  }
}

/// Bits of `AnyFiber.flags`.
///
/// - F6: only the fiber's owner of the moment (FiberState F1: the worker that took it from a
///   queue to start it, then the fiber itself) sets bits, so setting one is a relaxed load and
///   a release store (`AnyFiber.setFlag`), not a read-modify-write; readers on other threads
///   acquire-load the word (`isStarted`, `isFailed` after `done`).
enum FiberFlags {
  static let started: UInt = 1
  static let failed: UInt = 2
  /// The outcome's storage holds a result to destroy with the fiber (FiberCore O1): one
  /// that is not plain bytes, or is in a heap slot.
  static let hasResult: UInt = 4
}

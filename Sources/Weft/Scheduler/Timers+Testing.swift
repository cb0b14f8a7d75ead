// Test-only views of the timer heap's state (Scheduler/Timers.swift).

extension Timers {
  /// The index of the worker that holds the timer role now (T2), or nil.
  package var sleeperIndex: Int? { withLockForTesting { sleeperForTesting?.index } }
}

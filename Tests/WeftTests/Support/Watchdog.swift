import Foundation
@testable import Weft

/// Bounds a concurrency test: if `body` has not returned after `seconds`, prints what the
/// test was doing and the scheduler's state dump, then aborts the test process (a hang in CI
/// becomes a loud failure with a dump instead of a timeout). Never used to synchronise.
func withWatchdog<R>(_ seconds: Double = 60, _ what: String = #function, scheduler: Scheduler? = nil,
                     _ body: () throws -> R) rethrows -> R {
  let done = startWatchdog(seconds, what, scheduler: scheduler)
  defer { done.set() }
  return try body()
}

/// Starts the watchdog thread of `withWatchdog` (and the async tests' `withAsyncWatchdog`);
/// setting the returned flag stops it.
func startWatchdog(_ seconds: Double, _ what: String, scheduler: Scheduler?) -> WatchdogFlag {
  let done = WatchdogFlag()
  // Weak: the watchdog thread may outlive `body` for a moment, and must not keep a scheduler
  // alive (LifecycleTests checks that a shut-down scheduler is released).
  let thread = Thread { [weak scheduler] in
    let deadline = Date().addingTimeInterval(seconds)
    while !done.isSet {
      if Date() >= deadline {
        let dump = (scheduler ?? Scheduler.shared).stateDump()
        FileHandle.standardError.write(Data("WATCHDOG: \(what) made no progress for \(seconds) s\n\(dump)\n".utf8))
        abort()
      }
      done.wait(timeout: 0.05)
    }
  }
  thread.start()
  return done
}

final class WatchdogFlag: @unchecked Sendable {
  private let condition = NSCondition()
  private var flag = false
  var isSet: Bool { condition.lock(); defer { condition.unlock() }; return flag }
  func set() { condition.lock(); flag = true; condition.broadcast(); condition.unlock() }
  func wait(timeout: Double) {
    condition.lock()
    if !flag { _ = condition.wait(until: Date().addingTimeInterval(timeout)) }
    condition.unlock()
  }
}

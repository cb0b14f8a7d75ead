import Foundation
import Testing
import Weft
import WeftNet

/// Whether the tests run under ThreadSanitizer (Scripts/test.sh sets WEFT_TSAN=1): sizes shrink.
let underTSan = ProcessInfo.processInfo.environment["WEFT_TSAN"] != nil

/// Runs `body` as a fiber of a fresh scheduler with `threads` workers, bounded by a watchdog
/// that aborts with the scheduler's dump (never used to synchronise).
func onScheduler<R: Sendable>(threads: Int = 2, _ what: String = #function, seconds: Double = 120,
                              _ body: @escaping @Sendable () throws -> R) throws -> R {
  let s = Scheduler(threads: threads)
  defer { s.shutdown() }
  let done = NSCondition()
  nonisolated(unsafe) var finished = false
  let watchdog = Thread {
    let deadline = Date().addingTimeInterval(seconds)
    done.lock()
    while !finished {
      if !done.wait(until: deadline) && !finished {
        FileHandle.standardError.write(Data("WATCHDOG: \(what) made no progress for \(seconds) s\n\(s.stateDump())\n".utf8))
        abort()
      }
    }
    done.unlock()
  }
  watchdog.start()
  defer { done.lock(); finished = true; done.broadcast(); done.unlock() }
  return try s.spawn(body).fetch()
}

/// An atomic-free counter guarded by Weft's own lock (fibers only).
final class Tally: @unchecked Sendable {
  private let lock = ReentrantLock()
  private var n = 0
  func add(_ k: Int = 1) { lock.lock(); n += k; lock.unlock() }
  var value: Int { lock.lock(); defer { lock.unlock() }; return n }
}

import Foundation
import Synchronization
import Testing
@testable import Weft

/// Test bookkeeping shared by the Sync tests (not Weft code: uses Swift's Synchronization).

/// A value behind a pthread mutex (NSLock): ThreadSanitizer sees its synchronisation, which
/// it does not for Synchronization.Mutex (its lock lives in the uninstrumented runtime).
final class MutexBox<T>: @unchecked Sendable {
  // SAFETY: `value` is only touched under `lock`.
  private let lock = NSLock()
  private var value: T
  init(_ value: T) { self.value = value }
  func withLock<R>(_ body: (inout T) throws -> R) rethrows -> R {
    lock.lock()
    defer { lock.unlock() }
    return try body(&value)
  }
}

/// Lines recorded in order, instead of printing (the manual's examples print).
final class LineRecorder: Sendable {
  private let lines = MutexBox<[String]>([])
  func record(_ s: String) { lines.withLock { $0.append(s) } }
  var all: [String] { lines.withLock { $0 } }
}

/// Counts how many are "inside" at once and remembers the most seen.
final class OccupancyMeter: Sendable {
  private let state = MutexBox<(now: Int, max: Int, total: Int)>((0, 0, 0))
  func enter() { state.withLock { $0.now += 1; $0.max = Swift.max($0.max, $0.now); $0.total += 1 } }
  func leave() { state.withLock { $0.now -= 1 } }
  var maximum: Int { state.withLock { $0.max } }
  var total: Int { state.withLock { $0.total } }
  var current: Int { state.withLock { $0.now } }
}

/// A plain atomic counter.
final class AtomicCounter: Sendable {
  private let value = Atomic<Int>(0)
  @discardableResult func increment() -> Int { value.add(1, ordering: .sequentiallyConsistent).newValue }
  var count: Int { value.load(ordering: .sequentiallyConsistent) }
}

/// A counter that is deliberately *not* synchronised: the lock under test must protect it
/// (ThreadSanitizer reports a race if it does not).
final class UnsafeBox<T>: @unchecked Sendable {
  // SAFETY: tests only touch `value` under the lock being tested, or after joining.
  var value: T
  init(_ value: T) { self.value = value }
}

/// Runs `body` on a fresh scheduler with `threads` workers (on one of its fibers), then shuts
/// the scheduler down. The watchdog dumps that scheduler if the body hangs.
func onScheduler<R: Sendable>(threads: Int, _ what: String = #function, seconds: Double = 120,
                              _ body: @escaping @Sendable () throws -> R) throws -> R {
  let s = Scheduler(threads: threads)
  defer { s.shutdown() }
  return try withWatchdog(seconds, what, scheduler: s) {
    try s.spawn(body).fetch()
  }
}

/// Starts a Foundation thread running `body`; returns an Event-free joiner (an NSCondition)
/// so that non-worker threads can be joined without Weft.
final class JoinableThread: @unchecked Sendable {
  // SAFETY: `done` is guarded by `condition`.
  private let condition = NSCondition()
  private var done = false
  init(_ body: @escaping @Sendable () -> Void) {
    let t = Thread { [self] in
      body()
      condition.lock(); done = true; condition.broadcast(); condition.unlock()
    }
    t.start()
  }
  func join() {
    condition.lock()
    while !done { condition.wait() }
    condition.unlock()
  }
}

/// The standard error text of an exit test's child process.
func standardError(_ result: ExitTest.Result?) -> String {
  String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
}

#if DEBUG
let isDebugBuild = true
#else
let isDebugBuild = false
#endif

/// Multiplies the sizes of the Sync race tests (`WEFT_STRESS_SCALE=10` for a long run, `0.1`
/// for a quick one; default 1).
let syncStressScale: Double = {
  if let s = ProcessInfo.processInfo.environment["WEFT_STRESS_SCALE"], let v = Double(s), v > 0 { return v }
  return 1
}()

/// `n` scaled by `WEFT_STRESS_SCALE`, at least 1.
func syncScaled(_ n: Int) -> Int { max(1, Int(Double(n) * syncStressScale)) }

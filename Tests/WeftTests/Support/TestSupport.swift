#if canImport(Glibc)
import Glibc
#endif
import CWeft  // only for weft_tsan_enabled()
import Testing
@testable import Weft

// Small synchronisation tools for tests. None of them sleeps: they count, spin on an atomic
// (bounded by the test's watchdog) or park the calling fiber/thread with Weft's own park/wake.

/// An atomic integer (a ledger entry, a start gate, a flag).
final class Counter: @unchecked Sendable {
  // SAFETY: the word is only accessed through AtomicWord's atomic operations.
  private let block = AtomicBlock(count: 1)
  init(_ value: Int = 0) { block[0].storeRelaxed(UInt(bitPattern: value)) }
  deinit { block.deallocate() }

  var value: Int { Int(bitPattern: block[0].loadAcquire()) }
  func store(_ v: Int) { block[0].storeRelease(UInt(bitPattern: v)) }
  /// Adds `n`; returns the new value.
  @discardableResult
  func increment(by n: Int = 1) -> Int { Int(bitPattern: block[0].fetchAddFull(UInt(bitPattern: n))) &+ n }
  /// Stores `v`; returns the previous value.
  func exchange(_ v: Int) -> Int { Int(bitPattern: block[0].exchangeFull(UInt(bitPattern: v))) }
  func compareExchange(_ expected: Int, _ desired: Int) -> Bool {
    block[0].compareExchangeFull(UInt(bitPattern: expected), UInt(bitPattern: desired))
  }

  /// Spins (never sleeps) until `value` satisfies `condition`; bounded by the test's watchdog.
  func spin(until condition: (Int) -> Bool) {
    while !condition(value) { cpuRelax() }
  }
}

/// A value guarded by a short internal lock (never held across a park).
final class Locked<Value>: @unchecked Sendable {
  // SAFETY: `value` is only touched while `lock` is held.
  private let lock = OwnedFutexLock()
  private var value: Value
  init(_ value: Value) { self.value = value }
  func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
    lock.lock.lock()
    defer { lock.lock.unlock() }
    return try body(&value)
  }
  var snapshot: Value { withLock { $0 } }
}

/// A countdown gate that fibers and plain threads can wait for: `wait()` parks the calling
/// context (a fiber switches away; a thread sleeps on a futex) until `countDown()` has been
/// called `count` times. Built on the runtime's park/wake, as the sync primitives will be.
final class Latch: @unchecked Sendable {
  // SAFETY: `remaining` and `waiters` are guarded by `lock`.
  private let lock = OwnedFutexLock()
  private var remaining: Int
  private var waiters = WaiterList()

  init(count: Int = 1) { remaining = count }

  var isOpen: Bool { lock.lock.withLock { remaining <= 0 } }

  func countDown() {
    lock.lock.lock()
    remaining -= 1
    guard remaining == 0 else { lock.lock.unlock(); return }
    var list = waiters.takeAll()
    lock.lock.unlock()
    while let f = list.popFirst() { f.wake() }
  }

  func open() { countDown() }

  func wait() {
    let me = AnyFiber.currentContext
    lock.lock.lock()
    if remaining <= 0 { lock.lock.unlock(); return }
    waiters.append(me)
    lock.lock.unlock()
    while !isOpen { me.park() }
  }
}

/// Runs `body` with a fresh scheduler and shuts it down afterwards (also when `body` throws).
func withScheduler<R>(threads: Int, interactiveThreads: Int = 0, stackSize: Int? = nil,
                      guardedStackLimit: Int? = nil, watchdog seconds: Double = 60,
                      _ what: String = #function, _ body: (Scheduler) throws -> R) rethrows -> R {
  let s = Scheduler(threads: threads, interactiveThreads: interactiveThreads, stackSize: stackSize,
                    guardedStackLimit: guardedStackLimit ?? StackPool.processGuardedLimit)
  defer { s.shutdown() }
  return try withWatchdog(seconds, what, scheduler: s) { try body(s) }
}

/// Standard error of an exit test's child process, as text ("" when there is no result).
func stderrText(_ result: ExitTest.Result?) -> String {
  result.map { String(decoding: $0.standardErrorContent, as: UTF8.self) } ?? ""
}

/// An error for fibers to throw.
struct Boom: Error, Equatable, CustomStringConvertible {
  var tag: Int = 0
  var description: String { "Boom(\(tag))" }
}

/// Whether this run is under ThreadSanitizer (Scripts/test.sh exports WEFT_TSAN=1 for it).
let underTSan: Bool = getenv("WEFT_TSAN") != nil || weft_tsan_enabled()

/// Consumes `n` nanoseconds of CPU without yielding (a busy fiber).
func spinFor(nanoseconds n: UInt64) {
  let end = monotonicNanoseconds() &+ n
  while monotonicNanoseconds() < end { cpuRelax() }
}

/// Spins (never sleeps) until `condition` holds; bounded by the test's watchdog.
func spinUntil(_ condition: () -> Bool) {
  while !condition() { cpuRelax() }
}

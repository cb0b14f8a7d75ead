import Foundation
@testable import Weft

// Tools for the async tests. None sleeps to synchronise: gates resume continuations, and
// time only bounds the watchdog.

/// `withWatchdog` for async bodies: aborts with a state dump if `body` has not returned
/// after `seconds`.
func withAsyncWatchdog<R>(_ seconds: Double = 60, _ what: String = #function, scheduler: Scheduler? = nil,
                          _ body: () async throws -> R) async rethrows -> R {
  let done = startWatchdog(seconds, what, scheduler: scheduler)
  // The body runs on Weft's workers, not on Swift's cooperative pool: the suite's synchronous
  // tests block cooperative threads while they wait on fibers (each for up to a stress
  // test's length), and an async test resuming there could wait behind them for minutes.
  // The watchdog stops inside, before the return hops back to the caller's executor.
  return try await withTaskExecutorPreference(Scheduler.shared) {
    defer { done.set() }
    return try await body()
  }
}

/// A one-shot gate that Swift tasks await (suspending, never blocking) and anything opens.
final class AsyncGate: @unchecked Sendable {
  // SAFETY: guarded by Locked's lock; continuations are resumed after it is released.
  private let state = Locked<(open: Bool, waiting: [UnsafeContinuation<Void, Never>])>((false, []))

  var isOpen: Bool { state.withLock { $0.open } }

  func open() {
    let waiting = state.withLock { s -> [UnsafeContinuation<Void, Never>] in
      s.open = true
      defer { s.waiting = [] }
      return s.waiting
    }
    for c in waiting { c.resume() }
  }

  func wait() async {
    await withUnsafeContinuation { (c: UnsafeContinuation<Void, Never>) in
      let resumeNow = state.withLock { s -> Bool in
        if s.open { return true }
        s.waiting.append(c)
        return false
      }
      if resumeNow { c.resume() }
    }
  }
}

/// A ledger of integer items: each must be recorded exactly once (traps on a second time).
final class ItemLedger: @unchecked Sendable {
  // SAFETY: only accessed atomically.
  private let slots: AtomicBlock
  let count: Int
  init(count: Int) { self.count = count; slots = AtomicBlock(count: max(count, 1)) }
  deinit { slots.deallocate() }
  func record(_ i: Int) {
    let before = slots[i].fetchAddFull(1)
    if before != 0 { fatalError("LEDGER: item \(i) received \(before + 1) times") }
  }
  var missing: [Int] { (0..<count).filter { slots[$0].loadAcquire() == 0 } }
}

/// Whether the calling code runs on a worker of `scheduler` (outside any fiber, for jobs).
func onWorker(of scheduler: Scheduler) -> Bool { Worker.current?.scheduler === scheduler }

/// A blocking `Channel.take()` (the sync overload) for async contexts that must block.
func blockingTake<T>(_ c: Channel<T>) throws -> T { try c.take() }

/// From a job on one of `s`'s two workers: spins (no switch: the job holds this worker) until
/// the other worker is parked, so that only a wake can bring it to new work; returns this
/// job's worker.
func waitUntilTheOtherWorkerParks(_ s: Scheduler) -> Worker {
  let me = Worker.current!
  let other = s.workers.first { $0 !== me }!
  while other.status.loadAcquire() != Worker.Status.parked.rawValue { cpuRelax() }
  return me
}

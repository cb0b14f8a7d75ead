import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import Weft

/// The state dump a person reads when their program hangs: blocked fibers show up with what
/// they wait on, running fibers on their worker, and an untracked scheduler says how to
/// turn tracking on. No sleeps: the test waits for the states it needs (bounded by the
/// watchdog).
@Suite struct StateDumpTests {
  /// Polls `condition` (yielding the OS thread) until it holds; the watchdog bounds it.
  private func waitUntil(_ condition: () -> Bool) {
    while !condition() { sched_yield() }
  }

  /// Async code waiting for a worker shows in the dump: the only worker runs a fiber that
  /// spins until the test has seen the queued task's job.
  @Test func queuedSwiftJobsAreCounted() throws {
    let s = Scheduler(threads: 1)
    defer { s.shutdown() }
    try withWatchdog(60, scheduler: s) {
      let seen = Counter(), running = Counter()
      let spinner = s.spawn {
        running.store(1)
        while seen.value == 0 { cpuRelax() }
      }
      waitUntil { running.value == 1 }
      let result = Counter()
      _ = Task(executorPreference: s) { result.store(5) }
      waitUntil { s.snapshot().pendingJobs == 1 }
      #expect(s.stateDump().contains("1 Swift jobs queued"))
      seen.store(1)
      try spinner.wait()
      // Not awaited through Swift's global executor: this synchronous test may hold one of
      // its few threads, and other tests the rest (a TSan run hung that way).
      waitUntil { result.value == 5 }
      #expect(s.snapshot().pendingJobs == 0)
    }
  }

  @Test func blockedFiberIsListedWithWhatItWaitsOn() throws {
    let s = Scheduler(threads: 2, trackFibers: true)
    defer { s.shutdown() }
    try withWatchdog(60, scheduler: s) {
      #expect(s.tracksFibers)
      // A fiber blocked in a bare wait(), and one blocked waiting for it to finish.
      let blocked = s.spawn { _ = try wait() }
      let waiter = s.spawn { try blocked.wait() }
      waitUntil { blocked.stateDescription == "parked" && waiter.stateDescription == "parked" }

      let snap = s.snapshot()
      let b = try #require(snap.fibers.first { $0.id == blocked.id })
      #expect(b.isBlocked)
      #expect(b.waitingOn == "wait()")
      let w = try #require(snap.blockedFibers.first { $0.id == waiter.id })
      #expect(w.waitingOn == "Fiber.wait")
      #expect(w.waitingForFiber == blocked.id)
      #expect(b.waitingForFiber == nil)
      #expect(snap.workers.count == 2)
      #expect(snap.workers.map(\.threadid) == [1, 2])

      let dump = s.stateDump()
      #expect(dump.contains("fiber \(blocked.id) blocked on wait()"))
      #expect(dump.contains("fiber \(waiter.id) blocked on Fiber.wait of fiber \(blocked.id)"))
      #expect(dump.contains("blocked: "))

      schedule(blocked)
      try waiter.wait()
      try blocked.wait()
      // Finished fibers leave the registry once their worker has switched them out.
      waitUntil { s.liveFiberCount == 0 }
      #expect(s.snapshot().blockedFibers.isEmpty)
    }
  }

  @Test func threadBlockedOnAFiberIsListed() {
    let s = Scheduler(threads: 1, trackFibers: true)
    defer { s.shutdown() }
    withWatchdog(60, scheduler: s) {
      let blocked = s.spawn { _ = try wait() }
      let returned = DumpTestFlag()
      let thread = Thread { try? blocked.wait(); returned.set() }  // a non-worker thread
      thread.start()
      waitUntil { s.snapshot().blockedThreads.contains { $0.waitingForFiber == blocked.id } }
      #expect(s.stateDump().contains("not a worker) blocked on Fiber.wait of fiber \(blocked.id)"))
      #expect(!returned.isSet)
      waitUntil { blocked.stateDescription == "parked" }  // its wait() must have begun
      schedule(blocked)
      waitUntil { returned.isSet }
    }
  }

  @Test func stickyBlockedFiberShowsItsHomeWorker() throws {
    let s = Scheduler(threads: 2, trackFibers: true)
    defer { s.shutdown() }
    try withWatchdog(60, scheduler: s) {
      let outer = s.spawn { () -> AnyFiber in
        let f = Fiber(sticky: true) { _ = try wait() }
        schedule(f)
        return f
      }
      let f = try outer.fetch()
      waitUntil { f.stateDescription == "parked" }
      let info = try #require(s.snapshot().blockedFibers.first { $0.id == f.id })
      #expect(info.sticky)
      #expect(info.homeThreadid != nil)
      #expect(s.stateDump().contains("fiber \(f.id) blocked on wait(), sticky on worker \(info.homeThreadid!)"))
      schedule(f)
      try f.wait()
    }
  }

  @Test func runningFiberShowsOnItsWorker() throws {
    let s = Scheduler(threads: 2, trackFibers: false)
    defer { s.shutdown() }
    try withWatchdog(60, scheduler: s) {
      let release = DumpTestFlag()
      let started = DumpTestFlag()
      let spinner = s.spawn { () -> Int in
        started.set()
        while !release.isSet { sched_yield() }  // keeps its worker busy on purpose
        return Threads.threadid()
      }
      waitUntil { started.isSet }
      let snap = s.snapshot()
      let runners = snap.workers.filter { $0.runningFiber == spinner.id }
      #expect(runners.count == 1)
      #expect(runners.first?.status == "running")
      #expect(!snap.tracksFibers && snap.fibers.isEmpty)
      #expect(s.stateDump().contains("running fiber \(spinner.id)"))
      #expect(s.stateDump().contains("fibers: not tracked"))
      release.set()
      let tid = try spinner.fetch()
      #expect(runners.first?.threadid == tid)
    }
  }
}

/// A one-shot flag read and set from different threads (test bookkeeping).
private final class DumpTestFlag: @unchecked Sendable {
  // SAFETY: the word is only accessed atomically.
  private let block = AtomicBlock(count: 1)
  deinit { block.deallocate() }
  func set() { block[0].storeRelease(1) }
  var isSet: Bool { block[0].loadAcquire() != 0 }
}

import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import Weft

/// `Scheduler.metrics` after known workloads. The counters are approximate while workers run
/// (WorkerCounters M2), so each check waits until the figure it needs has settled (bounded by
/// the watchdog; no sleeps), and asserts exact values only where the workload makes them so.
@Suite struct MetricsTests {
  /// Polls `condition` (yielding the OS thread) until it holds; the watchdog bounds it.
  private func waitUntil(_ condition: () -> Bool) {
    while !condition() { sched_yield() }
  }

  @Test func spawnAndJoinAreCountedAndLiveReturnsToBaseline() throws {
    let s = Scheduler(threads: 2)
    defer { s.shutdown() }
    try withWatchdog(60, scheduler: s) {
      let base = s.metrics
      let n = 200
      // From this (non-worker) thread: the shared off-worker counter (M3).
      let outside = (0..<n).map { i in s.spawn { i } }
      for f in outside { _ = try f.fetch() }
      // From a fiber: its worker's own counters (M1).
      let parent = s.spawn {
        let children = (0..<n).map { i in spawn { i } }
        return try children.reduce(0) { $0 + (try $1.fetch()) }
      }
      #expect(try parent.fetch() == (0..<n).reduce(0, +))
      // A fiber's finish is counted once its worker has switched it out: wait for that.
      waitUntil { s.metrics.fibersLive == base.fibersLive }
      let m = s.metrics
      #expect(m.fibersSpawned - base.fibersSpawned == 2 * n + 1)
      #expect(m.fibersFinished - base.fibersFinished == 2 * n + 1)
      #expect(m.fibersLive == 0)
      #expect(m.workers.reduce(0) { $0 + $1.fibersSpawned } >= n)  // the children, on workers
      #expect(m.workers.map(\.threadid) == [1, 2])
      #expect(m.stacksInUse == 0)
      // Every finished fiber gave its stack back to a cache, which is not empty now.
      #expect(m.stacksCached >= 1)
      #expect(m.stackCachedBytes >= s.defaultStackSize)
    }
  }

  @Test func fibersBlockedOnAnEventCountAsParked() throws {
    let s = Scheduler(threads: 2)
    defer { s.shutdown() }
    try withWatchdog(60, scheduler: s) {
      let base = s.metrics
      let k = 20
      let event = Event()
      let waiters = (0..<k).map { _ in s.spawn { try event.wait() } }
      waitUntil { s.metrics.fibersParked - base.fibersParked == k }
      let m = s.metrics
      #expect(m.parks - base.parks >= k)
      #expect(m.fibersLive - base.fibersLive == k)
      #expect(m.stacksInUse >= k)
      event.notify()  // from this thread: the wakes go to the off-worker counter (M3)
      for w in waiters { try w.wait() }
      waitUntil { s.metrics.fibersLive == base.fibersLive }
      let after = s.metrics
      #expect(after.fibersParked == base.fibersParked)
      #expect(after.wakes - base.wakes >= k)
      #expect(after.wakes == after.parks)
    }
  }

  @Test func pendingTimersAndLatenessAreCounted() throws {
    let s = Scheduler(threads: 1)
    defer { s.shutdown() }
    try withWatchdog(60, scheduler: s) {
      #expect(s.metrics.timersPending == 0)
      let event = Event()
      // A timed wait holds a timer until it is woken (its timeout is far away).
      let waiter = s.spawn { try event.wait(timeout: .seconds(600)) }
      waitUntil { s.metrics.timersPending == 1 }
      event.notify()
      try waiter.wait()
      #expect(s.metrics.timersPending == 0)
      // A sleep fires its timer: counted, with a lateness (one-sided: it can only be late).
      try s.spawn { try sleep(for: .milliseconds(1)) }.wait()
      let m = s.metrics
      #expect(m.timersFired >= 1)
      #expect(m.timerLatenessMaxNanoseconds <= m.timerLatenessTotalNanoseconds)
      #expect(m.timerLatenessMeanNanoseconds <= m.timerLatenessMaxNanoseconds)
      #expect(m.timersPending == 0)
    }
  }

  /// A fiber that computes without yielding keeps its worker; the child it spawned sits in that
  /// worker's deque, so the only way it can run is the other worker stealing it.
  @Test func anImbalancedLoadIsStolen() throws {
    let s = Scheduler(threads: 2)
    defer { s.shutdown() }
    try withWatchdog(60, scheduler: s) {
      let base = s.metrics
      let started = Counter()
      let parent = s.spawn {
        let child = spawn { started.increment() }
        started.spin { $0 == 1 }  // no switch: this worker stays busy until the child ran
        try child.wait()
      }
      try parent.wait()
      let m = s.metrics
      #expect(m.steals - base.steals >= 1)
      // One fiber to take: one sweep took it (a sweep may take more than one: steal half).
      #expect(m.stealAttempts - base.stealAttempts >= 1)
      #expect(m.workers.contains { $0.steals >= 1 })
    }
  }

  @Test func queueDepthsAreSeen() throws {
    let s = Scheduler(threads: 1)
    defer { s.shutdown() }
    try withWatchdog(60, scheduler: s) {
      let gate = Counter()
      // The only worker spins in a fiber that does not yield, so new fibers stay queued.
      let busy = s.spawn { gate.spin { $0 == 1 } }
      waitUntil { s.snapshot().workers[0].runningFiber == busy.id }
      let queued = (0..<5).map { _ in s.spawn {} }  // from this thread: the injector
      let m = s.metrics
      #expect(m.injectorDepth == 5)
      #expect(m.dequeDepth == 0 && m.inboxDepth == 0 && m.runNextDepth == 0)
      #expect(m.fibersLive >= 6)
      gate.store(1)
      try busy.wait()
      for f in queued { try f.wait() }
      waitUntil { s.metrics.fibersLive == 0 }
      #expect(s.metrics.injectorDepth == 0)
    }
  }

  @Test func descriptionIsCompact() {
    let s = Scheduler(threads: 1)
    defer { s.shutdown() }
    let text = s.metrics.description
    #expect(text.hasPrefix("Weft metrics: fibers spawned 0"))
    #expect(text.split(separator: "\n").count == 5)
  }
}

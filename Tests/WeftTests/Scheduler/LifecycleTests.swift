import Testing
@testable import Weft

// Explicit schedulers: created with their own workers, their fibers spawn onto them, and
// shutdown() runs what is runnable and joins the worker threads.

@Suite struct LifecycleTests {
  @Test func createRunShutdownJoins() throws {
    let s = Scheduler(threads: 3, interactiveThreads: 1)
    #expect(s.threadCount() == 3 && s.threadCount(.interactive) == 1)
    let ids = try withWatchdog(scheduler: s) {
      try (0..<20).map { _ in s.spawn { Threads.threadid() } }.map { try $0.fetch() }
    }
    #expect(ids.allSatisfy { (2...4).contains($0) })
    s.shutdown()
    #expect(s.workers.allSatisfy { $0.status.loadAcquire() == Worker.Status.stopped.rawValue })
    s.shutdown()  // a second shutdown does nothing
  }

  /// Fibers spawned inside an explicit scheduler's fibers stay on that scheduler.
  @Test func nestedSpawnsStayOnTheirScheduler() throws {
    try withScheduler(threads: 2) { s in
      let (same, ids) = try s.spawn { () throws -> (Bool, [Int]) in
        let inner = (0..<10).map { _ in spawn { (Scheduler.current === s, Threads.threadid()) } }
        let r = try inner.map { try $0.fetch() }
        return (r.allSatisfy(\.0) && Scheduler.current === s, r.map(\.1))
      }.fetch()
      #expect(same)
      #expect(ids.allSatisfy { (1...2).contains($0) })
      #expect(Threads.nthreads() == Scheduler.shared.threadCount())
    }
  }

  /// Runnable fibers are run before the workers exit, including fibers they spawn.
  @Test func runnableFibersRunBeforeShutdownReturns() throws {
    let count = Counter()
    let s = Scheduler(threads: 2)
    var fibers: [Fiber<Void>] = []
    withWatchdog(scheduler: s) {
      for i in 0..<1000 {
        fibers.append(s.spawn(sticky: i % 3 == 0) {
          count.increment()
          spawn { count.increment() }
        })
      }
      s.shutdown()
    }
    #expect(count.value == 2000)
    let allDone = fibers.allSatisfy { $0.isDone }
    #expect(allDone)
  }

  /// A fiber blocked forever does not keep shutdown from returning; it is abandoned.
  @Test func blockedFibersAreAbandoned() throws {
    let s = Scheduler(threads: 1)
    let parked = Latch()
    let f = s.spawn { parked.open(); _ = try wait() }
    parked.wait()
    withWatchdog(scheduler: s) { s.shutdown() }
    #expect(!f.isDone)
  }

  /// Schedulers come and go.
  @Test func manySchedulersInSequence() throws {
    for i in 1...20 {
      try withScheduler(threads: 1 + i % 3, interactiveThreads: i % 2) { s in
        let r = try s.spawn { try spawn(pool: .interactive) { 2 }.fetch() + 1 }.fetch()
        #expect(r == 3)
      }
    }
  }

  /// The shared scheduler starts on first use with the CPU count (WEFT_NUM_THREADS is not set
  /// in the test environment) and is the one non-worker threads use.
  @Test func sharedSchedulerIsTheDefault() throws {
    let s = Scheduler.shared
    #expect(Scheduler.sharedIfStarted === s)
    let inShared = try spawn { Scheduler.current === Scheduler.shared }.fetch()
    #expect(inShared)
    #expect(s.stateDump().contains("(shared)"))
  }

  /// The state dump names every worker (it is what the watchdog prints).
  @Test func stateDumpDescribesWorkers() {
    withScheduler(threads: 2, interactiveThreads: 1) { s in
      let dump = s.stateDump()
      #expect(dump.contains("3 workers"))
      #expect(dump.contains("pool default: 2 workers") && dump.contains("pool interactive: 1 workers"))
      #expect(dump.contains("worker 1:") && dump.contains("worker 3:"))
    }
  }
}

extension LifecycleTests {
  /// A shut-down scheduler whose fibers were abandoned stays allocated, so a late wake of
  /// such a fiber (an `Event.notify()` from another thread, after the last reference to the
  /// scheduler is gone) touches valid memory; the wake is ignored and the fiber stays
  /// abandoned. (The scheduler used to be freed, and the wake wrote into its queues.)
  @Test func wakeOfAnAbandonedFiberAfterShutdownIsIgnored() throws {
    let migratable = Event(), sticky = Event()
    weak var released: Scheduler?
    var fibers: [Fiber<Void>] = []
    do {
      let s = Scheduler(threads: 2)
      released = s
      fibers = [s.spawn { try migratable.wait() }, s.spawn(sticky: true) { try sticky.wait() }]
      withWatchdog(scheduler: s) {
        for f in fibers { spinUntil { f.state.loadAcquire() == FiberState.parked } }
        s.shutdown()
      }
      #expect(s.abandonedAtShutdown == 2)
    }
    #expect(released != nil, "a scheduler with abandoned fibers must stay allocated")
    try onNewThread {
      migratable.notify()
      sticky.notify()
    }
    #expect(fibers.allSatisfy { !$0.isDone })
  }

  /// A scheduler whose fibers all finished is released by its last reference as usual.
  @Test func shutDownSchedulerWithoutAbandonedFibersIsReleased() throws {
    weak var released: Scheduler?
    do {
      let s = Scheduler(threads: 2)
      released = s
      let r = try withWatchdog(scheduler: s) {
        try s.spawn { try spawn { 1 }.fetch() + (try spawn(sticky: true) { 1 }.fetch()) }.fetch()
      }
      #expect(r == 2)
      s.shutdown()
    }
    #expect(released == nil)
  }
}

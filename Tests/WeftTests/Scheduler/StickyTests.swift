import Testing
@testable import Weft

// Sticky fibers (Julia's @async and scheduled Tasks) are pinned to the worker they are first
// scheduled on; scheduling one from a migratable fiber makes the parent sticky (Julia #41334).

@Suite struct StickyTests {
  /// A sticky child pins to the parent's worker, and the parent becomes sticky: from then on
  /// every wait resumes it on the same worker, even though the wakes come from timers that
  /// fire on whichever worker is awake.
  @Test func stickyChildPinsAndMakesTheParentSticky() throws {
    let seen = try withScheduler(threads: 2) { s in
      try s.spawn { () throws -> [String] in
        let me = Fiber.current
        var out: [String] = []
        out.append("parent sticky before: \(me.sticky)")
        let here = Threads.threadid()
        let child = spawn(sticky: true) { () throws -> Set<Int> in
          var ids: Set<Int> = [Threads.threadid()]
          for _ in 0..<20 { try sleep(seconds: 0.001); ids.insert(Threads.threadid()) }
          return ids
        }
        out.append("parent sticky after: \(me.sticky)")
        out.append("child sticky: \(child.sticky)")
        var ids: Set<Int> = [Threads.threadid()]
        for _ in 0..<20 { try sleep(seconds: 0.001); ids.insert(Threads.threadid()) }
        out.append("parent stayed: \(ids == [here])")
        out.append("child stayed with parent: \(try child.fetch() == [here])")
        return out
      }.fetch()
    }
    #expect(seen == ["parent sticky before: false", "parent sticky after: true", "child sticky: true",
                     "parent stayed: true", "child stayed with parent: true"])
  }

  /// Scheduling a created (sticky by default) fiber also makes the parent sticky; a
  /// migratable child does not.
  @Test func onlyStickyChildrenMakeTheParentSticky() throws {
    let seen = try withScheduler(threads: 2) { s in
      try s.spawn { () throws -> [Bool] in
        let a = Fiber.current.sticky
        try spawn { }.wait()
        let b = Fiber.current.sticky
        let created = Fiber { }
        schedule(created)
        try created.wait()
        return [a, b, Fiber.current.sticky]
      }.fetch()
    }
    #expect(seen == [false, false, true])
  }

  /// Sticky fibers started from a non-worker thread are pinned to a worker (round-robin) and
  /// stay there across waits, even while that worker is busy and another is idle.
  @Test func stickyFromAThreadStaysOnItsWorker() throws {
    try withScheduler(threads: 2) { s in
      let fibers = (0..<8).map { _ in
        s.spawn(sticky: true) { () throws -> Set<Int> in
          var ids: Set<Int> = [Threads.threadid()]
          for i in 0..<30 {
            if i % 3 == 0 { try sleep(seconds: 0.001) } else { yield() }
            ids.insert(Threads.threadid())
          }
          return ids
        }
      }
      let homes = try fibers.map { try $0.fetch() }
      #expect(homes.allSatisfy { $0.count == 1 })
      #expect(Set(homes.flatMap { $0 }) == [1, 2], "round-robin over both workers")
    }
  }

  /// A sticky fiber's wake from another worker goes to its home worker's inbox: it resumes
  /// there even when its home is busy for a while and the waking worker is free.
  @Test func stickyWakeGoesHomeEvenWhenHomeIsBusy() throws {
    try withScheduler(threads: 2) { s in
      let homeID = Counter()
      let box = Locked<AnyFiber?>(nil)
      let registered = Latch()
      let sticky = s.spawn(sticky: true) { () throws -> (Int, Int) in
        homeID.store(Threads.threadid())
        box.withLock { $0 = Fiber.current }
        registered.open()
        _ = try wait()
        return (homeID.value, Threads.threadid())
      }
      registered.wait()
      // Occupy the home worker with a spinner and wake the sticky fiber from the other one.
      let occupied = Counter()
      let woken = Counter()
      let spinners = (0..<2).map { _ in
        s.spawn {
          occupied.increment()
          occupied.spin { $0 >= 2 }
          if Threads.threadid() != homeID.value {
            schedule(box.snapshot!)
            woken.store(1)
          } else {
            woken.spin { $0 == 1 }
            spinFor(nanoseconds: 2_000_000)  // home stays busy a little after the wake
          }
        }
      }
      let (home, resumedOn) = try sticky.fetch()
      for f in spinners { try f.wait() }
      #expect(home == resumedOn)
    }
  }
}

extension StickyTests {
  /// A sticky fiber that asks for the interactive pool runs there even when spawned from a
  /// default worker (and the caller does not become sticky: they never share a worker).
  @Test func stickyInteractiveSpawnFromADefaultWorkerRunsInteractive() throws {
    let s = Scheduler(threads: 2, interactiveThreads: 1)
    defer { s.shutdown() }
    try withWatchdog(30, scheduler: s) {
      let (pool, callerSticky) = try s.spawn { () throws -> (ThreadPool?, Bool) in
        let child = spawn(pool: .interactive, sticky: true) { Threads.threadpool() }
        return (try child.fetch(), Fiber.current.sticky)
      }.fetch()
      #expect(pool == .interactive)
      #expect(!callerSticky)
    }
  }
}

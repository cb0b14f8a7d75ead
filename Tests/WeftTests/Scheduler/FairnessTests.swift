import Testing
@testable import Weft

// Fairness of one worker's queues: yield() goes behind everything runnable; every 61st tick
// the injector and the sticky inbox are looked at first (Go's rule), so a worker whose local
// queue never empties still takes outside work; the run-next slot is capped (3 in a row), so
// two fibers handing off to each other cannot starve the rest. All on 1-worker schedulers, so
// that nothing can be stolen; each starvation scenario would spin forever without the rule,
// and the watchdog bounds it.

@Suite struct FairnessTests {
  /// Two fibers alternating yield() on one worker interleave strictly.
  @Test func twoYieldingFibersInterleave() throws {
    let log = try yieldingLog([("A", false), ("B", false)])
    #expect(log.count == 100)
    #expect(zip(log, log.dropFirst()).allSatisfy { $0 != $1 }, "\(String(log))")
  }

  /// The same with sticky fibers (their yields go through the sticky inbox).
  @Test func twoYieldingStickyFibersInterleave() throws {
    let log = try yieldingLog([("A", true), ("B", true)])
    #expect(log.count == 100)
    #expect(zip(log, log.dropFirst()).allSatisfy { $0 != $1 }, "\(String(log))")
  }

  /// yield() goes behind work submitted from outside: a fiber that yields in a loop lets an
  /// injected fiber run after at most a couple of its yields (not after 61), whether the
  /// yielder is migratable or sticky.
  @Test(arguments: [false, true])
  func yieldGoesBehindInjectedWork(sticky: Bool) throws {
    try withScheduler(threads: 1) { s in
      let running = Latch()
      let submitted = Counter()
      let done = Counter()
      let yielder = s.spawn(sticky: sticky) { () -> Int in
        running.open()
        var yieldsAfterSubmit = 0
        while done.value == 0 {
          let sawSubmit = submitted.value == 1
          yield()
          if sawSubmit { yieldsAfterSubmit += 1 }
        }
        return yieldsAfterSubmit
      }
      running.wait()
      s.spawn { done.store(1) }
      submitted.store(1)
      let n = try yielder.fetch()
      #expect(n <= 2, "the yielding fiber went \(n) times before the injected one")
    }
  }

  /// A chain of fibers each spawning the next keeps the local deque non-empty forever; an
  /// injected fiber and a sticky fiber from outside still run (the 61-tick check).
  @Test func spawnChainDoesNotStarveInjectedOrStickyWork() {
    withScheduler(threads: 1) { s in
      let stop = Counter()
      let links = Counter()
      @Sendable func link() {
        links.increment()
        if stop.value < 2 { spawn { link() } }
      }
      let started = Latch()
      s.spawn { started.open(); link() }
      started.wait()
      s.spawn { stop.increment() }                // injector
      s.spawn(sticky: true) { stop.increment() }  // sticky inbox of the only worker
      stop.spin { $0 == 2 }
      #expect(links.value > 0)
    }
  }

  /// Two fibers waking each other (each wake is a run-next hand-off) cannot starve a third
  /// fiber waiting in the deque: after 3 hand-offs in a row the worker takes other work.
  @Test func pingPongDoesNotStarveTheDeque() throws {
    let rounds = try withScheduler(threads: 1) { s in
      try s.spawn { () throws -> Int in
        let stop = Counter()
        let count = Counter()
        let a = Locked<AnyFiber?>(nil)
        // B: waits, then wakes A, until told to stop; then wakes A with "stop".
        let b = spawn { () throws -> Void in
          while true {
            _ = try wait()
            count.increment()
            if stop.value == 1 { schedule(a.snapshot!, value: "stop"); return }
            schedule(a.snapshot!)
          }
        }
        yield()  // B runs and blocks in wait()
        let aFiber = spawn { () throws -> Void in
          a.withLock { $0 = Fiber.current }
          spawn { stop.store(1) }  // the deque fiber that must get to run
          while true {
            schedule(b)
            if try wait() as? String == "stop" { return }
          }
        }
        try aFiber.wait()
        try b.wait()
        return count.value
      }.fetch()
    }
    #expect(rounds >= 1)
  }

  /// Two sticky fibers waking each other (each wake goes through the sticky inbox) do not
  /// starve work injected from outside.
  @Test func stickyPingPongDoesNotStarveInjectedWork() throws {
    try withScheduler(threads: 1) { s in
      let stop = Counter()
      let a = Locked<AnyFiber?>(nil)
      let bReady = Latch()
      let b = s.spawn(sticky: true) { () throws -> Void in
        bReady.open()
        while true {
          _ = try wait()
          if stop.value == 1 { schedule(a.snapshot!, value: "stop"); return }
          schedule(a.snapshot!)
        }
      }
      bReady.wait()
      let pinging = Latch()
      let aFiber = s.spawn(sticky: true) { () throws -> Void in
        a.withLock { $0 = Fiber.current }
        var first = true
        while true {
          schedule(b)
          if first { first = false; pinging.open() }
          if try wait() as? String == "stop" { return }
        }
      }
      pinging.wait()
      s.spawn { stop.store(1) }  // injected while the two ping-pong
      try aFiber.wait()
      try b.wait()
    }
  }
}

/// On a 1-worker scheduler, one fiber per entry (sticky or not) logs its name and yields, 50
/// times each; returns the log, in the order the fibers ran.
func yieldingLog(_ fibers: [(name: Character, sticky: Bool)], _ what: String = #function) throws -> [Character] {
  try withScheduler(threads: 1, what) { s in
    try s.spawn { () throws -> [Character] in
      let log = Locked<[Character]>([])
      let started = fibers.map { entry in
        spawn(sticky: entry.sticky) { for _ in 0..<50 { log.withLock { $0.append(entry.name) }; yield() } }
      }
      for f in started { try f.wait() }
      return log.snapshot
    }.fetch()
  }
}

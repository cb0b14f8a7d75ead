import Testing
@testable import Weft

/// A migratable fiber that waits behind the others on its worker — because it yielded while
/// no worker was idle, or because the run-next cap moved it out of the slot — must stay
/// stealable: if its worker then runs a fiber that never yields, another worker takes it.
/// Found by weft-stress (timer-storm, seed 945572092, round 96, 2 workers): a sleeper woken
/// into the run-next slot was moved by the cap into the worker's owner-only queue of yielded
/// fibers, the worker went on to the spinner, and the sleeper never ran (the spinner waited
/// for it for 20 s). Both scenarios below hung that way before the fix; the spinner gives
/// up after `patience` so that a regression fails instead of hanging.
@Suite struct YieldedStealTests {
  /// How long the spinner waits for the stranded fiber before the test fails.
  static let patience: UInt64 = 10_000_000_000

  /// Both workers busy (B on one, A on the other); A spawns the spinner C and yields, so A
  /// waits behind C; B ends once C runs, and its worker must find A.
  @Test func aFiberThatYieldedWhileNoWorkerWasIdleIsStolen() throws {
    try withScheduler(threads: 2) { s in
      let bRunning = Counter(), cRunning = Counter(), aResumed = Counter(), gaveUp = Counter()
      let b = s.spawn {
        bRunning.store(1)
        spinUntil { cRunning.value == 1 }
      }
      let a = s.spawn { () throws in
        spinUntil { bRunning.value == 1 }  // A and B run at once: no worker is idle
        let c = spawn {
          cRunning.store(1)
          if !spin(until: { aResumed.value == 1 }) { gaveUp.store(1) }
        }
        yield()  // behind C on this worker
        aResumed.store(1)
        try c.wait()
      }
      try b.wait()
      try a.wait()
      #expect(gaveUp.value == 0, "the fiber that yielded ran only after the spinner gave up")
    }
  }

  /// The same with the run-next cap: A and P hand off through an unbuffered channel on one
  /// worker until the cap moves one of them out of the run-next slot and the worker takes
  /// the spinner C from its deque; B's worker must then take the displaced fiber.
  @Test func aFiberMovedOutOfRunNextByTheCapIsStolen() throws {
    try withScheduler(threads: 2) { s in
      let bRunning = Counter(), cRunning = Counter(), pingPongDone = Counter(), gaveUp = Counter()
      let rounds = 4 * RunNextStreak.cap
      let b = s.spawn {
        bRunning.store(1)
        spinUntil { cRunning.value == 1 }
      }
      let a = s.spawn { () throws in
        spinUntil { bRunning.value == 1 }
        let c = spawn {  // spawned first: deepest in this worker's deque
          cRunning.store(1)
          if !spin(until: { pingPongDone.value == 1 }) { gaveUp.store(1) }
        }
        let ping = Channel<Int>(), pong = Channel<Int>()
        let p = spawn { () throws in
          for _ in 0..<rounds { try pong.put(try ping.take()) }
        }
        for i in 0..<rounds { try ping.put(i); _ = try pong.take() }
        pingPongDone.store(1)
        try p.wait()
        try c.wait()
      }
      try b.wait()
      try a.wait()
      #expect(cRunning.value == 1)
      #expect(gaveUp.value == 0, "the hand-off stalled behind the spinner until it gave up")
    }
  }

  /// A sticky fiber and a migratable one yielding in turn on one worker still interleave:
  /// the two kinds wait in different queues (only the migratable one is stealable), and
  /// neither may starve the other.
  @Test func stickyAndMigratableYieldersInterleave() throws {
    let log = try yieldingLog([("S", true), ("M", false)])
    #expect(log.count == 100)
    #expect(zip(log, log.dropFirst()).allSatisfy { $0 != $1 }, "\(String(log))")
  }

  /// YieldedQueues on its own: sticky and migratable fibers come out in the order they went
  /// in, also when a thief took some migratable ones meanwhile; only migratable ones can be
  /// stolen.
  @Test func yieldedQueuesAreOneFIFOAndOnlyTheMigratablePartIsStealable() {
    let ledger = FiberLedger(count: 8)
    let deque = WorkStealingDeque(capacity: 2)  // small: pushes grow it
    var q = YieldedQueues(migratable: deque.owner)
    let sticky = [false, true, true, false, false, true, false, true]
    for (i, f) in ledger.fibers.enumerated() { q.append(FiberRef(f), sticky: sticky[i]) }
    #expect(q.stickyCount == 4 && deque.approximateCount == 4)
    #expect(q.popFirst() === ledger.fibers[0])
    #expect(q.popFirst() === ledger.fibers[1])
    // A thief takes the oldest migratable fiber (3): the order of the rest is unchanged.
    #expect(deque.stealer.steal() === ledger.fibers[3])
    #expect(q.popFirst() === ledger.fibers[2])
    var rest: [Int] = []
    while let f = q.popFirst() { rest.append(ledger.position(of: f.fiber)) }
    #expect(rest == [4, 5, 6, 7])
    #expect(q.stickyCount == 0 && deque.stealer.steal() == nil)
    q.free()
  }

  /// Spins until `condition` holds (true) or `patience` has passed (false).
  private func spin(until condition: () -> Bool) -> Bool {
    let end = monotonicNanoseconds() &+ YieldedStealTests.patience
    while !condition() {
      if monotonicNanoseconds() > end { return false }
      cpuRelax()
    }
    return true
  }
}

import Testing
@testable import Weft

/// SearchBudget G1: a searching worker leaves a busy worker's only queued fiber to it for a
/// few rounds, and takes it after that.
@Suite struct StealGraceTests {
  /// A (on one worker) spawns C, its deque's only fiber, and stays busy; B, running on the
  /// other worker, plays the thief by calling its worker's `steal` directly (it is that
  /// worker's owner while it runs there): during the grace it gets nothing, after it C.
  @Test func aSearcherTakesABusyWorkersOnlyQueuedFiberOnlyAfterTheGrace() throws {
    try withScheduler(threads: 2) { s in
      let aRunning = Counter(), bRunning = Counter(), childID = Counter(), ran = Counter()
      let duringGrace = Counter(-1), afterGrace = Counter(-1)
      let b = s.spawn {
        bRunning.store(1)
        spinUntil { aRunning.value == 1 && childID.value != 0 }
        let thief = Worker.current!
        let early = thief.steal(graceIsOver: false)
        let late = early == nil ? thief.steal(graceIsOver: true) : nil
        duringGrace.store(early.map { Int($0.id) } ?? 0)
        afterGrace.store(late.map { Int($0.id) } ?? 0)
        if let taken = early ?? late { thief.ownDeque.push(taken) }  // runs here once B is done
      }
      let a = s.spawn { () throws in
        aRunning.store(1)
        spinUntil { bRunning.value == 1 }  // A and B run at once, on the two workers
        let c = spawn { ran.increment() }  // the only fiber in this worker's deque
        childID.store(Int(c.id))
        afterGrace.spin { $0 != -1 }  // no switch: this worker stays busy meanwhile
        try c.wait()
      }
      try b.wait()
      try a.wait()
      #expect(duringGrace.value == 0, "taken during the grace")
      #expect(afterGrace.value == childID.value, "not taken after the grace")
      #expect(ran.value == 1)
    }
  }

  /// The same busy worker, with no test code stealing: the idle worker's own search takes
  /// the child once the grace is over, so a fiber queued behind a fiber that never switches
  /// still runs (with no grace end, A would spin until the watchdog fires).
  @Test func aLoneFiberBehindABusyOneIsStillStolen() throws {
    try withScheduler(threads: 2, watchdog: 30) { s in
      let ran = Counter(), parentWorker = Counter(-1), childWorker = Counter(-1)
      let a = s.spawn { () throws in
        parentWorker.store(Worker.current!.index)
        let c = spawn {
          childWorker.store(Worker.current!.index)
          ran.increment()
        }
        ran.spin { $0 == 1 }  // no switch: only the other worker can run C
        try c.wait()
      }
      try a.wait()
      #expect(ran.value == 1)
      #expect(childWorker.value != parentWorker.value)
    }
  }
}

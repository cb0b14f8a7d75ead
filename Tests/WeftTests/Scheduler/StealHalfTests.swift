import Testing
@testable import Weft

/// V1: a thief takes half of a victim's deque in one sweep (Worker.stealHalf).
@Suite struct StealHalfTests {
  /// A and B run on different workers; A spawns 64 children into its own deque while B
  /// keeps its worker busy, then spins until all have run, so B's worker is the only one
  /// that can run them. Taking half each sweep, it needs 7 sweeps (64 → 32 → 16 → 8 → 4 → 2
  /// → 1 → 0 left behind) instead of 64; every child runs exactly once, on B's worker.
  @Test func aThiefTakesHalfOfTheVictimsDequePerSweep() throws {
    try withScheduler(threads: 2) { s in
      let n = 64
      let aRunning = Counter(), bRunning = Counter(), spawned = Counter(), ran = Counter()
      let ledger = ItemLedger(count: n)
      let runOnAWorker = Counter(-1)
      let b = s.spawn {
        bRunning.store(1)
        spinUntil { aRunning.value == 1 && spawned.value == 1 }
      }
      let a = s.spawn { () throws in
        aRunning.store(1)
        spinUntil { bRunning.value == 1 }  // A and B run at once, on the two workers
        runOnAWorker.store(Worker.current!.index)
        let children = (0..<n).map { i in
          spawn {
            ledger.record(i)
            ran.increment()
          }
        }
        spawned.store(1)
        ran.spin { $0 == n }  // no switch: this worker stays busy until B's has run them all
        for c in children { try c.wait() }
      }
      let before = s.workers.map { $0.counters.load(.stealBatches) }
      let stolenBefore = s.workers.map { $0.counters.load(.steals) }
      try b.wait()
      try a.wait()
      #expect(ledger.missing.isEmpty)
      let thief = s.workers.first { $0.index != runOnAWorker.value }!
      let i = s.workers.firstIndex { $0 === thief }!
      let sweeps = thief.counters.load(.stealBatches) - before[i]
      let stolen = thief.counters.load(.steals) - stolenBefore[i]
      #expect(stolen == n)
      #expect(sweeps == 7, "took \(stolen) fibers in \(sweeps) sweeps")
    }
  }
}

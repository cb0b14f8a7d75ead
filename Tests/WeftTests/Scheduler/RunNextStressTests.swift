import Testing
@testable import Weft

// A worker's run-next slot (Worker.pushRunNext / takeRunNext / stealRunNext) together with
// its deque, driven directly by plain OS threads; the worker's loop never runs.
//
// The Worker is built the way Scheduler.init builds one, in a Pool of its own that no thread
// serves. Worker.init requires a Scheduler; the run-next path never touches it (only the
// loop does), so a one-thread scheduler stands in. pushRunNext's `pool.notifyWork()` finds
// every worker of that pool unparked and wakes nobody.
//
// - ownerAgainstThieves: the owner hands fibers to the slot (each displacing the previous one
//   into the deque), takes from the slot and pops the deque, in a seeded random mix; thieves
//   steal from the slot and from the deque. Every fiber is taken exactly once (ledger), and a
//   take right after a hand-off returns that fiber unless a thief took it first.
// - slotOnlyRounds: one fiber per round in the slot, the owner's take against three thieves'
//   CASes; exactly one of them gets it.

extension LockFreeStressTests {
  @Suite struct RunNextStressTests {
    static let thieves = 3

    /// A standalone worker (index 0 of a one-worker pool) whose loop never runs.
    static func withStandaloneWorker(_ body: (Worker) -> Void) {
      withScheduler(threads: 1, watchdog: 120) { s in
        let pool = Pool(kind: .default, workerCount: 1)
        let w = Worker(index: 0, poolIndex: 0, pool: pool, scheduler: s)
        pool.setWorkers([w])
        withExtendedLifetime(pool) { body(w) }
      }
    }

    /// Thief loop: the slot or the deque first, at random, until the owner is done and both
    /// are empty.
    static func thief(_ w: Worker, _ ledger: FiberLedger, _ ownerDone: Counter, seed: UInt64) {
      var rng = SplitMix(seed: seed)
      var tries = 0
      while true {
        let finished = ownerDone.value != 0  // read first: then two nils mean empty for good
        let f = rng.next() & 1 == 0 ? w.stealRunNext() ?? w.deque.steal() : w.deque.steal() ?? w.stealRunNext()
        if let f { ledger.take(f); tries = 0 } else if finished { return } else { backOff(&tries) }
      }
    }

    @Test(arguments: [UInt64(1), 2, 3])
    func ownerAgainstThieves(seed: UInt64) {
      let ledger = FiberLedger(count: scaled(underTSan ? 5_000 : 50_000))
      let ownerDone = Counter(), handOffErrors = Counter()
      Self.withStandaloneWorker { w in
        onThreads(1 + Self.thieves) { t in
          if t > 0 { Self.thief(w, ledger, ownerDone, seed: seed &+ UInt64(t)); return }
          var rng = SplitMix(seed: seed)
          var next = 0
          while next < ledger.count {
            switch rng.next() % 8 {
            case 0, 1, 2, 3:  // hand-off: the previous slot occupant moves to the deque
              let f = ledger.fibers[next]
              next += 1
              w.pushRunNext(f)
              if rng.next() % 4 == 0, let g = w.takeRunNext() {
                if g !== f { handOffErrors.increment() }  // the slot holds the newest hand-off
                ledger.take(g)
              }
            case 4:
              if let f = w.takeRunNext() { ledger.take(f) }
            case 5, 6:
              if let f = w.ownDeque.pop() { ledger.take(f) }
            default:
              dawdle(&rng)
            }
          }
          while let f = w.takeRunNext() ?? w.ownDeque.pop() { ledger.take(f) }
          ownerDone.store(1)
        }
        #expect(!w.hasRunNext && w.deque.approximateCount == 0)
      }
      #expect(ledger.problems == "")
      #expect(handOffErrors.value == 0, "takeRunNext right after pushRunNext returned another fiber")
    }

    /// Per round: the owner puts one fiber in the empty slot and announces the round; each thief
    /// tries one stealRunNext; the owner takes at once, after a pause, or after every thief has
    /// tried. Exactly one taker per round, and the displaced-fiber path never fires.
    @Test func slotOnlyRounds() {
      let rounds = scaled(underTSan ? 1_500 : 10_000)
      let ledger = FiberLedger(count: rounds)
      let round = Counter(), arrived = Counter(), bad = Counter(), thiefWins = Counter()
      Self.withStandaloneWorker { w in
        onThreads(1 + Self.thieves) { t in
          var rng = SplitMix(seed: 0x52 &+ UInt64(t))
          for r in 0..<rounds {
            if t > 0 {
              round.spinYielding { $0 > r }
              dawdle(&rng)
              if let f = w.stealRunNext() { ledger.take(f); thiefWins.increment() }
              arrived.increment()
              continue
            }
            w.pushRunNext(ledger.fibers[r])
            round.store(r + 1)
            let mode = rng.next() % 3
            if mode == 1 { dawdle(&rng) }
            if mode == 2 { arrived.spinYielding { $0 >= (r + 1) * Self.thieves } }
            if let f = w.takeRunNext() { ledger.take(f) }
            arrived.spinYielding { $0 >= (r + 1) * Self.thieves }
            if ledger.takes(of: r) != 1 || w.hasRunNext || w.deque.approximateCount != 0 { bad.increment() }
          }
        }
      }
      #expect(bad.value == 0, "rounds whose fiber nobody got, or that left something behind")
      #expect(ledger.problems == "")
      #expect(thiefWins.value > 0)
    }
  }
}

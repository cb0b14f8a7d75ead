import Testing
@testable import Weft

// WorkStealingDeque (Chase–Lev, D1–D3) driven directly by plain OS threads, no scheduler:
// one owner thread pushes and pops, thief threads steal, and a ledger checks that every
// fiber pushed is taken exactly once (crossbeam-deque's stress tests are the model).
// - randomMix: seeded mixes of push bursts and pops against three thieves, from a tiny
//   initial capacity (so the buffer grows while thieves read it, D2); also checks owner LIFO
//   and thief FIFO order.
// - growthWhileStealing: far more pushes than the initial capacity, no pops until the end.
// - stealRacesPopOfLastElement: one element per round, the owner's pop (CAS on top) against
//   three thieves' steals; exactly one of them gets it, every round.
// - emptyDequeHammer: steals and pops on an empty deque return nil and leave the indices
//   consistent; in between, single elements pushed and popped after a random pause race the
//   thieves' steals (the test that catches a pop which ignores its lost CAS on top).
// - deinitReleasesWhatItHolds: fibers still inside when the deque dies drop their run references (FiberRef O1).

extension LockFreeStressTests {
  @Suite struct DequeStressTests {
    static let thieves = 3
    static let items = scaled(underTSan ? 10_000 : 100_000)

    /// Thief loop: steal until the owner is done and a steal finds the deque empty. Each thief's
    /// steals must come out in increasing push order (top only grows); returns violations.
    static func thief(_ d: WorkStealingDeque, _ ledger: FiberLedger, ownerDone: Counter) -> Int {
      var last = -1, outOfOrder = 0, tries = 0
      while true {
        let finished = ownerDone.value != 0  // read before the steal: then nil means empty for good
        if let f = d.stealer.steal() {
          let i = ledger.take(f)
          if i <= last { outOfOrder += 1 }
          last = i
          tries = 0
        } else if finished {
          return outOfOrder
        } else {
          backOff(&tries)
        }
      }
    }

    @Test(arguments: [UInt64(1), 2, 3])
    func randomMix(seed: UInt64) {
      let ledger = FiberLedger(count: Self.items)
      let d = WorkStealingDeque(capacity: 4)
      let ownerDone = Counter(), orderErrors = Counter(), lifoErrors = Counter()
      withWatchdog(120) {
        onThreads(1 + Self.thieves) { t in
          if t > 0 {
            orderErrors.increment(by: Self.thief(d, ledger, ownerDone: ownerDone))
            return
          }
          var rng = SplitMix(seed: seed)
          var next = 0
          var lastPopped = Int.max  // pops since the last push must come out in decreasing order
          while next < ledger.count {
            let burst = min(Int(rng.next() % 64) + 1, ledger.count - next)
            for _ in 0..<burst { d.owner.push(ledger.fibers[next]); next += 1 }
            lastPopped = Int.max
            var firstPop = true
            for _ in 0..<Int(rng.next() % 48) {
              guard let f = d.owner.pop() else { break }
              let i = ledger.take(f)
              // LIFO: the first pop after a burst returns its last fiber (else it was stolen as
              // the only element, and pop returns nil); then each pop returns an older one.
              if (firstPop && i != next - 1) || i >= lastPopped { lifoErrors.increment() }
              firstPop = false
              lastPopped = i
            }
            dawdle(&rng)
          }
          while let f = d.owner.pop() { ledger.take(f) }
          ownerDone.store(1)
        }
      }
      #expect(ledger.problems == "")
      #expect(orderErrors.value == 0, "a thief stole out of push order")
      #expect(lifoErrors.value == 0, "the owner popped out of LIFO order")
      #expect(d.approximateCount == 0 && d.owner.pop() == nil)
    }

    @Test func growthWhileStealing() {
      let ledger = FiberLedger(count: Self.items)
      let d = WorkStealingDeque(capacity: 2)  // doubles about 16 times (debug sizes)
      let ownerDone = Counter(), orderErrors = Counter()
      withWatchdog(120) {
        onThreads(1 + Self.thieves) { t in
          if t > 0 {
            orderErrors.increment(by: Self.thief(d, ledger, ownerDone: ownerDone))
            return
          }
          for f in ledger.fibers { d.owner.push(f) }
          while let f = d.owner.pop() { ledger.take(f) }
          ownerDone.store(1)
        }
      }
      #expect(ledger.problems == "")
      #expect(orderErrors.value == 0, "a thief stole out of push order")
    }

    /// Per round: the owner pushes one fiber and announces the round; the thieves each try one
    /// steal. The owner pops at once, after a random pause, or only after every thief has
    /// tried (then a thief must have it). Exactly one taker per round, checked every round.
    @Test func stealRacesPopOfLastElement() {
      let rounds = scaled(underTSan ? 1_500 : 10_000)
      let ledger = FiberLedger(count: rounds)
      let d = WorkStealingDeque()
      let round = Counter(), arrived = Counter(), lost = Counter()
      let ownerWins = Counter(), thiefWins = Counter()
      withWatchdog(120) {
        onThreads(1 + Self.thieves) { t in
          var rng = SplitMix(seed: 0xD0 &+ UInt64(t))
          for r in 0..<rounds {
            if t > 0 {
              round.spinYielding { $0 > r }
              dawdle(&rng)
              if let f = d.stealer.steal() { ledger.take(f); thiefWins.increment() }
              arrived.increment()
              continue
            }
            d.owner.push(ledger.fibers[r])
            round.store(r + 1)  // release: the push happens before any thief's steal of round r
            let mode = rng.next() % 3
            if mode == 1 { dawdle(&rng) }
            if mode == 2 { arrived.spinYielding { $0 >= (r + 1) * Self.thieves } }
            if let f = d.owner.pop() { ledger.take(f); ownerWins.increment() }
            arrived.spinYielding { $0 >= (r + 1) * Self.thieves }
            if ledger.takes(of: r) != 1 || d.approximateCount != 0 { lost.increment() }
          }
        }
      }
      #expect(lost.value == 0, "rounds whose element nobody got")
      #expect(ledger.problems == "")
      #expect(ownerWins.value + thiefWins.value == rounds)
      #expect(thiefWins.value > 0)  // at least the rounds where the owner pops last
    }

    @Test func emptyDequeHammer() {
      let pairs = scaled(underTSan ? 10_000 : 200_000)
      let ledger = FiberLedger(count: pairs)
      let d = WorkStealingDeque(capacity: 4)
      let ownerDone = Counter(), orderErrors = Counter(), phantom = Counter()
      withWatchdog(120) {
        onThreads(1 + Self.thieves) { t in
          if t > 0 {
            orderErrors.increment(by: Self.thief(d, ledger, ownerDone: ownerDone))
            return
          }
          var rng = SplitMix(seed: 0xE0)
          for i in 0..<pairs {
            for _ in 0..<Int(rng.next() % 8) {
              if d.owner.pop() != nil { phantom.increment() }
            }
            d.owner.push(ledger.fibers[i])  // a single element: the owner's pop and the thieves race
            for _ in 0..<rng.next() % 32 { cpuRelax() }  // let thieves see it, at varied offsets
            if let f = d.owner.pop() { ledger.take(f) }
          }
          ownerDone.store(1)
        }
      }
      #expect(phantom.value == 0, "pop on an empty deque returned a fiber")
      #expect(ledger.problems == "")
      #expect(orderErrors.value == 0)
      // The indices survived the hammer: a plain LIFO round trip still works.
      let extra = (0..<1000).map { _ in Fiber<Void>(sticky: false) {} as AnyFiber }
      for f in extra { d.owner.push(f) }
      #expect(d.approximateCount == extra.count)
      for f in extra.reversed() { #expect(d.owner.pop() === f) }
      #expect(d.owner.pop() == nil && d.stealer.steal() == nil)
    }

    /// D3: the deque holds one retain per fiber and drops it when it dies.
    @Test func deinitReleasesWhatItHolds() {
      struct Weak { weak var fiber: AnyFiber? }
      var weak: [Weak] = []
      do {
        let d = WorkStealingDeque(capacity: 2)
        for _ in 0..<100 {
          let f: AnyFiber = Fiber<Void>(sticky: false) {}
          weak.append(Weak(fiber: f))
          d.owner.push(FiberRef.takeRunReference(f))  // as Scheduler.submit does (FiberRef O1)
        }
        for _ in 0..<30 { d.stealer.steal()?.dropRunReference() }
        for _ in 0..<30 { d.owner.pop()?.dropRunReference() }
        #expect(d.approximateCount == 40)
      }
      #expect(weak.allSatisfy { $0.fiber == nil }, "fibers left in the deque were never released")
    }
  }
}

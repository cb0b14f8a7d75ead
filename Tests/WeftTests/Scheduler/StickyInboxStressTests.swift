import Testing
@testable import Weft

// StickyInbox (Treiber stack + owner FIFO, M1–M2) driven directly by plain OS threads, no
// scheduler: producer threads push, one owner thread pops.
// - producersAndOwner: every fiber pushed is popped exactly once (ledger), each producer's
//   fibers come out in the order it pushed them with none skipped, a popped fiber's
//   `inboxNext` link is cleared (M1), and the owner never finds the inbox empty while a
//   finished producer's fiber is still missing (no lost push). Seeded random pauses on both
//   sides put pushes during the owner's exchange-and-reverse.
// - ownerAlwaysPolling: the same with an owner that never pauses (its exchange contends with
//   every push).
// - refillAfterEveryPop: one producer refills while the owner pops one at a time, so the
//   owner's FIFO and the pushed stack both hold fibers; order and `mayHaveWork` stay exact.
// - deinitReleasesWhatItHolds: fibers still inside when the inbox dies drop their run references (FiberRef O1).

extension LockFreeStressTests {
  @Suite struct StickyInboxStressTests {
    static let producers = 3
    static let perProducer = scaled(underTSan ? 3_000 : 30_000)

    /// Producer `p` pushes items p*perProducer ..< (p+1)*perProducer in order; the owner pops
    /// until it has them all, checking per-producer order. Returns the ledger and the counts of
    /// order errors, lost pushes and links left set.
    static func run(seed: UInt64, ownerPause: Bool) -> (ledger: FiberLedger, outOfOrder: Int, lost: Int, links: Int) {
      let n = perProducer
      let ledger = FiberLedger(count: producers * n, sticky: true)
      let inbox = StickyInbox()
      let producersDone = Counter(), outOfOrder = Counter(), lost = Counter(), links = Counter()
      withWatchdog(120) {
        onThreads(1 + producers) { t in
          var rng = SplitMix(seed: seed &+ UInt64(t))
          if t > 0 {
            let p = t - 1
            for i in (p * n)..<((p + 1) * n) {
              inbox.producer.push(ledger.fibers[i])
              if i % 16 == 0 { dawdle(&rng) }
            }
            producersDone.increment()
            return
          }
          var expected = (0..<producers).map { $0 * n }  // next position due from each producer
          var taken = 0, tries = 0
          while taken < ledger.count {
            let allPushed = producersDone.value == producers  // read before the pop
            guard let f = inbox.owner.pop() else {
              if allPushed { lost.increment(); break }  // everything pushed, inbox empty, items missing
              backOff(&tries)
              continue
            }
            let i = ledger.take(f)
            taken += 1
            if f.inboxNext != 0 { links.increment() }
            let p = i / n
            if i != expected[p] { outOfOrder.increment() }
            expected[p] = i + 1
            if ownerPause && taken % 8 == 0 { dawdle(&rng) }
          }
          if inbox.owner.pop() != nil || inbox.mayHaveWork || inbox.approximateCount != 0 { lost.increment() }
        }
      }
      return (ledger, outOfOrder.value, lost.value, links.value)
    }

    @Test(arguments: [UInt64(1), 2])
    func producersAndOwner(seed: UInt64) {
      let r = Self.run(seed: seed, ownerPause: true)
      #expect(r.ledger.problems == "")
      #expect(r.outOfOrder == 0, "a producer's fibers came out of push order")
      #expect(r.lost == 0, "the inbox looked empty (or not empty) when it was not")
      #expect(r.links == 0, "a popped fiber kept its inboxNext link")
    }

    @Test func ownerAlwaysPolling() {
      let r = Self.run(seed: 7, ownerPause: false)
      #expect(r.ledger.problems == "")
      #expect(r.outOfOrder == 0)
      #expect(r.lost == 0)
      #expect(r.links == 0)
    }

    /// One producer and the owner in lockstep-free alternation: while the owner's private FIFO
    /// holds fibers, new ones pile up on the pushed stack; `mayHaveWork` must stay true until
    /// the last one is popped (the worker's W1 re-check relies on it).
    @Test func refillAfterEveryPop() {
      let n = scaled(underTSan ? 5_000 : 50_000)
      let ledger = FiberLedger(count: n, sticky: true)
      let inbox = StickyInbox()
      let pushed = Counter(), errors = Counter()
      withWatchdog(120) {
        onThreads(2) { t in
          if t == 1 {
            for (i, f) in ledger.fibers.enumerated() { inbox.producer.push(f); pushed.store(i + 1) }
            return
          }
          var next = 0, tries = 0
          while next < n {
            let known = pushed.value  // pushes completed before this read
            if next < known && !inbox.mayHaveWork { errors.increment() }  // a pushed fiber is unseen
            guard let f = inbox.owner.pop() else {
              if next < known { errors.increment() }
              backOff(&tries)
              continue
            }
            if ledger.take(f) != next { errors.increment() }
            next += 1
          }
        }
      }
      #expect(errors.value == 0)
      #expect(ledger.problems == "")
      #expect(!inbox.mayHaveWork && inbox.owner.pop() == nil)
    }

    /// FiberRef O1: fibers still in the inbox when it dies (on the stack or in the owner's
    /// FIFO: fibers abandoned at shutdown) drop their run references.
    @Test func deinitReleasesWhatItHolds() {
      struct Weak { weak var fiber: AnyFiber? }
      var weak: [Weak] = []
      do {
        let inbox = StickyInbox()
        for i in 0..<100 {
          let f: AnyFiber = Fiber<Void> {}
          weak.append(Weak(fiber: f))
          inbox.producer.push(FiberRef.takeRunReference(f))  // as Scheduler.submit does (FiberRef O1)
          if i == 49 { inbox.owner.pop()?.dropRunReference() }  // moves 50 into the owner's FIFO, takes one
        }
        #expect(inbox.approximateCount == 99)
      }
      #expect(weak.allSatisfy { $0.fiber == nil }, "fibers left in the inbox were never released")
    }
  }
}

import Testing
@testable import Weft

// Parker (empty/parked/notified, P1–P2) driven directly by plain OS threads. A lost wake-up
// hangs the test and the watchdog aborts it; timing checks are one-sided (a timed park
// returns, no earlier than asked when nobody unparks).
// - unparkBeforeParkIsNotLost: P1 on one thread; two unparks leave one token, not two.
// - pingPong: two threads hand a counter back and forth through two parkers, with random
//   pauses so that each unpark lands before, during or after the other side's park.
// - manyUnparkers: three threads unpark one parker concurrently while its owner parks until
//   it has seen all their increments.
// - timedParkRacesUnpark: timed parks against an unpark at a random moment; a park that
//   returned before its deadline consumed the token, so the next timed park sleeps in full.

extension LockFreeStressTests {
  @Suite struct ParkerStressTests {
    /// Nanoseconds `body` took.
    static func elapsed(_ body: () -> Void) -> UInt64 {
      let start = monotonicNanoseconds()
      body()
      return monotonicNanoseconds() &- start
    }

    @Test func unparkBeforeParkIsNotLost() {
      let p = Parker()
      withWatchdog(60) {
        for _ in 0..<1000 {
          p.unpark()
          p.park()  // returns at once: the token is there (P1)
        }
        p.unpark()
        p.unpark()
        p.park()  // consumes the single token
        let slept = Self.elapsed { p.park(timeoutNanoseconds: 2_000_000) }
        #expect(slept >= 2_000_000, "a second token appeared from a repeated unpark")
      }
    }

    @Test func timedParkReturnsWithoutUnpark() {
      let p = Parker()
      withWatchdog(60) {
        for timeout: Int64 in [0, 1_000, 100_000, 3_000_000] {
          let slept = Self.elapsed { p.park(timeoutNanoseconds: timeout) }
          #expect(slept >= UInt64(timeout))
        }
      }
    }

    @Test func pingPong() {
      let rounds = scaled(underTSan ? 2_000 : 10_000)
      let parkers = [Parker(), Parker()]
      let turn = Counter()  // even: thread 0 moves, odd: thread 1 moves
      withWatchdog(120) {
        onThreads(2) { t in
          var rng = SplitMix(seed: 0xA0 &+ UInt64(t))
          for r in stride(from: t, to: 2 * rounds, by: 2) {
            while turn.value < r { parkers[t].park() }  // spurious or stale returns re-check
            dawdle(&rng)
            turn.store(r + 1)
            parkers[1 - t].unpark()
            dawdle(&rng)
          }
        }
      }
      #expect(turn.value == 2 * rounds)
    }

    @Test func manyUnparkers() {
      let perThread = scaled(underTSan ? 2_000 : 20_000)
      let unparkers = 3
      let p = Parker()
      let posted = Counter(), seen = Counter()
      withWatchdog(120) {
        onThreads(1 + unparkers) { t in
          var rng = SplitMix(seed: 0xB0 &+ UInt64(t))
          if t > 0 {
            for _ in 0..<perThread {
              posted.increment()
              p.unpark()
              if rng.next() % 8 == 0 { dawdle(&rng) }
            }
            return
          }
          var parks = 0
          while posted.value < unparkers * perThread {
            p.park()
            parks += 1
          }
          seen.store(parks)
        }
      }
      #expect(posted.value == unparkers * perThread)
      #expect(seen.value <= unparkers * perThread)  // no more returns than unparks (P1, no phantom tokens)
    }

    @Test func timedParkRacesUnpark() {
      let rounds = scaled(underTSan ? 500 : 3_000)
      let p = Parker()
      let round = Counter(), unparked = Counter(), phantom = Counter(), early = Counter()
      withWatchdog(120) {
        onThreads(2) { t in
          var rng = SplitMix(seed: 0xC0 &+ UInt64(t))
          for r in 0..<rounds {
            if t == 1 {
              round.spinYielding { $0 > r }
              dawdle(&rng)
              p.unpark()
              unparked.store(r + 1)
              continue
            }
            let timeout = Int64(rng.next() % 50_000)
            round.store(r + 1)
            let slept = Self.elapsed { p.park(timeoutNanoseconds: timeout) }
            unparked.spinYielding { $0 > r }
            if slept < UInt64(timeout) {
              // Woken before the deadline: the round's token is used up, nothing is left.
              early.increment()
              let probe = Self.elapsed { p.park(timeoutNanoseconds: 50_000) }
              if probe < 50_000 { phantom.increment() }
            } else {
              p.park(timeoutNanoseconds: 0)  // drop the token if the unpark came after the timeout
            }
          }
        }
      }
      #expect(phantom.value == 0, "a park returned early with no unpark outstanding")
      // And the parker still works: an unpark before a park is kept (P1).
      p.unpark()
      withWatchdog(60) { p.park() }
    }
  }
}

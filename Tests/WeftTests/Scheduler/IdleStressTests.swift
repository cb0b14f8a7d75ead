import Testing
@testable import Weft

// Idle's counters and sleeper list (W2, W3) driven directly by plain OS threads, each thread
// playing one worker index through the legal cycle of Worker's loop: running → searching
// (transitionToSearching) → running (transitionFromSearching; the last searcher notifies) or
// → parked (transitionToParked) → awake (transitionFromParked), with producers' wakes
// (workerToNotify, unparkSpecific) from every thread in between. A "parked" worker spins until
// a producer has removed it or its random patience runs out (then it wakes on its own):
// removing a worker from the list is the protocol's business, not the futex's (Parker is
// tested on its own).
// - searchingCapIsHalf: single-threaded: at most ceil(n/2) enter searching; only the last
//   one out is told to wake another.
// - randomMix: the counts never leave 0...n; each workerToNotify removal makes exactly one
//   transitionFromParked report "searching" (W3); at the end the threads stop in random
//   states, the counts match those states (unparked + parked == n), the sleeper list holds
//   exactly the parked ones, and waking them restores (n, 0). With `serialised`, entries
//   into searching go one at a time and the count never exceeds ceil(n/2) (W2).

extension LockFreeStressTests {
  @Suite struct IdleStressTests {
    static let workers = 4

    @Test(arguments: [1, 2, 5, 8])
    func searchingCapIsHalf(n: Int) {
      let idle = Idle(workerCount: n)
      var entered = 0
      while idle.transitionToSearching() { entered += 1 }
      #expect(entered == (n + 1) / 2)
      #expect(idle.counts == (n, entered))
      for k in 0..<entered { #expect(idle.transitionFromSearching() == (k == entered - 1)) }
      #expect(idle.counts == (n, 0))
    }

    /// What the test knows of the worker a thread plays (only that thread touches it).
    struct Role {
      var searching = false
      var parked = false
      var removalsAtPark = 0
    }

    @Test(arguments: [false, true])
    func randomMix(serialised: Bool) {
      let n = Self.workers
      let ops = scaled(underTSan ? 2_000 : 15_000)
      let idle = Idle(workerCount: n)
      let entry = OwnedFutexLock()  // serialises increases of `searching` when asked to
      let notifyRemovals = (0..<n).map { _ in Counter() }  // also the sleepers' wake signal
      let specificRemovals = (0..<n).map { _ in Counter() }
      let searchingWakes = (0..<n).map { _ in Counter() }
      let parkedAtEnd = (0..<n).map { _ in Counter() }
      let searchingAtEnd = (0..<n).map { _ in Counter() }
      let outOfRange = Counter(), overCap = Counter()
      let cap = (n + 1) / 2
      withWatchdog(120) {
        onThreads(n) { i in
          var rng = SplitMix(seed: 0x1D1E &+ UInt64(i) &+ (serialised ? 100 : 0))
          var me = Role()
          func check() {
            let c = idle.counts
            if c.unparked > n || c.searching > n { outOfRange.increment() }  // an underflow wraps high
          }
          func increasingSearching<R>(_ body: () -> R) -> R {
            guard serialised else { return body() }
            entry.lock.lock()
            defer { entry.lock.unlock() }
            let r = body()
            if idle.counts.searching > cap { overCap.increment() }
            return r
          }
          func removals(_ j: Int) -> Int { notifyRemovals[j].value + specificRemovals[j].value }
          func notify() {  // a producer after making work visible (W1/W2)
            if let j = increasingSearching({ idle.workerToNotify() }) { notifyRemovals[j].increment() }
          }
          for _ in 0..<ops {
            check()
            switch (me.parked, me.searching) {
            case (true, _):  // asleep until a producer has removed it, or it gives up
              var tries = 0
              let patience = Int(rng.next() % 4096)
              while removals(i) == me.removalsAtPark && tries < patience { backOff(&tries) }
              if idle.transitionFromParked(i) { searchingWakes[i].increment(); me.searching = true }
              me.parked = false
            case (false, true):
              if rng.next() % 2 == 0 {  // found work
                if idle.transitionFromSearching() { notify() }  // the last searcher wakes another
                me.searching = false
              } else {  // nothing found: sleep, still counted searching until now
                me = Role(searching: false, parked: true, removalsAtPark: removals(i))
                idle.transitionToParked(i, searching: true)
              }
            case (false, false):
              switch rng.next() % 6 {
              case 0, 1: me.searching = increasingSearching { idle.transitionToSearching() }
              case 2:
                me = Role(searching: false, parked: true, removalsAtPark: removals(i))
                idle.transitionToParked(i, searching: false)
              case 3: notify()
              case 4:
                let j = Int(rng.next() % UInt64(n))
                if idle.unparkSpecific(j) { specificRemovals[j].increment() }
              default: dawdle(&rng)
              }
            }
          }
          parkedAtEnd[i].store(me.parked ? 1 : 0)
          searchingAtEnd[i].store(me.searching ? 1 : 0)
        }
      }
      #expect(outOfRange.value == 0, "a count left 0...\(n) (an unbalanced transition)")
      #expect(overCap.value == 0, "more than half the workers searching")
      // Quiescence. A thread that stopped "parked" is either still listed, or was removed by a
      // producer (workerToNotify: counted unparked and searching; unparkSpecific: unparked).
      // unparkSpecific tells which: it succeeds exactly for listed workers.
      let before = idle.counts
      let parked = (0..<n).filter { parkedAtEnd[$0].value == 1 }
      var listed = 0, wokeSearchingAtEnd = 0
      for j in 0..<n where !parked.contains(j) { #expect(!idle.unparkSpecific(j), "worker \(j) listed while running") }
      for j in parked {
        if idle.unparkSpecific(j) { listed += 1 }
        if idle.transitionFromParked(j) { wokeSearchingAtEnd += 1 }
      }
      #expect(before.unparked + listed == n, "unparked + parked != workerCount")
      // W3: every workerToNotify removal made exactly one transitionFromParked say "searching".
      let removals = notifyRemovals.reduce(0) { $0 + $1.value }
      let wakes = searchingWakes.reduce(0) { $0 + $1.value }
      #expect(removals == wakes + wokeSearchingAtEnd)
      #expect(removals > 0, "no producer ever woke a parked worker: the mix did not reach W3")
      let searching = (0..<n).filter { searchingAtEnd[$0].value == 1 }.count
      #expect(idle.counts == (n, searching + wokeSearchingAtEnd))
      for _ in 0..<(searching + wokeSearchingAtEnd) { _ = idle.transitionFromSearching() }
      #expect(idle.counts == (n, 0), "the counts did not return to the initial state")
      #expect(idle.workerToNotify() == nil)  // nobody is parked: nobody to wake
    }
  }
}

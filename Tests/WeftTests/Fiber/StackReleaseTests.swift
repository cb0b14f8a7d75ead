import Testing
@testable import Weft

/// StackPool I2: a scheduler gives its stacks (guarded and slab) back at shutdown.
@Suite struct StackReleaseTests {
  @Test func shutdownUnmapsCachedStacksAndFreeSlabs() throws {
    let s = Scheduler(threads: 2, interactiveThreads: 0, stackSize: nil, guardedStackLimit: 100)
    try withWatchdog(60, scheduler: s) {
      // 1,000 fibers alive at once: 100 guarded stacks, the rest from slabs.
      let gate = Event()
      try s.spawn {
        let fibers = (0..<1000).map { _ in spawn { try gate.wait() } }
        while s.stackStatistics.guarded + 64 * s.stackStatistics.slabs < 1000 { yield() }
        gate.notify()
        for f in fibers { try f.wait() }
      }.wait()
      #expect(s.stackStatistics.guarded == 100)
      #expect(s.stackStatistics.slabs >= 14)
    }
    s.shutdown()
    #expect(s.stackStatistics.guarded == 0)
    #expect(s.stackStatistics.slabs == 0)
    #expect(s.stackStatistics.cached == 0)
  }
}

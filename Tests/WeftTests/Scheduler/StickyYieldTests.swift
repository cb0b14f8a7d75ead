import Testing
@testable import Weft

/// `yield()` puts the caller behind everything runnable on its worker — also when the caller
/// is sticky. Found by weft-stress (condition-pingpong, seed 52889956, round 432, 4 workers):
/// a sticky fiber spinning on `yield()` went back into its own sticky inbox, which the worker
/// looks at before its queue of yielded fibers, so a migratable fiber that had yielded (or
/// been moved there by the run-next cap) never ran again and the spinner waited forever.
@Suite struct StickyYieldTests {
  @Test func stickySpinnerLetsAYieldedFiberRun() throws {
    let s = Scheduler(threads: 1)
    defer { s.shutdown() }
    try withWatchdog(30, scheduler: s) {
      let done = StickyYieldFlag()
      try s.spawn {
        // One worker, no idle one: X's yield() puts it in the worker's yielded queue.
        let x = spawn { yield(); done.set() }
        // The sticky spinner can only stop once X has run again.
        let spinner = spawn(sticky: true) { while !done.isSet { yield() } }
        try spinner.wait()
        try x.wait()
      }.wait()
      #expect(done.isSet)
    }
  }
}

private final class StickyYieldFlag: @unchecked Sendable {
  // SAFETY: the word is only accessed atomically.
  private let block = AtomicBlock(count: 1)
  deinit { block.deallocate() }
  func set() { block[0].storeRelease(1) }
  var isSet: Bool { block[0].loadAcquire() != 0 }
}

import Testing
@testable import Weft

// Every `Weft misuse:` precondition of Sources/Weft/Scheduler, as an exit test.

@Suite struct SchedulerMisuseTests {
  @Test func noDefaultThreads() async {
    let r = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Scheduler(threads: 0)
    }
    #expect(stderrText(r).contains("Weft misuse: a Scheduler needs at least 1 default thread (got 0)"))
  }

  @Test func negativeInteractiveThreads() async {
    let r = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Scheduler(threads: 1, interactiveThreads: -1)
    }
    #expect(stderrText(r).contains("Weft misuse: negative interactive thread count -1"))
  }

  @Test func schedulerStackSizeBelowTheMinimum() async {
    let r = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Scheduler(threads: 1, stackSize: 8 * 1024)
    }
    #expect(stderrText(r).contains("Weft misuse: stackSize 8192 is below the 16 KiB minimum"))
  }

  @Test func shutdownFromItsOwnFiber() async {
    let r = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      let s = Scheduler(threads: 1)
      try s.spawn { s.shutdown() }.wait()
    }
    #expect(stderrText(r).contains("Weft misuse: shutdown() called from a fiber of the scheduler being shut down"))
  }

  @Test func shutdownOfTheSharedScheduler() async {
    let r = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      Scheduler.shared.shutdown()
    }
    #expect(stderrText(r).contains("Weft misuse: the shared scheduler cannot be shut down"))
  }

  /// `Scheduler.schedule(_:)` starts created fibers only.
  @Test func schedulerScheduleOfAStartedFiber() async {
    let r = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      let s = Scheduler(threads: 1)
      let t = s.spawn { 1 }
      _ = try t.fetch()
      s.schedule(t)
    }
    #expect(stderrText(r).contains("Weft misuse: schedule(_:) of fiber"))
    #expect(stderrText(r).contains("which was already started (it is done)"))
  }
}

extension SchedulerMisuseTests {
  /// New work on a scheduler that was shut down would never run.
  @Test func spawnAfterShutdown() async {
    let r = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      let s = Scheduler(threads: 1)
      s.shutdown()
      _ = s.spawn { 1 }
    }
    #expect(stderrText(r).contains("Weft misuse: spawn or schedule of fiber"))
    #expect(stderrText(r).contains("on a scheduler that was shut down"))
  }
}

import Testing
@testable import Weft

// Every `Weft misuse:` precondition of Sources/Weft/Fiber, as an exit test that checks the
// message. (A single schedule of a running fiber is not misuse: it is the F3 wake token that
// the next wait() consumes; see ScheduleYieldTests.scheduleBeforeWaitIsNotLost.)

@Suite struct FiberMisuseTests {
  @Test func scheduleOfAFinishedFiber() async {
    let r = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      let t = spawn { 1 }
      _ = try t.fetch()
      schedule(t)
    }
    #expect(stderrText(r).contains("Weft misuse: schedule(_:) of fiber"))
    #expect(stderrText(r).contains("which is done"))
  }

  /// Two schedules of one running fiber: the first is kept for its next wait(), the second
  /// is a double schedule (Julia: "schedule: Task not runnable").
  @Test func scheduleOfARunningFiberTwice() async {
    let r = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = try spawn {
        schedule(Fiber.current)
        schedule(Fiber.current)
      }.fetch()
    }
    #expect(stderrText(r).contains("Weft misuse: schedule(_:) of fiber"))
    #expect(stderrText(r).contains("which was already scheduled"))
  }

  /// Waking a fiber that is already queued to run (scheduled twice while it waited).
  @Test func scheduleOfARunnableFiber() async {
    let r = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      let s = Scheduler(threads: 1)
      _ = try s.spawn {
        let t = spawn { _ = try wait() }
        yield()  // t runs and blocks
        schedule(t)  // runnable, queued behind us on the only worker
        schedule(t)
      }.fetch()
    }
    #expect(stderrText(r).contains("which was already scheduled"))
  }

  /// The internal wake() of a created fiber (the public schedule() starts it instead).
  @Test func wakeOfANeverScheduledFiber() async {
    let r = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      Fiber { }.wake()
    }
    #expect(stderrText(r).contains("Weft misuse: woke fiber"))
    #expect(stderrText(r).contains("which was never scheduled; use schedule(_:) to start it"))
  }

  @Test func aFiberWaitingForItself() async {
    let r = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = try spawn { try Fiber.current.wait() }.fetch()
    }
    #expect(stderrText(r).contains("waited for itself, which can never finish"))
  }

  @Test func aThreadWaitingForItsOwnThreadFiber() async {
    let r = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      try Fiber.current.wait()
    }
    #expect(stderrText(r).contains("waited for itself, which can never finish"))
  }
}

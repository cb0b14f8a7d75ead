import Foundation
import Testing
@testable import Weft

/// Regression tests for `schedule`, `yield` and `wait()` that failed on the main branch before
/// interruptible waits, plus Julia's `yield(t)`/`yieldto` edge cases.
@Suite struct ScheduleRegressionTests {
  /// A schedule that arrives while the fiber runs is kept for its next `wait()`; a `yield()`
  /// in between used to store `runnable` over the wake token and lose it (hang or double wake).
  @Test func yieldDoesNotEatAWake() throws {
    let got = try onScheduler(threads: 2) { () -> Int? in
      let scheduled = Counter()
      let me = spawn { () -> Int? in
        while scheduled.value != 1 { yield() }  // not a wait: schedule() finds it running
        yield()
        return try wait() as? Int
      }
      while !me.isStarted { yield() }
      schedule(me, value: 42)
      scheduled.store(1)
      return try me.fetch()
    }
    #expect(got == 42)
  }

  /// After `schedule(Fiber.current)`, an `Event().wait()` used to return although the event
  /// was never set. Now only `wait()` takes the schedule: the event wait times out.
  @Test func aPendingScheduleDoesNotEndOtherWaits() throws {
    try onScheduler(threads: 2) { () throws -> Void in
      let f = spawn { () -> String in
        schedule(Fiber.current, value: "kept")
        do { try Event().wait(timeout: .milliseconds(20)); return "event returned" } catch is TimeoutError {}
        return try wait() as? String ?? "nil"
      }
      #expect(try f.fetch() == "kept")
    }
  }

  /// Julia's `yieldto` of a finished task returns the value at once; of a failed one rethrows.
  @Test func yieldToFinishedOrFailedFiber() throws {
    try onScheduler(threads: 2) { () throws -> Void in
      let done = spawn { 1 }
      try done.wait()
      #expect(try yield(to: done, value: "v") as? String == "v")
      let failed = spawn { throw Boom(tag: 3) }
      _ = try? failed.wait()
      #expect(throws: Boom(tag: 3)) { try yield(to: failed) }
    }
  }

  @Test func yieldToTheRunningFiberIsMisuse() async {
    let r = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      try spawn { yield(Fiber.current) }.wait()
    }
    #expect(stderrText(r).contains("Weft misuse: yield(_:) to fiber"))
    #expect(stderrText(r).contains("Cannot yield to currently running task"))
  }

  /// Julia: "schedule: Task not runnable" for a task waiting in a queue.
  @Test func scheduleWithAValueOfAFiberBlockedInAnEventIsMisuse() async {
    let r = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      let e = Event()
      let w = spawn { try e.wait() }
      waitUntilBlocked(w, in: "Event.wait")
      schedule(w, value: 1)
    }
    #expect(stderrText(r).contains("Weft misuse: schedule(_:value:) of fiber"))
    #expect(stderrText(r).contains("which is blocked in Event.wait"))
  }

  /// ReentrantLock.lock() is not interruptible (like a pthread mutex): interrupting it is
  /// misuse, and the message names the lock.
  @Test func interruptingLockIsMisuse() async {
    let r = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      let lock = ReentrantLock()
      lock.lock()
      let w = spawn { lock.lock() }
      waitUntilBlocked(w, in: "ReentrantLock.lock")
      schedule(w, error: Boom())
    }
    #expect(stderrText(r).contains("Weft misuse: schedule(_:error:) of fiber"))
    #expect(stderrText(r).contains("which is blocked in ReentrantLock.lock, a wait that cannot be interrupted"))
  }

  /// An interrupt may race the fiber's end: a finished fiber is not affected.
  @Test func interruptingAFinishedFiberDoesNothing() throws {
    try onScheduler(threads: 2) { () throws -> Void in
      let f = spawn { 7 }
      #expect(try f.fetch() == 7)
      schedule(f, error: Boom())
      f.cancel()
      #expect(try f.fetch() == 7)
      #expect(!f.isFailed)
    }
  }

  /// The wait list's own check: a fiber can be in one list at a time.
  @Test func appendingAFiberTwiceIsCaught() async {
    let r = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      var list = WaiterList()
      let f = Fiber { }
      list.append(f)
      list.append(f)
    }
    #expect(stderrText(r).contains("is already in a wait list"))
  }

  /// schedule returns its fiber (Julia's `schedule` returns the task).
  @Test func scheduleReturnsItsFiber() throws {
    try onScheduler(threads: 1) { () throws -> Void in
      let f = Fiber(sticky: false) { 3 }
      #expect(schedule(f) === f)
      #expect(try f.fetch() == 3)
    }
  }
}

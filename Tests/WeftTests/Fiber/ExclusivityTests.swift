import Testing
@testable import Weft

// Swift's dynamic exclusivity checking keeps the set of open accesses in thread-local storage.
// A fiber that suspends inside an access (here: `mutate(&box.array)`, a `modify` of a class's
// stored property) and resumes on another worker must take its accesses with it: the switch
// protocol (Context.swift, S2) saves them with swift_task_exitThreadLocalContext before every
// switch out and restores them with swift_task_enterThreadLocalContext after every switch in.

final class Box: @unchecked Sendable {
  // SAFETY: only the one fiber of a scenario touches `array`.
  var array = [Int]()
}

/// Appends 1, suspends (inside the caller's access to `a`), appends 2.
@inline(never)
func mutate(_ a: inout [Int], _ suspend: () throws -> Void) rethrows {
  a.append(1)
  try suspend()
  a.append(2)
}

enum ExclusivityScenario {
  /// On a 2-worker scheduler: fiber F begins `mutate(&box.array)` on worker A and parks in a
  /// bare `wait()` inside it. Two spinner fibers then occupy both workers; the one on worker B
  /// wakes F (F goes to B's run-next slot: a wake from a worker is a hand-off) and ends, so F
  /// resumes on B while A is still busy spinning (it cannot steal F back). A keeps spinning
  /// until F has ended its access. Returns (threadid before, threadid after, box.array).
  static func run(_ s: Scheduler) throws -> (Int, Int, [Int]) {
    let box = Box()
    let parkedOn = Counter()
    let fiber = Locked<AnyFiber?>(nil)
    let registered = Latch()
    let accessEnded = Counter()
    let f = s.spawn { () throws -> (Int, Int) in
      let before = Threads.threadid()
      var after = 0
      try mutate(&box.array) {
        fiber.withLock { $0 = Fiber.current }
        parkedOn.store(before)
        registered.open()
        _ = try wait()
        after = Threads.threadid()
      }
      accessEnded.store(1)
      return (before, after)
    }
    registered.wait()
    let started = Counter()
    for _ in 0..<2 {
      s.spawn {
        started.increment()
        // Both spinners running means both workers are taken, so F has switched out.
        started.spin { $0 >= 2 }
        if Threads.threadid() != parkedOn.value {
          schedule(fiber.snapshot!)  // F → this worker's run-next slot; runs when we return
        } else {
          accessEnded.spin { $0 == 1 }  // keep F's first worker busy
        }
      }
    }
    let (before, after) = try f.fetch()
    return (before, after, box.array)
  }
}

@Suite struct ExclusivityTests {
  @Test func fiberSuspendedInsideAnAccessResumesOnAnotherWorker() throws {
    try withScheduler(threads: 2) { s in
      for _ in 0..<20 {
        let (before, after, array) = try ExclusivityScenario.run(s)
        #expect(before != after, "the fiber must migrate for this test to mean anything")
        #expect(array == [1, 2])
      }
    }
  }

  /// S2a: a fiber with nothing saved skips the runtime's enter, which is right only because
  /// the thread's own set is empty at every switch-in; debug builds assert that with a probe.
  /// The probe itself: it sees an access live on this thread, and none once it ended.
  @Test func theAccessSetProbeSeesALiveAccess() {
    let box = Box()
    #expect(Context.threadAccessSetIsEmpty())
    var inside = true
    mutate(&box.array) { inside = Context.threadAccessSetIsEmpty() }
    #expect(!inside, "the probe missed the access to box.array")
    #expect(Context.threadAccessSetIsEmpty())
  }

  /// Control: with the two hooks switched off (a test-only switch), the same scenario
  /// crashes: the access record stays in worker A's thread-local set, and swift_endAccess on
  /// worker B does not find it in B's set. Observed (Swift 6.3.1, debug): the child dies with
  /// SIGSEGV in the first round, after F resumed on B and before its access ended. So the
  /// hooks are what makes the test above pass. (A hang would end in the child's watchdog,
  /// which prints "WATCHDOG"; that is not the crash we look for.)
  @Test func withoutTheHooksTheSameScenarioCrashes() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      Context.exclusivityHooksEnabled = false
      let s = Scheduler(threads: 2)
      try withWatchdog(30, scheduler: s) {
        for _ in 0..<20 { _ = try ExclusivityScenario.run(s) }
      }
      writeToStandardError("scenario completed without a crash\n")
    }
    let text = stderrText(result)
    #expect(!text.contains("WATCHDOG"), "\(text)")
    #expect(!text.contains("scenario completed"), "\(text)")
  }
}

import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import Weft

/// The deadlock report (DeadlockDetector): weft-stress's selftest-deadlock shapes — a
/// lock-order inversion and a reader of an empty channel, with the main thread waiting for
/// them — are reported as "all fibers are blocked"; a pending sleep prevents any report.
@Suite struct DeadlockReportTests {
  @Test func lockOrderInversionAndEmptyChannelAreReported() async {
    let result = await #expect(processExitsWith: .success, observing: [\.standardErrorContent]) {
      Diagnostics.deadlockReportHook = { exit(0) }
      Diagnostics.deadlockReportSeconds = 0.3
      let s = Scheduler(threads: 2, trackFibers: true)
      let first = ReentrantLock(), second = ReentrantLock()
      let bothHold = Semaphore(2)
      try bothHold.acquire(); try bothHold.acquire()
      let holding = Event()
      let ab = s.spawn { first.lock(); bothHold.release(); try holding.wait(); second.lock() }
      let ba = s.spawn { second.lock(); bothHold.release(); try holding.wait(); first.lock() }
      try bothHold.acquire(); try bothHold.acquire()
      holding.notify()
      let empty = Channel<Int>(capacity: 4)
      let reader = s.spawn { _ = try empty.take() }
      try ab.wait(); try ba.wait(); try reader.wait()  // never returns: the hook exits
      exit(1)
    }
    let text = stderrText(result)
    #expect(text.contains("Weft: all fibers are blocked"), "\(text)")
    #expect(text.contains("2 on ReentrantLock.lock"), "\(text)")
    #expect(text.contains("blocked on Channel.take"), "\(text)")
    #expect(text.contains("non-worker threads blocked in Weft: 1"), "\(text)")
    #expect(text.contains("at closure"), "\(text)")  // the fibers' own closures in their backtraces
  }

  @Test func pendingSleepIsNeverReported() async {
    await #expect(processExitsWith: .success) {
      Diagnostics.deadlockReportHook = { exit(3) }
      Diagnostics.deadlockReportSeconds = 0.2
      let s = Scheduler(threads: 2, trackFibers: true)
      let event = Event()
      let sleeper = s.spawn { try sleep(seconds: 3600) }
      let blocked = s.spawn { try event.wait() }
      // Everything else is as in a deadlock: the main thread waits, every worker is idle.
      Thread.detachNewThread {
        // Enough checks for several report periods (0.2 s at 50 ms per check).
        let start = Diagnostics.deadlockCheckCount
        while Diagnostics.deadlockCheckCount < start + 20 { sched_yield() }
        exit(Diagnostics.deadlockReportCount == 0 ? 0 : 2)
      }
      try blocked.wait()
      try sleeper.wait()
      exit(1)
    }
  }

  @Test func detectorSeesNoDeadlockWhileAWorkerRuns() throws {
    // In-process: a quiet check needs a thread blocked in Weft and every worker parked.
    let s = Scheduler(threads: 1, trackFibers: true)
    defer { s.shutdown() }
    let go = Counter()
    let spinner = s.spawn { while go.value == 0 { cpuRelax() } }
    while spinner.stateDescription != "running" { sched_yield() }
    #expect(DeadlockDetector.quietEpoch([s]) == nil)
    go.store(1)
    try spinner.wait()
  }
}

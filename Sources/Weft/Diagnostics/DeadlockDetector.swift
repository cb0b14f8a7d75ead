/// The deadlock report: Go's "all goroutines are asleep", for Weft.
///
/// The diagnostics thread calls `check` every `checkInterval` while the report is on. A
/// check is *quiet* when, in every scheduler that is not shut down:
///
/// - Q1: every worker is parked (the pool's unparked and searching counts are 0, W3), so no
///   fiber runs and none is about to;
/// - Q2: no queue holds work (injectors, deques, run-next slots, sticky inboxes);
/// - Q3: no timer is pending (a sleep or a timeout could wake a fiber);
///
/// and, process-wide,
///
/// - Q4: at least one non-worker thread is blocked in a Weft wait with no timeout (the
///   main thread in `fetch`, `wait`, `take`, `lock`, …: the program is waiting on Weft), and
///   none is blocked with a timeout.
///
/// A report is printed once quiet checks have followed each other for the configured time
/// with the same activity epoch (each pool's park count, and the thread wake count): nothing
/// ran in between. Then nothing in Weft can wake any fiber or thread. Only wakes from
/// threads that are not waiting in Weft (the program's own threads, callbacks from other
/// libraries) are invisible: Q4 makes the report need the program itself to be waiting, and
/// a report only prints, it never stops the program. After a report, the next one needs
/// activity first.
///
/// Cost: per check a few atomic loads per worker and each timer heap's lock once; on the
/// scheduler paths nothing (the park count is bumped under the lock a worker takes to
/// park; thread counters move when a non-worker thread blocks on its futex).
struct DeadlockDetector {
  private var quietSince: UInt64? = nil
  private var epoch: [UInt] = []
  private var reported = false

  /// How often to check for a report after `seconds` (a quarter of it, 50 ms to 1 s).
  static func checkInterval(_ seconds: Double) -> Double { min(1, max(0.05, seconds / 4)) }

  // Thread fibers blocked in Weft: 0 without a timeout, 1 with one, 2 wakes so far.
  private static let words = AtomicBlock(count: 3)
  static let checks = AtomicBlock(count: 1)

  static func threadWillBlock(timed: Bool) { words[timed ? 1 : 0].fetchAddFull(1) }
  static func threadDidWake(timed: Bool) {
    words[2].fetchAddFull(1)
    words[timed ? 1 : 0].fetchSubFull(1)
  }
  static var threadsBlocked: (untimed: Int, timed: Int) {
    (Int(bitPattern: words[0].loadAcquire()), Int(bitPattern: words[1].loadAcquire()))
  }

  /// Q1–Q4 now, with the activity epoch; nil when not quiet.
  static func quietEpoch(_ schedulers: [Scheduler]) -> [UInt]? {
    let threads = threadsBlocked
    guard threads.untimed > 0, threads.timed == 0 else { return nil }  // Q4
    // Interop: a fiber in `awaitAsync` waits for a Swift task, which Weft cannot see run.
    guard AsyncCallCount.outstanding == 0 else { return nil }
    var epoch: [UInt] = [words[2].loadAcquire()]
    for s in schedulers {
      for p in s.pools where !p.workers.isEmpty {
        let c = p.idle.counts
        guard c.unparked == 0, c.searching == 0, p.injector.approximateCount == 0 else { return nil }  // Q1, Q2
        for w in p.workers where w.deque.approximateCount != 0 || w.inbox.approximateCount != 0 || w.hasRunNext {
          return nil  // Q2
        }
        epoch.append(p.idle.parkCount)
      }
      guard s.timers.nextDeadline == UInt64(UInt.max), s.timers.count == 0 else { return nil }  // Q3
    }
    return epoch
  }

  /// One periodic check; returns the report to print, or nil.
  mutating func check(reportAfter seconds: Double, now: UInt64 = monotonicNanoseconds()) -> String? {
    DeadlockDetector.checks[0].fetchAddFull(1)
    let schedulers = Diagnostics.liveSchedulers()
    guard let e = DeadlockDetector.quietEpoch(schedulers) else { quietSince = nil; reported = false; return nil }
    if e != epoch || quietSince == nil {
      // Something ran since the last check (or this is the first quiet one): start again.
      if e != epoch { reported = false }
      epoch = e
      quietSince = now
      return nil
    }
    guard !reported, Double(now - quietSince!) >= seconds * 1e9 else { return nil }
    // Take the dump, then make sure nothing moved meanwhile (the dump itself reads only).
    let dump = Diagnostics.dumpAllSchedulers(title:
      "Weft: all fibers are blocked: every worker is idle, no timer is pending and the program's "
      + "threads wait in Weft, so nothing can wake them (a deadlock; blocked for "
      + "\(Int(Double(now - quietSince!) / 1e9)) s)")
    guard DeadlockDetector.quietEpoch(schedulers) == e else { quietSince = nil; return nil }
    reported = true
    return dump + "Weft: turn this report off with WEFT_DEADLOCK_REPORT_SECONDS=0 (or Diagnostics.deadlockReportSeconds = 0)\n"
  }
}

import CWeft
#if canImport(Glibc)
import Glibc
#endif

/// The long-running-fiber report (opt-in: `WEFT_WARN_RUNNING_MS=N`, or
/// `Diagnostics.warnRunningMilliseconds`): a worker that has run one fiber for N ms without
/// switching is reported once, with that fiber's backtrace — the blocking call or the long
/// loop that holds the worker (Tokio console's "task busy" warning).
///
/// The diagnostics thread calls `check` every `checkInterval` (a quarter of N) while the report
/// is on. It reads two owner-written words per worker (WorkerCounters M2):
///
/// - L1 the switch epoch (`switches`), which the worker bumps with a relaxed load and store of
///   its own word at every switch into a fiber: the only cost on the scheduler's paths, on or
///   off;
/// - L2 the running fiber's id (`currentFiberID`, 0 between fibers), which the loop already
///   stores for dumps.
///
/// A worker whose epoch is the same at two checks at least N ms apart, with a fiber running at
/// both, has not switched in between: it has run that slice for at least the time between the
/// two checks (the report says "at least"). The slice is reported once; the next slice
/// (a new epoch) may be reported again. A fiber run inline by `fetch` (Completion I1) is part
/// of its waiter's slice; the report names the fiber running when it is taken.
///
/// The backtrace of a fiber that is *running* needs its own thread: the diagnostics thread
/// sends that worker SIGURG (`weft_sample_thread`, Signals.c P1–P3), whose handler walks the
/// interrupted frame pointers within the fiber's stack and answers within microseconds. A
/// worker that does not answer within 100 ms is reported without a backtrace. (Under
/// ThreadSanitizer, which delivers signals late with the registers of that moment, the
/// backtrace may be empty or start inside the runtime.)
struct LongRunningMonitor {
  private struct Seen {
    var epoch: UInt
    var since: UInt64
    var reported: Bool
  }
  private var seen: [ObjectIdentifier: Seen] = [:]

  /// How often to check for a threshold of `milliseconds` (a quarter of it, 5 ms to 1 s).
  static func checkInterval(_ milliseconds: Int) -> Double { min(1, max(0.005, Double(milliseconds) / 4000)) }

  /// How long the diagnostics thread waits for a sampled worker's answer.
  static let sampleTimeoutNanoseconds: Int64 = 100_000_000

  /// Called once by each worker thread as it starts (Worker.run): its kernel thread id, so
  /// that the report can signal it, and SIGURG unblocked — threads inherit their creator's
  /// mask, and Dispatch's threads (where Swift concurrency and Swift Testing run code) block
  /// every asynchronous signal. Unhandled, SIGURG is ignored; Go unblocks it on its threads too.
  static func workerThreadStarted(_ w: Worker) {
    w.counters.store(.threadID, Int(weft_gettid()))
    var set = sigset_t()
    sigemptyset(&set)
    sigaddset(&set, SIGURG)
    pthread_sigmask(SIG_UNBLOCK, &set, nil)
  }

  /// Installs the SIGURG handler that answers `weft_sample_thread`; under `Diagnostics.state`.
  static func install() { _ = weft_install_sample_handler() }

  /// One periodic check; returns the reports to print (one per worker newly past the threshold).
  mutating func check(thresholdMilliseconds ms: Int, now: UInt64 = monotonicNanoseconds()) -> [String] {
    let threshold = UInt64(ms) * 1_000_000
    var reports: [String] = []
    var visited: [ObjectIdentifier: Seen] = [:]
    for s in Diagnostics.liveSchedulers() {
      for w in s.workers {
        let key = ObjectIdentifier(w)
        let epoch = UInt(bitPattern: w.counters.load(.switches))  // L1
        let fiber = w.currentFiberID.loadRelaxed()  // L2
        guard fiber != 0 else { continue }
        var entry = seen[key].flatMap { $0.epoch == epoch ? $0 : nil } ?? Seen(epoch: epoch, since: now, reported: false)
        if !entry.reported && now &- entry.since >= threshold {
          entry.reported = true
          reports.append(LongRunningMonitor.report(worker: w, fiber: fiber, ranNanoseconds: now &- entry.since))
        }
        visited[key] = entry
      }
    }
    seen = visited  // workers between fibers, or gone, start again
    return reports
  }

  /// The text for `fiber`, running on `w` for at least `ns`, with its backtrace if it answers.
  static func report(worker w: Worker, fiber: UInt, ranNanoseconds ns: UInt64) -> String {
    let name = w.scheduler === Scheduler.sharedIfStarted ? "the shared scheduler" : "its scheduler"
    var lines = ["Weft: fiber \(fiber) has run for at least \(ns / 1_000_000) ms on worker \(w.index + 1) of \(name) "
      + "without switching: a blocking call or a long computation holds the worker (make it yield(), "
      + "or move the blocking call off the worker)"]
    let frames = sample(w)
    if frames.isEmpty {
      lines.append("    (no backtrace: the worker did not answer within \(sampleTimeoutNanoseconds / 1_000_000) ms, "
        + "or had just switched)")
    } else {
      let own = frames.userFrames
      for f in own.isEmpty ? frames[...] : own { lines.append("    at \(f)") }
    }
    lines.append("Weft: each such run is reported once; WEFT_WARN_RUNNING_MS=0 (or Diagnostics.warnRunningMilliseconds = 0) turns this off")
    return lines.joined(separator: "\n") + "\n"
  }

  /// The running fiber's frames on `w`, innermost first (the interrupted instruction first).
  static func sample(_ w: Worker) -> [BacktraceFrame] {
    let tid = Int32(truncatingIfNeeded: w.counters.load(.threadID))
    var buffer = [UInt](repeating: 0, count: 64)
    let n = buffer.withUnsafeMutableBufferPointer {
      weft_sample_thread(tid, $0.baseAddress, $0.count, sampleTimeoutNanoseconds)
    }
    var symbolicator = Symbolicator()
    return symbolicator.frames(Array(buffer.prefix(n)))
  }
}

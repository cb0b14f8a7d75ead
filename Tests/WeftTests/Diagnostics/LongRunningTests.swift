import CWeft  // weft_sample_thread, for the error path
import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import Weft

/// Spins without switching until `stop` is set, so that the long-running report must name it.
@inline(never)
func longRunningProbeSpins(_ stop: Counter) {
  while stop.value == 0 { cpuRelax() }
}

/// The long-running-fiber report (LongRunningMonitor), in child processes that set
/// WEFT_WARN_RUNNING_MS before their first scheduler starts.
@Suite struct LongRunningTests {
  @Test func aFiberThatRunsTooLongIsReportedOnceWithItsBacktrace() async {
    let result = await #expect(processExitsWith: .success, observing: [\.standardErrorContent]) {
      setenv("WEFT_WARN_RUNNING_MS", "50", 1)
      let s = Scheduler(threads: 2)
      let stop = Counter()
      let f = s.spawn { longRunningProbeSpins(stop) }
      // The diagnostics thread reports it within a check or two of 50 ms (bounded by the
      // test's time limit); then several more checks of the same run must stay silent.
      while Diagnostics.longRunningReportCount == 0 { sched_yield() }
      let checks = Diagnostics.longRunningCheckCount
      while Diagnostics.longRunningCheckCount < checks + 6 { sched_yield() }
      precondition(Diagnostics.longRunningReportCount == 1, "reported \(Diagnostics.longRunningReportCount) times")
      stop.store(1)
      try f.wait()
      s.shutdown()
      exit(0)
    }
    let text = stderrText(result)
    #expect(text.contains("has run for at least"), "\(text)")
    #expect(text.contains("on worker"), "\(text)")
    #expect(text.components(separatedBy: "has run for at least").count == 2, "\(text)")
    #expect(text.contains("WEFT_WARN_RUNNING_MS=0"), "\(text)")
    // ThreadSanitizer delivers SIGURG late (at the thread's next intercepted call or atomic),
    // with the registers of that moment: the backtrace may be missing or start in TSan's
    // runtime, so only the report itself is checked there.
    if !underTSan {
      #expect(text.contains("at WeftTests.longRunningProbeSpins"), "\(text)")
    }
  }

  /// The control: a fiber that yields as it loops switches at every yield and is never
  /// reported, however long it runs; neither are idle workers. (The threshold is wall time: a
  /// worker thread the OS does not run for that long mid-slice is reported too, so the control
  /// uses a threshold no busy test machine reaches: 300 ms, while slices last microseconds.)
  @Test func aFiberThatYieldsIsNeverReported() async {
    let result = await #expect(processExitsWith: .success, observing: [\.standardErrorContent]) {
      setenv("WEFT_WARN_RUNNING_MS", "300", 1)
      let s = Scheduler(threads: 2)
      let stop = Counter()
      let f = s.spawn { while stop.value == 0 { yield() } }
      let checks = Diagnostics.longRunningCheckCount
      while Diagnostics.longRunningCheckCount < checks + 12 { sched_yield() }  // 12 checks of 75 ms: 3 thresholds
      stop.store(1)
      try f.wait()
      precondition(Diagnostics.longRunningReportCount == 0, "a yielding fiber was reported")
      s.shutdown()
      exit(0)
    }
    #expect(!stderrText(result).contains("has run for"), "\(stderrText(result))")
  }

  /// Off by default, and a bad value in the environment leaves it off.
  @Test func offByDefaultAndOnBadValues() async {
    await #expect(processExitsWith: .success) {
      setenv("WEFT_WARN_RUNNING_MS", "soon", 1)
      precondition(Diagnostics.warnRunningMilliseconds == 0)
      Diagnostics.warnRunningMilliseconds = 30
      precondition(Diagnostics.warnRunningMilliseconds == 30)
      Diagnostics.warnRunningMilliseconds = 0
      precondition(Diagnostics.warnRunningMilliseconds == 0)
      exit(0)
    }
    #expect(Diagnostics.warnRunningMilliseconds == 0 || getenv("WEFT_WARN_RUNNING_MS") != nil)
  }

  @Test func aNegativeThresholdIsMisuse() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      Diagnostics.warnRunningMilliseconds = -1
    }
    #expect(stderrText(result).contains("Weft misuse: warnRunningMilliseconds must be ≥ 0 (got -1)"))
  }

  /// A thread that runs no fiber answers a sample with no frames, at once (the handler runs
  /// inside the tgkill to this very thread); a thread id that is not one of ours gets no signal.
  @Test func aThreadThatRunsNoFiberAnswersWithNoFrames() {
    LongRunningMonitor.install()
    var set = sigset_t(), old = sigset_t()
    sigemptyset(&set)
    sigaddset(&set, SIGURG)
    pthread_sigmask(SIG_UNBLOCK, &set, &old)  // test threads (Dispatch's) block it
    defer { pthread_sigmask(SIG_SETMASK, &old, nil) }
    var buffer = [UInt](repeating: 0, count: 8)
    let start = monotonicNanoseconds()
    #expect(weft_sample_thread(weft_gettid(), &buffer, buffer.count, underTSan ? 10_000_000 : 20_000_000_000) == 0)
    if !underTSan { #expect(monotonicNanoseconds() - start < 10_000_000_000, "no answer: the handler did not run") }
    #expect(weft_sample_thread(0, &buffer, buffer.count, 1_000_000) == 0)
    #expect(weft_sample_thread(-1, &buffer, buffer.count, 1_000_000) == 0)
  }
}

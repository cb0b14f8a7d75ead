import CWeft
#if canImport(Glibc)
import Glibc
#endif

/// Process-wide diagnostics: the state dump on SIGQUIT, the deadlock report and the
/// long-running-fiber report.
///
/// All run on one diagnostics thread, started with the first scheduler (unless all are
/// off). It sleeps in `poll` on a pipe: the SIGQUIT handler only writes a byte to it (the
/// one async-signal-safe thing it does), and the thread then builds the dump of every live
/// scheduler and writes it to stderr; the program goes on. While the deadlock report is on,
/// the thread also wakes every `deadlockCheckInterval` to run `DeadlockDetector.check()`,
/// a few atomic loads per worker — nothing on any scheduler path — and while the
/// long-running report is on, every quarter of its threshold to run `LongRunningMonitor.check()`.
///
/// - `WEFT_SIGQUIT_DUMP=0` (or `Diagnostics.dumpsOnSIGQUIT = false`) leaves SIGQUIT alone
///   (its default action quits with a core dump). A SIGQUIT that is ignored when Weft starts
///   stays ignored. A handler installed later by the program replaces Weft's.
/// - `WEFT_DEADLOCK_REPORT_SECONDS=S` (default 5; `0` turns it off), or
///   `Diagnostics.deadlockReportSeconds`: see `DeadlockDetector`.
/// - `WEFT_WARN_RUNNING_MS=N` (default 0: off), or `Diagnostics.warnRunningMilliseconds`:
///   see `LongRunningMonitor`.
///
/// | field                      | written by                      | read by                |
/// |----------------------------|---------------------------------|------------------------|
/// | schedulers, settings       | `register`, setters (`lock`)    | the diagnostics thread (`lock`) |
/// | pipe                       | created once under `lock`       | handler (write), thread (read)  |
public enum Diagnostics {
  /// Prints every live scheduler's state dump with backtraces when the process receives
  /// SIGQUIT (`kill -QUIT pid`, Ctrl-\ in a terminal), like Go and the JVM; the program goes
  /// on. Default: on, unless `WEFT_SIGQUIT_DUMP=0`. Turning it off restores the previous
  /// disposition of SIGQUIT.
  public static var dumpsOnSIGQUIT: Bool {
    get { state.withLock { $0.sigquit } }
    set {
      state.withLock { s in
        s.sigquit = newValue
        if newValue { startLocked(&s) } else { weft_restore_sigquit_handler(); s.handlerInstalled = false }
      }
    }
  }

  /// Seconds for which every fiber and waiting thread must stay blocked, with nothing able
  /// to wake them, before Weft prints "all fibers are blocked" with the dump (see
  /// `DeadlockDetector`). 0 turns the report off. Default: `WEFT_DEADLOCK_REPORT_SECONDS`, or 5.
  public static var deadlockReportSeconds: Double {
    get { state.withLock { $0.deadlockSeconds } }
    set {
      precondition(newValue >= 0 && newValue.isFinite, "Weft misuse: deadlockReportSeconds must be ≥ 0 (got \(newValue))")
      state.withLock { s in
        s.deadlockSeconds = newValue
        if newValue > 0 { startLocked(&s) }
      }
      nudge()
    }
  }

  /// Milliseconds a fiber may run without switching (without waiting, yielding or finishing)
  /// before Weft prints, once for that run, "fiber N has run for at least … ms" with the
  /// fiber's backtrace to stderr: the blocking call or long loop that holds its worker. 0 (the
  /// default) turns the report off. Default: `WEFT_WARN_RUNNING_MS`, or 0. Turning it on
  /// installs a SIGURG handler (the signal that asks the worker for its stack).
  /// - Precondition: ≥ 0.
  public static var warnRunningMilliseconds: Int {
    get { state.withLock { $0.warnRunningMilliseconds } }
    set {
      precondition(newValue >= 0, "Weft misuse: warnRunningMilliseconds must be ≥ 0 (got \(newValue))")
      state.withLock { s in
        s.warnRunningMilliseconds = newValue
        if newValue > 0 { startLocked(&s) }
      }
      nudge()
    }
  }

  /// The text SIGQUIT prints: a header, then the dump (with backtraces) of every scheduler
  /// that is running, the shared one first.
  public static func dumpAllSchedulers(title: String = "Weft: state dump (SIGQUIT)") -> String {
    var out = [title]
    let blocked = DeadlockDetector.threadsBlocked
    for s in liveSchedulers() { out.append(s.stateDump()) }
    if out.count == 1 { out.append("no Weft scheduler is running") }
    out.append("non-worker threads blocked in Weft: \(blocked.untimed + blocked.timed)"
      + (blocked.timed > 0 ? " (\(blocked.timed) with a timeout)" : ""))
    return out.joined(separator: "\n") + "\n"
  }

  // MARK: Internals

  /// 0: SIGQUIT dumps printed, 1: deadlock reports printed, 2: long-running reports printed,
  /// 3: long-running checks run (Diagnostics+Testing.swift).
  static let counters = AtomicBlock(count: 4)

  struct State {
    var sigquit = Diagnostics.environmentFlag("WEFT_SIGQUIT_DUMP", default: true)
    var deadlockSeconds = Diagnostics.environmentSeconds("WEFT_DEADLOCK_REPORT_SECONDS", default: 5)
    var warnRunningMilliseconds = Int(min(Diagnostics.environmentSeconds("WEFT_WARN_RUNNING_MS", default: 0), 86_400_000))
    /// Strong references: a scheduler's worker threads keep it alive until `shutdown()`
    /// anyway, which unregisters it. (A weak reference gave every Scheduler a side table, which
    /// sends each retain and release of it down the runtime's slow path: ~75 instructions per
    /// `Scheduler.current`.)
    var schedulers: [Scheduler] = []
    var threadStarted = false
    var handlerInstalled = false
    var pipe: (read: Int32, write: Int32) = (-1, -1)
  }

  static let state = Guarded(State())

  /// Called by every `Scheduler.init` (one short lock; not on any fiber path).
  static func register(_ s: Scheduler) {
    state.withLock { st in
      st.schedulers.append(s)
      startLocked(&st)
    }
  }

  /// Called by `Scheduler.shutdown()`.
  static func unregister(_ s: Scheduler) {
    state.withLock { st in st.schedulers.removeAll { $0 === s } }
  }

  /// Schedulers not shut down, the shared one first.
  static func liveSchedulers() -> [Scheduler] {
    let all = state.withLock { $0.schedulers }.filter { !$0.isShuttingDown }
    let shared = Scheduler.sharedIfStarted
    return all.filter { $0 === shared } + all.filter { $0 !== shared }
  }

  /// Starts the thread (and installs the handler) if a feature wants them; under `state`'s lock.
  private static func startLocked(_ s: inout State) {
    guard s.sigquit || s.deadlockSeconds > 0 || s.warnRunningMilliseconds > 0 else { return }
    if s.warnRunningMilliseconds > 0 { LongRunningMonitor.install() }
    if s.pipe.read < 0 {
      var fds: [Int32] = [-1, -1]
      guard pipe(&fds) == 0 else { return }
      for fd in fds {
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)  // the handler never blocks
      }
      s.pipe = (fds[0], fds[1])
    }
    if s.sigquit && !s.handlerInstalled { s.handlerInstalled = weft_install_sigquit_handler(s.pipe.write) }
    if !s.threadStarted {
      s.threadStarted = true
      startThread(readEnd: s.pipe.read)
    }
  }

  /// Wakes the thread to re-read its settings (a byte that is not a dump request).
  static func nudge() {
    let fd = state.withLock { $0.pipe.write }
    if fd >= 0 { var b: UInt8 = UInt8(ascii: "n"); _ = write(fd, &b, 1) }
  }

  private static func startThread(readEnd: Int32) {
    var t = pthread_t()
    let rc = pthread_create(&t, nil, { _ in
      Diagnostics.threadMain(readEnd: Diagnostics.state.withLock { $0.pipe.read })
      return nil
    }, nil)
    if rc == 0 { pthread_detach(t) }
  }

  private static func threadMain(readEnd: Int32) {
    // Threads inherit their creator's signal mask, and test harnesses (Swift Testing's exit
    // tests) and servers often block SIGQUIT: this thread takes it for the process.
    weft_unblock_sigquit()
    var detector = DeadlockDetector()
    var monitor = LongRunningMonitor()
    while true {
      let (seconds, runningMs) = state.withLock { ($0.deadlockSeconds, $0.warnRunningMilliseconds) }
      var intervals: [Double] = []
      if seconds > 0 { intervals.append(DeadlockDetector.checkInterval(seconds)) }
      if runningMs > 0 { intervals.append(LongRunningMonitor.checkInterval(runningMs)) }
      let timeout: Int32 = intervals.min().map { Int32($0 * 1000) } ?? -1
      var pfd = pollfd(fd: readEnd, events: Int16(POLLIN), revents: 0)
      let r = poll(&pfd, 1, timeout)
      if r > 0 {
        var buffer = [UInt8](repeating: 0, count: 64)
        var dump = false
        while true {
          let n = read(readEnd, &buffer, buffer.count)
          if n <= 0 { break }
          if buffer.prefix(n).contains(UInt8(ascii: "q")) { dump = true }
        }
        if dump && state.withLock({ $0.sigquit }) {
          writeToStandardError(dumpAllSchedulers())
          counters[0].fetchAddFull(1)
        }
      }
      if seconds > 0, let report = detector.check(reportAfter: seconds) {
        writeToStandardError(report)
        counters[1].fetchAddFull(1)
        deadlockReportHook?()
      }
      if seconds <= 0 { detector = DeadlockDetector() }
      if runningMs > 0 {
        for report in monitor.check(thresholdMilliseconds: runningMs) {
          writeToStandardError(report)
          counters[2].fetchAddFull(1)
        }
        counters[3].fetchAddFull(1)
      } else {
        monitor = LongRunningMonitor()
      }
    }
  }

  static func writeToStandardError(_ text: String) {
    var bytes = Array(text.utf8)
    var offset = 0
    while offset < bytes.count {
      let n = bytes[offset...].withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
      if n <= 0 { if errno == EINTR { continue }; break }
      offset += n
    }
    bytes.removeAll()
  }

  static func environmentFlag(_ name: String, default value: Bool) -> Bool {
    guard let env = getenv(name) else { return value }
    let v = String(cString: env).lowercased()
    if v == "0" || v == "false" || v == "no" || v == "off" { return false }
    if v == "1" || v == "true" || v == "yes" || v == "on" { return true }
    return value
  }

  static func environmentSeconds(_ name: String, default value: Double) -> Double {
    guard let env = getenv(name), let v = Double(String(cString: env)), v >= 0, v.isFinite else { return value }
    return v
  }
}

/// A value under a short futex lock (never held across a park or a dump).
final class Guarded<Value>: @unchecked Sendable {
  // SAFETY: `value` is only touched under `lock`.
  private let lock = OwnedFutexLock()
  private var value: Value
  init(_ v: Value) { value = v }
  func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
    try lock.lock.withLock { try body(&value) }
  }
}

import Weft
#if canImport(Glibc)
import Glibc
#endif

/// One benchmark workload (shared/BENCHMARKS.md). `run` does one pass with `params` and
/// returns the outcome; the harness runs it once untimed (warm-up) and once timed.
struct Workload: Sendable {
  let name: String
  /// Parameters and their defaults, in printing order.
  let defaults: [(String, String)]
  /// Runs one pass on `scheduler`; returns the operation count for ns_per_op, whether the
  /// result checked out, and extra fields to print.
  let run: @Sendable (_ scheduler: Scheduler, _ params: Params) throws -> Outcome
  /// Several lines (e.g. one per fiber count) come from `variants` when set.
  var variants: (@Sendable (Params) -> [Params])? = nil
  /// False for workloads that make their own schedulers (fork_join_*).
  var usesSharedScheduler = true
  /// Wraps all the passes of the workload (every variant's warm-up and timed pass) when set:
  /// for state they share that no pass should time, e.g. worker processes
  /// (DistributedWorkloads.swift). It runs on the main thread and calls `passes` once.
  var session: (@Sendable (_ scheduler: Scheduler, _ passes: () throws -> Void) throws -> Void)? = nil
}

struct Outcome: Sendable {
  var operations: Double
  var ok: Bool
  var extra: [(String, String)] = []
  /// The measured part's own duration when the pass also does work that must not count (a
  /// result check as costly as the work itself); nil: the harness times the whole pass.
  var seconds: Double? = nil
}

struct Params: Sendable {
  var values: [String: String]
  func int(_ key: String) -> Int { Int(values[key] ?? "") ?? 0 }
  func string(_ key: String) -> String { values[key] ?? "" }
  func with(_ key: String, _ value: String) -> Params {
    var p = self
    p.values[key] = value
    return p
  }
}

func monotonicSeconds() -> Double {
  var ts = timespec()
  clock_gettime(CLOCK_MONOTONIC, &ts)
  return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// Runs `body` on a fiber of `scheduler` and waits for it from this (non-worker) thread.
func onFiber<R>(_ scheduler: Scheduler, _ body: @escaping @Sendable () throws -> R) throws -> R {
  try scheduler.spawn(body).fetch()
}

/// Peak and current resident set from /proc/self/status, in KiB.
func residentKiB(_ field: String) -> Int {
  guard let f = fopen("/proc/self/status", "r") else { return 0 }
  defer { fclose(f) }
  var line = [CChar](repeating: 0, count: 256)
  while fgets(&line, 256, f) != nil {
    let s = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    if s.hasPrefix(field + ":") { return Int(s.filter(\.isNumber)) ?? 0 }
  }
  return 0
}

/// Resets VmHWM to the current RSS (Linux ≥ 4.0), so a later peak reading is this run's own.
func resetPeakResident() {
  if let f = fopen("/proc/self/clear_refs", "w") { fputs("5", f); fclose(f) }
}

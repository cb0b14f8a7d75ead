import CoreMetrics
import Dispatch
import Weft
#if canImport(Glibc)
import Glibc
#endif

/// Reports a Weft scheduler's `metrics` to swift-metrics, now and then.
///
/// Every `interval` a timer on a private Dispatch queue takes `scheduler.metrics` and records
/// it (no fiber and no worker is involved, so reports go on while every worker is busy or
/// stuck — when they matter most — and reporting never shows up in the figures it reports):
///
/// | swift-metrics | names (prefix `weft_`) |
/// | --- | --- |
/// | `Counter`, incremented by the change since the last report | `fibers_spawned_total`, `fibers_finished_total`, `fiber_parks_total`, `fiber_wakes_total`, `steal_attempts_total`, `steals_total`, `worker_sleeps_total`, `timers_fired_total`, `timer_lateness_nanoseconds_total` |
/// | `Gauge`, the value now | `fibers_live`, `fibers_parked`, `injector_depth`, `inbox_depth`, `deque_depth`, `run_next_depth`, `timers_pending`, `timer_lateness_max_nanoseconds` (since start), `timer_lateness_mean_nanoseconds` (over the last interval), `stacks_in_use`, `stacks_cached`, `stack_cached_bytes` |
///
/// Each metric carries `dimensions` (e.g. `[("scheduler", "main")]`). The counters start from
/// the scheduler's totals at the first report. A report costs one `Scheduler.metrics` (a few
/// hundred relaxed loads and four short locks) and about twenty handler calls.
public final class WeftMetricsReporter: Sendable {
  public let scheduler: Scheduler
  public let interval: Duration
  /// Names of the counters and gauges, in the table's order (for tests and documentation).
  public static let counterNames = [
    "fibers_spawned_total", "fibers_finished_total", "fiber_parks_total", "fiber_wakes_total",
    "steal_attempts_total", "steals_total", "worker_sleeps_total", "timers_fired_total",
    "timer_lateness_nanoseconds_total",
  ]
  public static let gaugeNames = [
    "fibers_live", "fibers_parked", "injector_depth", "inbox_depth", "deque_depth", "run_next_depth",
    "timers_pending", "timer_lateness_max_nanoseconds", "timer_lateness_mean_nanoseconds",
    "stacks_in_use", "stacks_cached", "stack_cached_bytes",
  ]

  private let prefix: String
  private let counters: [Counter]
  private let gauges: [Gauge]
  private let queue = DispatchQueue(label: "weft.metrics.reporter")
  // `last`: the totals at the previous report; `timer`: the running timer, if started.
  private let state = PthreadLocked<State>(State())
  private struct State: @unchecked Sendable {
    // SAFETY (@unchecked): `timer` is only used under the lock, and a DispatchSourceTimer
    // may be cancelled from any thread.
    var last: [Int]? = nil
    var timer: DispatchSourceTimer? = nil
  }

  /// - Parameters:
  ///   - factory: where the metrics go; default: the one `MetricsSystem.bootstrap` installed.
  ///   - prefix: prepended to every name (`"weft_"`).
  public init(scheduler: Scheduler = .shared, interval: Duration = .seconds(10), prefix: String = "weft_",
              dimensions: [(String, String)] = [], factory: (any MetricsFactory)? = nil) {
    self.scheduler = scheduler
    self.interval = interval
    self.prefix = prefix
    let factory = factory ?? MetricsSystem.factory
    counters = Self.counterNames.map { Counter(label: prefix + $0, dimensions: dimensions, factory: factory) }
    gauges = Self.gaugeNames.map { Gauge(label: prefix + $0, dimensions: dimensions, factory: factory) }
    queue.setSpecific(key: reporterQueueKey, value: true)
  }

  deinit { stop() }

  /// Starts reporting every `interval` (the first report at once). Calling it again does nothing.
  public func start() {
    state.withLock { s in
      guard s.timer == nil else { return }
      let t = DispatchSource.makeTimerSource(queue: queue)
      let ns = max(1, interval.components.seconds * 1_000_000_000 + interval.components.attoseconds / 1_000_000_000)
      t.schedule(deadline: .now(), repeating: .nanoseconds(Int(ns)))
      t.setEventHandler { [weak self] in self?.report() }
      t.resume()
      s.timer = t
    }
  }

  /// Stops the periodic reports; a report in progress finishes first. Reports can be
  /// started again.
  public func stop() {
    let t = state.withLock { s -> DispatchSourceTimer? in
      defer { s.timer = nil }
      return s.timer
    }
    guard let t else { return }
    t.cancel()
    // Wait for a running handler, unless this is it (stop() called from a report).
    if DispatchQueue.getSpecific(key: reporterQueueKey) != true { queue.sync {} }
  }

  /// Takes `scheduler.metrics` now and records it. Any thread.
  public func report() {
    record(scheduler.metrics)
  }

  /// Records one snapshot (also what `report()` does).
  public func record(_ m: SchedulerMetrics) {
    let totals = [
      m.fibersSpawned, m.fibersFinished, m.parks, m.wakes, m.stealAttempts, m.steals, m.workerSleeps, m.timersFired,
      Int(truncatingIfNeeded: m.timerLatenessTotalNanoseconds),
    ]
    // Two reports racing may record out of order: the totals kept only grow, so no change
    // is counted twice.
    let previous = state.withLock { s -> [Int] in
      let p = s.last ?? [Int](repeating: 0, count: totals.count)
      s.last = zip(p, totals).map { max($0, $1) }
      return p
    }
    for (i, c) in counters.enumerated() where totals[i] > previous[i] {
      c.increment(by: Int64(totals[i] - previous[i]))
    }
    let fired = totals[7] - previous[7]
    let meanLate = fired > 0 ? (totals[8] - previous[8]) / fired : 0
    let values = [
      m.fibersLive, m.fibersParked, m.injectorDepth, m.inboxDepth, m.dequeDepth, m.runNextDepth, m.timersPending,
      Int(truncatingIfNeeded: m.timerLatenessMaxNanoseconds), meanLate, m.stacksInUse, m.stacksCached,
      m.stackCachedBytes,
    ]
    for (g, v) in zip(gauges, values) { g.record(Int64(v)) }
  }
}

/// Set on each reporter's queue (they are distinct queues; the value only says "a reporter's").
private let reporterQueueKey = DispatchSpecificKey<Bool>()

/// A value behind a pthread mutex: ThreadSanitizer sees it (it does not see
/// Synchronization.Mutex's futex, and reported the test factory's users as racing).
final class PthreadLocked<Value>: @unchecked Sendable {
  // SAFETY: `value` is touched only while `mutex` is held.
  private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
  private var value: Value
  init(_ value: Value) {
    self.value = value
    pthread_mutex_init(mutex, nil)
  }
  deinit {
    pthread_mutex_destroy(mutex)
    mutex.deallocate()
  }
  func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
    pthread_mutex_lock(mutex)
    defer { pthread_mutex_unlock(mutex) }
    return try body(&value)
  }
}

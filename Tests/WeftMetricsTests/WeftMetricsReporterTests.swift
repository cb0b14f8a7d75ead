import CoreMetrics
import Foundation
import Testing
import Weft
import WeftMetrics
#if canImport(Glibc)
import Glibc
#endif

/// A value behind an NSLock (a pthread mutex, which ThreadSanitizer sees; it does not see
/// Synchronization.Mutex's futex and reported its users as racing).
final class LockedValue<Value>: @unchecked Sendable {
  // SAFETY: `value` is touched only while `lock` is held.
  private let lock = NSLock()
  private var value: Value
  init(_ value: Value) { self.value = value }
  func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
    lock.lock()
    defer { lock.unlock() }
    return try body(&value)
  }
}

/// A MetricsFactory that keeps every value recorded, by label (passed to the reporter
/// directly: no global bootstrap, so tests stay independent).
final class RecordingFactory: MetricsFactory, Sendable {
  let counters = LockedValue<[String: Int64]>([:])
  let gauges = LockedValue<[String: Int64]>([:])
  let dimensions = LockedValue<[String: [(String, String)]]>([:])

  func makeCounter(label: String, dimensions d: [(String, String)]) -> any CounterHandler {
    dimensions.withLock { $0[label] = d }
    return Handler(label: label, factory: self)
  }
  func makeRecorder(label: String, dimensions d: [(String, String)], aggregate: Bool) -> any RecorderHandler {
    dimensions.withLock { $0[label] = d }
    return Handler(label: label, factory: self)
  }
  func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler { Handler(label: label, factory: self) }
  func destroyCounter(_ handler: any CounterHandler) {}
  func destroyRecorder(_ handler: any RecorderHandler) {}
  func destroyTimer(_ handler: any TimerHandler) {}

  func counter(_ label: String) -> Int64? { counters.withLock { $0[label] } }
  func gauge(_ label: String) -> Int64? { gauges.withLock { $0[label] } }

  final class Handler: CounterHandler, RecorderHandler, TimerHandler, Sendable {
    let label: String
    let factory: RecordingFactory
    init(label: String, factory: RecordingFactory) { self.label = label; self.factory = factory }
    func increment(by amount: Int64) { factory.counters.withLock { $0[label, default: 0] += amount } }
    func reset() { factory.counters.withLock { $0[label] = 0 } }
    func record(_ value: Int64) { factory.gauges.withLock { $0[label] = value } }
    func record(_ value: Double) { record(Int64(value)) }
    func recordNanoseconds(_ duration: Int64) {}
  }
}

@Suite struct WeftMetricsReporterTests {
  @Test func reportedValuesReachTheFactory() throws {
    let s = Scheduler(threads: 2)
    defer { s.shutdown() }
    let factory = RecordingFactory()
    let reporter = WeftMetricsReporter(scheduler: s, interval: .seconds(3600), dimensions: [("scheduler", "test")],
                                       factory: factory)
    for f in (0..<50).map({ i in s.spawn { i } }) { _ = try f.fetch() }
    while s.metrics.fibersLive != 0 { sched_yield() }  // finishes are counted after the switch out
    reporter.report()
    #expect(factory.counter("weft_fibers_spawned_total") == 50)
    #expect(factory.counter("weft_fibers_finished_total") == 50)
    #expect(factory.gauge("weft_fibers_live") == 0)
    #expect(factory.gauge("weft_timers_pending") == 0)
    for name in WeftMetricsReporter.gaugeNames { #expect(factory.gauge("weft_" + name) != nil, "gauge \(name) not recorded") }
    #expect(factory.dimensions.withLock { $0["weft_fibers_live"]?.first?.1 } == "test")

    // A second report adds only what changed since the first.
    for f in (0..<25).map({ i in s.spawn { i } }) { _ = try f.fetch() }
    while s.metrics.fibersLive != 0 { sched_yield() }
    reporter.report()
    #expect(factory.counter("weft_fibers_spawned_total") == 75)
    #expect(factory.counter("weft_fibers_finished_total") == 75)
  }

  @Test func periodicReportsRunInTheBackground() throws {
    let s = Scheduler(threads: 1)
    defer { s.shutdown() }
    let factory = RecordingFactory()
    let reporter = WeftMetricsReporter(scheduler: s, interval: .milliseconds(5), factory: factory)
    let event = Event()
    let blocked = s.spawn { try event.wait() }
    reporter.start()
    // No sleep to synchronise: wait (bounded by the test's time limit) until a background
    // report has seen the blocked fiber.
    while factory.gauge("weft_fibers_parked") != 1 { sched_yield() }
    reporter.stop()
    event.notify()
    try blocked.wait()
    #expect(factory.counter("weft_fibers_spawned_total") == 1)
  }
}

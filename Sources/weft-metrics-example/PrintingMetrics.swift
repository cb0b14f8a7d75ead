import CoreMetrics
import Synchronization

/// A tiny swift-metrics backend that keeps the latest value of every counter and gauge and
/// prints them as a Prometheus-style text block (`name{dims} value`). A real program would
/// bootstrap swift-prometheus or another backend instead; `WeftMetricsReporter` does not care.
final class PrintingMetricsFactory: MetricsFactory, Sendable {
  private let values = Mutex<[String: Int64]>([:])

  private func key(_ label: String, _ dimensions: [(String, String)]) -> String {
    dimensions.isEmpty ? label : label + "{" + dimensions.map { "\($0)=\"\($1)\"" }.joined(separator: ",") + "}"
  }

  func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
    Handler(key: key(label, dimensions), factory: self, accumulate: true)
  }
  func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
    Handler(key: key(label, dimensions), factory: self, accumulate: false)
  }
  func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
    Handler(key: key(label, dimensions), factory: self, accumulate: false)
  }
  func destroyCounter(_ handler: any CounterHandler) {}
  func destroyRecorder(_ handler: any RecorderHandler) {}
  func destroyTimer(_ handler: any TimerHandler) {}

  fileprivate func update(_ key: String, _ value: Int64, accumulate: Bool) {
    values.withLock { v in v[key] = accumulate ? (v[key] ?? 0) + value : value }
  }

  /// The current values, sorted by name.
  func render() -> String {
    values.withLock { v in v.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: "\n") }
  }

  private final class Handler: CounterHandler, RecorderHandler, TimerHandler, Sendable {
    let key: String
    let factory: PrintingMetricsFactory
    let accumulate: Bool
    init(key: String, factory: PrintingMetricsFactory, accumulate: Bool) {
      self.key = key
      self.factory = factory
      self.accumulate = accumulate
    }
    func increment(by amount: Int64) { factory.update(key, amount, accumulate: true) }
    func reset() { factory.update(key, 0, accumulate: false) }
    func record(_ value: Int64) { factory.update(key, value, accumulate: accumulate) }
    func record(_ value: Double) { factory.update(key, Int64(value), accumulate: accumulate) }
    func recordNanoseconds(_ duration: Int64) { factory.update(key, duration, accumulate: false) }
  }
}

import Synchronization
@testable import Weft

/// A thread-safe list that fibers append to, for checking what happened and in what order.
final class Recorder<T: Sendable>: Sendable {
  private let items = Mutex<[T]>([])
  func append(_ x: T) { items.withLock { $0.append(x) } }
  var values: [T] { items.withLock { $0 } }
}

/// A shared counter (test bookkeeping).
final class TestCounter: Sendable {
  private let n = Atomic<Int>(0)
  @discardableResult func increment() -> Int { n.add(1, ordering: .sequentiallyConsistent).newValue }
  @discardableResult func decrement() -> Int { n.subtract(1, ordering: .sequentiallyConsistent).newValue }
  var value: Int { n.load(ordering: .sequentiallyConsistent) }
}

struct TestError: Error, Equatable, CustomStringConvertible {
  let tag: String
  init(_ tag: String) { self.tag = tag }
  var description: String { "TestError(\(tag))" }
}


import Synchronization
@testable import Weft

// Test bookkeeping for the channel tests. Shared state is guarded by Weft's own FutexLock, not
// Synchronization.Mutex: on Linux a contended Mutex hands ownership over in the kernel
// (FUTEX_LOCK_PI), which ThreadSanitizer cannot see, so it reports false races.

/// A value guarded by a FutexLock (short critical sections only; never held across a park).
final class Guarded<Value>: @unchecked Sendable {
  // SAFETY: `value` is only touched while `lock` is held.
  private let lock = OwnedFutexLock()
  private var value: Value
  init(_ value: Value) { self.value = value }
  func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
    try lock.lock.withLock { try body(&value) }
  }
}

/// A thread-safe list that fibers append to, for checking what happened and in what order.
final class Recorder<T: Sendable>: Sendable {
  private let items = Guarded<[T]>([])
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

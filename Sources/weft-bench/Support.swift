import Synchronization
import Weft

/// A shared counter for checking that every fiber ran (benchmark bookkeeping, not Weft).
final class Counter: Sendable {
  private let count = Atomic<Int>(0)
  func increment() { count.add(1, ordering: .relaxed) }
  var value: Int { count.load(ordering: .acquiring) }
}

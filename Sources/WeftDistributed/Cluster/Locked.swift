// The one lock of WeftDistributed's tables: a value behind a pthread mutex (NSLock).
//
// Not Synchronization.Mutex: on Linux its lock is invisible to ThreadSanitizer (it reported
// every access made under it as a race), while TSan intercepts pthread mutexes. Held for a
// few table operations at a time, never across a wait, a call or an `await`.

import Foundation

final class Locked<Value>: @unchecked Sendable {
  // SAFETY: `value` is only accessed under `lock`.
  private let lock = NSLock()
  private var value: Value

  init(_ value: Value) { self.value = value }

  func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
    lock.lock()
    defer { lock.unlock() }
    return try body(&value)
  }
}

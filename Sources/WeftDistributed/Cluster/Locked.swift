// The one lock of WeftDistributed's tables: a value behind a pthread mutex (NSLock).
//
// Not Synchronization.Mutex, for two reasons found on Linux:
// - ThreadSanitizer cannot see its lock (it reported every access made under it as a race),
//   while it intercepts pthread mutexes.
// - In release builds its inlined lock reads the owner's thread id through a thread-local
//   whose address LLVM computes once per function (`llvm.threadlocal.address`): a fiber that
//   locked, parked, resumed on another thread and locked again in the same function recorded
//   the old thread's id, and the unlock trapped ("Call to unlock Mutex on a thread which
//   hasn't acquired the lock"; weft-bench remote_channel, in Future.fetch). NSLock's lock is
//   an out-of-line call that reads the calling thread's own identity.
// Held for a few table operations at a time, never across a wait, a call or an `await`.

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

/// Julia's `AbstractLock`: a lock that fibers (and plain threads) can take.
///
/// Conformers block the calling *fiber* while waiting (parking it, never its worker) and give
/// acquire ordering on `lock`/`tryLock` and release ordering on `unlock`.
/// `ReentrantLock` conforms; `Threads.Condition`, `Lockable` and `Channel` accept or are one.
public protocol AbstractLock: AnyObject, Sendable {
  /// Julia's `lock(l)`: acquires the lock, waiting for it if another fiber holds it.
  func lock()
  /// Julia's `unlock(l)`: releases the lock.
  func unlock()
  /// Julia's `trylock(l)`: acquires the lock if that needs no waiting; true on success.
  func tryLock() -> Bool
  /// Julia's `islocked(l)`: whether any fiber or thread holds the lock (a hint, not a guard).
  var isLocked: Bool { get }
}

extension AbstractLock {
  /// Julia's `lock(f, l)` / `@lock l expr`: runs `body` holding the lock, releasing it when
  /// `body` returns or throws.
  @inlinable
  public func withLock<R>(_ body: () throws -> R) rethrows -> R {
    lock()
    defer { unlock() }
    return try body()
  }
}

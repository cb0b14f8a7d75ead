// Lockable: Julia's `Lockable(value, lock)` (base/lock.jl, Julia 1.11): a value reachable only
// while its lock is held.
//
// Invariants:
// - K1: `value` is read or written only by a context holding `lock` (`withLock`, or the
//   subscript, which checks it: per fiber for ownership-aware locks such as ReentrantLock,
//   otherwise only that the lock is held by someone).
// - K2: ordering is the lock's: acquire on lock, release on unlock.
//
// | field | written by        | read by           |
// |-------|-------------------|-------------------|
// | value | lock holders (K1) | lock holders (K1) |
// | lock  | init              | everyone          |

/// Julia's `Lockable`: a value paired with the lock that guards it.
///
/// - **Triggering:** a mutex around a value: `withLock { value in … }` runs with the lock held
///   and the value `inout`; the subscript `lockable[]` reads or writes it while the caller
///   holds the lock (for `Sendable` values only: a non-`Sendable` value must not escape the
///   lock, so it is reachable only through `withLock`, whose closure takes it as `sending`).
/// - **Memory ordering:** the lock's: acquire on lock, release on unlock.
/// - **Blocks:** taking the lock parks the calling fiber (never its worker) or, off the
///   workers, the calling thread.
/// - **Errors:** `withLock` releases when its body returns or throws. `lockable[]` without the
///   lock held stops the program with a `Weft misuse:` message — checked per fiber with an
///   ownership-aware lock (`ReentrantLock`, the default); with another `AbstractLock` only
///   whether someone holds it.
/// - **Julia:** `Lockable(value, lock=ReentrantLock())`, `l[]`, `lock(f, l)` (here
///   `withLock { value in }`), `@lock l expr` (here `withLock { }` from `AbstractLock`), and
///   `lock`/`unlock`/`trylock`/`islocked` forwarded to the lock.
public final class Lockable<Value>: AbstractLock, @unchecked Sendable {
  // SAFETY (for @unchecked Sendable): `value` is only reached with the lock held (K1); values
  // enter and leave as `sending`, so no unsynchronised reference to a non-Sendable value
  // escapes through `withLock`. The subscript is limited to Sendable values for that reason.
  private var value: Value
  /// The lock that guards the value (Julia's `l.lock`).
  public let underlyingLock: any AbstractLock
  private let view: LockView

  /// Wraps `value`, guarded by `lock` (a new `ReentrantLock` by default).
  public init(_ value: sending Value, lock: any AbstractLock = ReentrantLock()) {
    self.value = value
    self.underlyingLock = lock
    self.view = LockView(lock)
  }

  /// Julia's `lock(f, l::Lockable)`: runs `body` with the lock held and the value `inout`;
  /// releases the lock when `body` returns or throws. Inside `body` use its argument, not
  /// `l[]`: the two would be overlapping accesses to the value, which Swift traps.
  public func withLock<R>(_ body: (inout sending Value) throws -> sending R) rethrows -> sending R {
    underlyingLock.lock()
    defer { underlyingLock.unlock() }
    return try body(&value)
  }

  // MARK: AbstractLock (forwarded to the lock)

  /// Julia's `lock(l)`: takes the underlying lock.
  public func lock() { underlyingLock.lock() }
  /// Julia's `unlock(l)`: releases the underlying lock.
  public func unlock() { underlyingLock.unlock() }
  /// Julia's `trylock(l)`: takes the underlying lock if that needs no waiting.
  public func tryLock() -> Bool { underlyingLock.tryLock() }
  /// Julia's `islocked(l)`: whether anyone holds the underlying lock.
  public var isLocked: Bool { underlyingLock.isLocked }

  fileprivate func requireLock() {
    if !view.isHeldByCaller {
      preconditionFailure("Weft misuse: Lockable value accessed without holding its lock; "
        + "use withLock { value in … }, or lock() before l[] and unlock() after")
    }
  }

  fileprivate var unsafeValue: Value {
    get { value }
    _modify { yield &value }
  }
}

extension Lockable where Value: Sendable {
  /// Julia's `l[]`: the value, read or written while the caller holds the lock.
  /// - Precondition: the calling fiber holds the lock (see the type's Errors line).
  public subscript() -> Value {
    get {
      requireLock()
      return unsafeValue
    }
    _modify {
      requireLock()
      yield &unsafeValue
    }
  }
}

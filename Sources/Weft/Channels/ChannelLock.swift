// A channel is a lock, as in Julia (`lock(c::Channel)`, `@lock c …`).

extension Channel: AbstractLock {
  /// Julia's `lock(c::Channel)`: takes the channel's own `ReentrantLock` (made on first use),
  /// waiting (parking the fiber) while another fiber holds it. Re-entrant.
  ///
  /// How it relates to `put` and `take`: in Julia, `put!`/`take!` take this same lock
  /// internally, so holding it keeps every other task from putting or taking. In Weft,
  /// `put`/`take`/`fetch`/`wait`/`close` synchronise on a separate internal lock and never
  /// touch this one: holding the channel's lock does **not** stop other fibers' puts and
  /// takes, and a fiber holding it may itself put and take (even block in them) without
  /// deadlocking. Use it to make several steps atomic with respect to other code that also
  /// locks the channel — e.g. `withLock { if isReady { … try take() } }` among consumers that
  /// all lock, or several `put`s that must stay contiguous among producers that all lock.
  /// Unlike Julia, a `put` that blocks while the lock is held keeps holding it.
  public func lock() { guts.userLock().lock() }

  /// Julia's `unlock(c::Channel)`.
  /// - Precondition: the calling fiber holds the channel's lock (a `Weft misuse:` stop
  ///   otherwise, as for `ReentrantLock`).
  public func unlock() { guts.userLock().unlock() }

  /// Julia's `trylock(c::Channel)`: takes the channel's lock if that needs no waiting.
  public func tryLock() -> Bool { guts.userLock().tryLock() }

  /// Julia's `islocked(c::Channel)`: whether any fiber or thread holds the channel's lock
  /// (a hint, not a guard). Says nothing about `put`/`take` activity.
  public var isLocked: Bool { guts.userLockIfCreated?.isLocked ?? false }
}

// ReentrantLock: a recursive mutex that parks fibers (Julia's `ReentrantLock`, base/lock.jl).
//
// Algorithm: the two-bit word of Rust's parking_lot `RawMutex` (also Julia ≥ 1.11's
// `ReentrantLock`), on a `WaitQueue`:
//   LOCKED (1): some context holds the lock.   PARKED (2): the queue may hold waiters.
// - lock: one acquire CAS 0 → LOCKED on the fast path. Otherwise (slow path) spin a little
//   (only useful while the holder runs on another worker), then `yield()` a few times (the
//   holder may be a fiber of this very worker), then set PARKED, take the queue lock, re-check
//   that the word is exactly LOCKED|PARKED, register and park.
// - unlock: one release CAS LOCKED → 0 on the fast path. If PARKED is set, take the queue
//   lock, pop the first waiter, store PARKED or 0 (more waiters or not) and wake it after
//   unlocking the queue.
//
// Barging, not hand-off: after an unlock the lock is free, and the woken waiter competes with
// any fiber that arrives first. Measured with `weft-bench lock_contention` (2 workers, best of
// three, 200,000 iterations per fiber): a strict hand-off cost 280–440 ns per lock/unlock pair
// at 4, 16 and 64 fibers, against 7–15 ns with barging. A hand-off makes every contended
// acquisition wait until the woken fiber is scheduled (a lock convoy: it sits in the waker's
// run-next slot while the waker keeps running). Pure barging and the barging-with-starvation
// rule below measured the same within noise. The rule (Go's sync.Mutex starvation mode): a
// woken waiter that loses the race after waiting more than `starvationNanoseconds` re-queues
// first and asks for a hand-off, so the next unlock passes ownership to it directly; no
// waiter starves. It spins as FutexLock does (`LockSpin`: 4 rounds of 30 `pause`s, a look at
// the word after each), then yields 4 times before parking. Looking after every few pauses
// (6 doubling rounds of 1 to 32, before step 9) pulled the word's line away from the holder,
// as FutexLock I3 explains: on 2 workers, at 4, 16 and 64 fibers, the spaced spin took 6–11
// ns per pair against 5–15 (mostly 9–15; Go 11–19), and 1 worker did not change
// (Docs/Benchmarks.md, step 9).
//
// Invariants:
// - L1: PARKED is set by a locker's CAS while LOCKED is set (or kept by a hand-off in
//   `unlockSlow`), and cleared only by `unlockSlow`, under the queue lock. So a waiter that sees exactly LOCKED|PARKED under the
//   queue lock is registered before the holder's unlock can look at the queue: no lost wake-up.
// - L2: while the word is LOCKED|PARKED and the holder is in `unlockSlow` (holding the queue
//   lock), no other thread can change the word (every CAS expects LOCKED clear, or sets PARKED
//   which is already set), so `unlockSlow` may overwrite it with a plain release store.
// - L3: `owner` is the holder's fiber id, written only by the holder after acquiring (or by
//   the unlocker handing off, before its wake); a context reads `owner == me` correctly with a
//   relaxed load, because only it writes its own id and it cleared it before releasing.
// - L4: `recursion` is read and written only by the holder (ownership passes with the
//   acquire/release of the state word, or with the wake of a hand-off).
// - L5: `handOffRequested` (queue lock) is set by a starving waiter as it re-queues first; the
//   next `unlockSlow` clears it and passes ownership to the first waiter (normally that one;
//   another woken waiter may have re-queued in front of it, which is still a valid hand-off).
//
// | field (word)         | written by                               | read by                       |
// |----------------------|------------------------------------------|-------------------------------|
// | state (0)            | lockers (CAS), unlocker (CAS/store)      | everyone (atomic)             |
// | owner (1)            | holder; hand-off unlocker before wake    | everyone (atomic, relaxed)    |
// | recursion (2)        | holder                                   | holder                        |
// | handOffRequested     | queue-lock holders                       | queue-lock holders            |

/// Julia's `ReentrantLock`: a lock that the same fiber (or thread) may take several times.
///
/// - **Triggering:** a mutex; `lock()` waits until no *other* fiber holds it; each `lock()` or
///   successful `tryLock()` must be matched by one `unlock()`.
/// - **Memory ordering:** acquire on `lock`/`tryLock`, release on the last `unlock`.
/// - **Blocks:** the calling fiber (its worker runs other fibers meanwhile), or the calling
///   OS thread when it is not a Weft worker; it spins briefly and yields first.
/// - **Errors:** `unlock()` by a fiber that does not hold it, or of an unlocked lock, stops the
///   program with a `Weft misuse:` message. There is no close; a fiber that ends while holding
///   the lock leaves it locked forever (as in Julia).
/// - **Julia:** `ReentrantLock`, `lock`, `unlock`, `trylock`, `islocked`, `lock(f, l)` /
///   `@lock` as `withLock { }`. The owner is a fiber, not an OS thread, as in Julia. Weft does
///   not inhibit finalizers (Swift has none to inhibit); fairness is "barging with starvation
///   hand-off" (see the file comment) rather than Julia's plain barging.
///
/// `isLocked` has the two properties Julia's `islocked` documentation asks for: it is
/// data-race-free (one atomic load), and if it returns false an immediate `tryLock()` succeeds
/// unless another fiber or thread takes the lock in between.
public final class ReentrantLock: AbstractLock, @unchecked Sendable {
  // SAFETY (for @unchecked Sendable): all mutable state is in atomic words (L1–L4) or under
  // the queue lock (L5).
  let queue = WaitQueue(stateWords: 3)
  @inline(__always) private var state: AtomicWord { queue.stateWord(0) }
  @inline(__always) private var owner: AtomicWord { queue.stateWord(1) }
  @inline(__always) private var recursion: AtomicWord { queue.stateWord(2) }
  @exclusivity(unchecked) private var handOffRequested = false  // L5: under the queue lock

  static let locked: UInt = 1
  static let parked: UInt = 2
  /// Spin rounds (`LockSpin`: pauses, then a look at the word) before yielding; then yields
  /// before parking.
  static let spinRounds = LockSpin.looks
  static let yieldRounds = 4
  /// A woken waiter that loses the lock after waiting this long asks for a hand-off (Go: 1 ms).
  static let starvationNanoseconds: UInt64 = 1_000_000

  /// Creates an unlocked lock.
  public init() {}

  // MARK: AbstractLock

  /// Julia's `lock(l)`: acquires the lock, waiting while another fiber or thread holds it. A
  /// fiber that already holds it just increments its recursion count.
  @inline(__always)
  public func lock() {
    let me = AnyFiber.currentID
    // Acquire: pairs with the release CAS/store of the previous holder's unlock.
    if state.compareExchangeAcquire(0, ReentrantLock.locked) {
      owner.storeRelaxed(me)  // L3
      recursion.storeRelaxed(1)  // L4
      return
    }
    _ = lockContended(me, deadline: nil)
  }

  /// `tryLock()` that waits up to `timeout` for the lock (like `pthread_mutex_timedlock`):
  /// true once the caller holds it, false when the timeout passed first. Unlike `lock()`, this
  /// wait can be interrupted.
  /// - Throws: an interruption's error (`schedule(_:error:)`) or `CancellationError`; then
  ///   the caller does not hold the lock. `ArgumentError` for a negative timeout.
  public func tryLock(timeout: Duration) throws -> Bool {
    try checkTimeout(timeout, "ReentrantLock.tryLock")
    if tryLock() { return true }
    switch lockContended(AnyFiber.currentID, deadline: Weft.deadline(after: timeout)) {
    case .acquired: return true
    case .interrupted(.timedOut): return false
    case .interrupted(let i): throw i.error("ReentrantLock.tryLock", timeout: timeout)
    }
  }

  /// Julia's `trylock(l)`: acquires the lock if no other fiber holds it (or increments the
  /// recursion count if the caller does); true on success. Never waits.
  @inline(__always)
  public func tryLock() -> Bool {
    let me = AnyFiber.currentID
    var s = state.loadRelaxed()
    while s & ReentrantLock.locked == 0 {
      // Acquire: as in `lock`. PARKED may be set: the lock is free but has waiters; take it.
      let seen = state.fetchCompareExchangeFull(s, s | ReentrantLock.locked)
      if seen == s {
        owner.storeRelaxed(me)
        recursion.storeRelaxed(1)
        return true
      }
      s = seen
    }
    if owner.loadRelaxed() == me {  // L3
      incrementRecursion()
      return true
    }
    return false
  }

  /// Julia's `unlock(l)`: releases one level of the caller's hold; the last level frees the
  /// lock and lets one waiter in.
  /// - Precondition: the calling fiber holds the lock.
  @inline(__always)
  public func unlock() {
    let me = AnyFiber.currentID
    if owner.loadRelaxed() != me { unlockMisuse() }  // L3
    let r = recursion.loadRelaxed()
    if r > 1 { recursion.storeRelaxed(r - 1); return }
    recursion.storeRelaxed(0)
    owner.storeRelaxed(0)
    // Release: pairs with the acquire CAS of the next `lock`/`tryLock`.
    if state.compareExchangeRelease(ReentrantLock.locked, 0) { return }
    unlockSlow()
  }

  /// Julia's `islocked(l)`: whether any fiber or thread holds the lock. Data-race-free; if it
  /// returns false, an immediate `tryLock()` succeeds absent interference (see the type's doc).
  public var isLocked: Bool { state.loadAcquire() & ReentrantLock.locked != 0 }

  // MARK: Ownership

  /// Whether the calling fiber (or thread) holds the lock.
  public var isHeldByCurrentFiber: Bool { owner.loadRelaxed() == AnyFiber.currentID }

  /// The id (`AnyFiber.id`) of the fiber or thread fiber holding the lock, or nil. A snapshot:
  /// by the time it returns another fiber may hold the lock.
  public var ownerID: UInt64? {
    let o = owner.loadAcquire()
    return o == 0 ? nil : UInt64(o)
  }

  /// How many times the caller has locked the lock without unlocking (0 if it does not hold it).
  public var recursionCount: Int {
    isHeldByCurrentFiber ? Int(recursion.loadRelaxed()) : 0
  }

  // MARK: Slow paths

  /// The count is a full word: 2^64 nested locks cannot happen, so no overflow check.
  @inline(__always)
  private func incrementRecursion() {
    recursion.storeRelaxed(recursion.loadRelaxed() &+ 1)  // L4
  }

  private enum ContendedResult { case acquired, interrupted(WaitInterruption) }

  /// The slow path of `lock()` (deadline nil: uninterruptible) and `tryLock(timeout:)`.
  @inline(never)
  private func lockContended(_ me: UInt, deadline: UInt64?) -> ContendedResult {
    if owner.loadRelaxed() == me { incrementRecursion(); return .acquired }  // L3
    let fiber = AnyFiber.currentContext
    var spins = 0
    var waitedSince: UInt64 = 0  // when it first parked; 0: not yet
    while true {
      let s = state.loadRelaxed()
      if s & ReentrantLock.locked == 0 {
        // Acquire: pairs with the release in unlock/unlockSlow.
        if state.compareExchangeAcquire(s, s | ReentrantLock.locked) {
          owner.storeRelaxed(me)
          recursion.storeRelaxed(1)
          return .acquired
        }
        continue
      }
      if s & ReentrantLock.parked == 0 {
        if spins < ReentrantLock.spinRounds + ReentrantLock.yieldRounds {
          if spins < ReentrantLock.spinRounds {
            LockSpin.pauseBeforeLook()
          } else {
            yield()
          }
          spins += 1
          continue
        }
        // L1: announce a waiter. Full CAS: ordered before the queue lock's acquisition.
        if !state.compareExchangeFull(s, s | ReentrantLock.parked) { continue }
      }
      queue.lock()
      // L1: re-check under the queue lock; only the exact LOCKED|PARKED word is safe to wait on.
      if state.loadRelaxed() != ReentrantLock.locked | ReentrantLock.parked {
        queue.unlock()
        continue
      }
      var first = false
      if waitedSince != 0 {
        // Woken before and lost the race to a barger: go first, and after a long wait ask
        // the next unlock to hand the lock over (L5).
        first = true
        if monotonicNanoseconds() &- waitedSince >= ReentrantLock.starvationNanoseconds {
          handOffRequested = true
        }
      } else {
        waitedSince = monotonicNanoseconds()
      }
      // lock() cannot be interrupted (like a pthread mutex); tryLock(timeout:) can. A waiter
      // that leaves early may leave PARKED set on an empty queue: unlockSlow handles that (L1).
      if let i = queue.parkUnlocking(fiber, first: first, reason: deadline == nil ? "ReentrantLock.lock" : "ReentrantLock.tryLock",
                                     interruptible: deadline != nil, deadline: deadline) {
        return .interrupted(i)
      }
      if owner.loadRelaxed() == me {
        // Handed off (L3: the unlocker wrote our id before its wake, which we synchronise with).
        return .acquired
      }
      spins = ReentrantLock.spinRounds  // woken: no more spinning, go straight to yield/park
    }
  }

  @inline(never)
  private func unlockSlow() {
    queue.lock()
    // L2: the word is LOCKED|PARKED and nobody else can change it now.
    guard let next = queue.dequeue() else {
      state.storeRelease(0)
      queue.unlock()
      return
    }
    let more: UInt = queue.isEmpty ? 0 : ReentrantLock.parked
    if handOffRequested {
      handOffRequested = false
      // Hand-off: `next` owns the lock when it wakes (L3, L4); the wake orders these writes.
      owner.storeRelaxed(UInt(next.id))
      recursion.storeRelaxed(1)
      state.storeRelease(ReentrantLock.locked | more)
    } else {
      // Release: pairs with the next locker's acquire CAS.
      state.storeRelease(more)
    }
    queue.unlock()
    next.wake()
  }

  @inline(never)
  private func unlockMisuse() -> Never {
    if isLocked {
      preconditionFailure("Weft misuse: unlock() of a ReentrantLock held by another fiber (fiber \(ownerID.map(String.init) ?? "?")); "
        + "only the fiber that locked it may unlock it")
    }
    preconditionFailure("Weft misuse: unlock() of a ReentrantLock that is not locked; each unlock() must match a lock() or a successful tryLock()")
  }
}

// MARK: Ownership-aware locks (for Threads.Condition and Lockable)

/// A lock that knows which fiber holds it and can release and restore a recursive hold
/// (Julia's `unlockall` / `relockall`).
protocol OwnershipAwareLock: AbstractLock {
  var isHeldByCurrentFiber: Bool { get }
  /// Caller holds the lock: releases it completely; returns the recursion count to restore.
  func unlockAll() -> UInt
  /// Re-acquires the lock and restores the recursion count returned by `unlockAll`.
  func relockAll(_ count: UInt)
}

extension ReentrantLock: OwnershipAwareLock {
  func unlockAll() -> UInt {
    precondition(isHeldByCurrentFiber, "BUG IN Weft: unlockAll() of a ReentrantLock not held by the caller")
    let r = recursion.loadRelaxed()
    recursion.storeRelaxed(1)
    unlock()
    return r
  }

  func relockAll(_ count: UInt) {
    lock()
    recursion.storeRelaxed(count)
  }
}

/// A user-supplied lock seen through what it can tell about its owner (looked up once).
struct LockView: @unchecked Sendable {
  // SAFETY: both references are immutable and point to Sendable locks.
  let lock: any AbstractLock
  let aware: (any OwnershipAwareLock)?

  init(_ lock: any AbstractLock) {
    self.lock = lock
    self.aware = lock as? any OwnershipAwareLock
  }

  /// Whether the calling fiber holds the lock, where the lock can tell; otherwise whether
  /// anyone holds it (the best a plain `AbstractLock` offers).
  var isHeldByCaller: Bool { aware?.isHeldByCurrentFiber ?? lock.isLocked }
}

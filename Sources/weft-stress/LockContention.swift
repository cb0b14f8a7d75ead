import Weft

/// A counter that only its lock protects: plain reads and writes, no atomics. If mutual
/// exclusion ever failed, increments would be lost and the total would come up short.
final class Unguarded: @unchecked Sendable {
  // SAFETY: accessed only by the holder of the scenario's lock (that is what is tested).
  var value = 0
  var inside = 0
}

/// lock-contention: many fibers (sticky and migratable, some in the interactive pool) and a
/// few plain OS threads fight over one `ReentrantLock`, one `Semaphore(n)` and one
/// `Lockable<Int>`:
/// - mutual exclusion: inside the lock, an occupancy count must be exactly 1, the owner must
///   be the caller (`isHeldByCurrentFiber`, `ownerID`), and an unguarded counter incremented
///   inside must end exactly at the number of acquisitions (a lost update means two holders);
/// - recursion: some acquisitions lock again (`recursionCount` 2) or `tryLock`;
/// - a holder sometimes yields or sleeps 1 ms while holding the lock (it may resume on
///   another worker, and must still be the owner);
/// - the semaphore never has more than n holders (occupancy ≤ n, `inUse` ≤ n);
/// - `Lockable.withLock` increments add up exactly.
/// The ledger has one slot per critical section entered: each exactly once.
let lockContention = Scenario(
  name: "lock-contention",
  checks: "ReentrantLock/Semaphore/Lockable under contention: mutual exclusion, owner and recursion, ≤ n permits, no lost update (ledger)"
) { round in
  var rng = round.random
  let fibers = round.size(64, minimum: 4)
  let threads = rng.int(0...2)
  let iterations = rng.pick([50, 200, 1_000])
  let permits = rng.int(1...4)
  let holdShare = rng.pick([0.0, 0.01, 0.05])
  let lock = ReentrantLock()
  let sem = Semaphore(permits)
  let lockable = Lockable(0)
  let guarded = Unguarded()
  let semInside = SharedInt(0)
  let semMax = SharedInt(0)
  let sections = round.ledger("lock-contention.section", (fibers + threads) * iterations)
  let violations = Tally()
  let lockCount = Tally(), lockableCount = Tally()  // acquisitions, counted atomically

  @Sendable func work(_ who: Int, onThread: Bool) throws {
    var r = round.random(for: who, 12)
    for it in 0..<iterations {
      switch r.int(0...9) {
      case 0..<6:
        // ReentrantLock, sometimes through tryLock, sometimes taken twice.
        let tried = r.chance(0.2) && lock.tryLock()
        if !tried { lock.lock() }
        guarded.inside += 1
        if guarded.inside != 1 { violations.add() }
        if !lock.isHeldByCurrentFiber || lock.ownerID != Fiber.current.id { violations.add() }
        sections.take(who * iterations + it)
        if r.chance(0.2) {
          lock.lock()
          if lock.recursionCount != 2 { violations.add() }
          lock.unlock()
        }
        if !onThread && r.chance(holdShare) {
          // Park while holding the lock: the owner is the fiber, wherever it resumes.
          if r.chance(0.5) { yield() } else { try? sleep(for: .milliseconds(1)) }
          if !lock.isHeldByCurrentFiber || guarded.inside != 1 { violations.add() }
        }
        guarded.value += 1
        guarded.inside -= 1
        lock.unlock()
        lockCount.add()
      case 6..<9:
        // Semaphore: at most `permits` inside at once.
        try sem.acquire {
          let now = semInside.add(1)
          if now > permits || sem.inUse > permits { violations.add() }
          while true {
            let m = semMax.load()
            if now <= m || semMax.compareExchange(m, now) { break }
          }
          sections.take(who * iterations + it)
          if !onThread && r.chance(holdShare) { yield() }
          semInside.add(-1)
        }
      default:
        lockable.withLock { v in
          v += 1
          sections.take(who * iterations + it)
        }
        lockableCount.add()
      }
    }
    Progress.bump(iterations)
  }

  let stickyShare = rng.pick([0.0, 0.3])
  // Spawned from this (non-worker) thread, so that it can then run the OS-thread contenders
  // itself without blocking a worker.
  let fs = (0..<fibers).map { who in
    var r = round.random(for: who, 13)
    let pool: ThreadPool = r.chance(0.1) ? .interactive : .default
    return round.scheduler.spawn(pool: pool, sticky: r.chance(stickyShare)) { try work(who, onThread: false) }
  }
  // Plain OS threads contend too: they park on a futex instead of switching.
  if threads > 0 { onThreads(threads) { t in try! work(fibers + t, onThread: true) } }
  for f in fs { try f.wait() }
  round.check(violations.total == 0, "lock-contention: \(violations.total) mutual-exclusion, owner, recursion or permit violations")
  round.check(guarded.value == lockCount.total,
    "lock-contention: the counter guarded by the ReentrantLock reached \(guarded.value), expected \(lockCount.total) (lost updates: two holders at once)")
  round.check(lockable.withLock { $0 } == lockableCount.total,
    "lock-contention: Lockable counted \(lockable.withLock { $0 }), expected \(lockableCount.total)")
  round.check(!lock.isLocked && sem.inUse == 0, "lock-contention: lock or semaphore still held after the round")
  round.notes.max("max_permits_used", semMax.load())
  round.ops.add((fibers + threads) * iterations)
  round.verify(sections)
}

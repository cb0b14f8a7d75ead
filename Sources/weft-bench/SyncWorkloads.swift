import Weft

/// A counter guarded by the lock under test (deliberately not atomic).
final class GuardedCounter: @unchecked Sendable {
  // SAFETY: only touched while holding the benchmark's ReentrantLock, or after joining.
  var value = 0
}

/// lock_contention: `fibers` fibers each lock and unlock one ReentrantLock `iters` times,
/// incrementing a shared counter inside; one line per fiber count. ns_per_op is per
/// lock/unlock pair.
let lockContention = Workload(
  name: "lock_contention", defaults: [("fibers", "1,4,16,64"), ("iters", "100000")],
  run: { s, p in
    let fibers = p.int("fibers"), iters = p.int("iters")
    let total = try onFiber(s) { () -> Int in
      let lock = ReentrantLock()
      let counter = GuardedCounter()
      let fs = (0..<fibers).map { _ in
        spawn {
          for _ in 0..<iters {
            lock.lock()
            counter.value += 1
            lock.unlock()
          }
        }
      }
      for f in fs { try f.wait() }
      return lock.withLock { counter.value }
    }
    return Outcome(operations: Double(fibers * iters), ok: total == fibers * iters)
  },
  variants: { p in
    p.string("fibers").split(separator: ",").map { p.with("fibers", String($0)) }
  })

/// event_ping_pong: two fibers hand a turn back and forth over two autoreset Events, `rounds`
/// times; ns_per_op is per round trip.
let eventPingPong = Workload(name: "event_ping_pong", defaults: [("rounds", "200000")]) { s, p in
  let rounds = p.int("rounds")
  let count = try onFiber(s) { () -> Int in
    let a = Event(autoreset: true), b = Event(autoreset: true)
    let counter = GuardedCounter()  // written only by the pong fiber, read after joining
    let ping = spawn { for _ in 0..<rounds { a.notify(); try b.wait() } }
    let pong = spawn { for _ in 0..<rounds { try a.wait(); counter.value += 1; b.notify() } }
    try ping.wait()
    try pong.wait()
    return counter.value
  }
  return Outcome(operations: Double(rounds), ok: count == rounds)
}

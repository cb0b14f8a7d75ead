import Synchronization
import Weft

/// yield-storm: many fibers yield at once, in three kinds (mixed per round by the seed):
/// - plain yielders (`yield()` k times, k from the seed; some sticky, which must stay on
///   their worker across every yield; some in the interactive pool, which must stay in
///   it); each counts its own yields;
/// - `yield(t, value:)` pairs: a fiber waits in `wait()` and its partner hands it a value
///   and yields to it; every hand-off must arrive, in order;
/// - `yield(to:value:)` ping-pong (Julia's `yieldto`): two fibers switch to each other k
///   times, each echoing the other's number; the sequence must arrive complete and in order;
/// - spin-waiters: a sticky fiber spins on `yield()` until a migratable partner, which
///   itself yields k times first, sets a flag: a yielder must never starve the others (a
///   sticky spinner once did; see StickyYieldTests).
/// The ledger checks every fiber ran once; yield counts must add up exactly.
let yieldStorm = Scenario(
  name: "yield-storm",
  checks: "every yield returns, sticky yielders stay put, yield(t)/yield(to:) hand-offs arrive in order (ledger, counts)"
) { round in
  var rng = round.random
  let fibers = round.size(200, minimum: 4)
  let maxYields = rng.pick([50, 500, 2_000])
  let stickyShare = rng.pick([0.0, 0.25])
  var kinds: [(kind: Int, yields: Int, sticky: Bool, interactive: Bool)] = []
  var expectedYields = 0
  for i in 0..<fibers {
    var r = round.random(for: i, 7)
    let kind = r.int(0...9) < 6 ? 0 : r.int(1...3)
    let k = r.int(1...maxYields)
    kinds.append((kind, k, r.chance(stickyShare), r.chance(0.1)))
    expectedYields += k
  }
  let plan = kinds
  let ran = round.ledger("yield-storm.fiber", fibers)
  let partnerRan = round.ledger("yield-storm.partner", fibers)
  for i in 0..<fibers where plan[i].kind == 0 { partnerRan.forbid(i) }
  let yields = Tally()

  try round.onFiber {
    let fs = (0..<fibers).map { i in
      spawn(pool: plan[i].interactive ? .interactive : .default, sticky: plan[i].sticky) {
        ran.take(i)
        let k = plan[i].yields
        switch plan[i].kind {
        case 0:
          let home = Threads.threadid()
          var mine = 0
          for _ in 0..<k {
            yield()
            mine += 1
            if plan[i].sticky && Threads.threadid() != home {
              round.check(false, "yield-storm: sticky fiber \(i) resumed on worker \(Threads.threadid()), not \(home)")
            }
          }
          yields.add(mine)
          // Only migratable fibers: a sticky one is pinned to the worker that spawned it,
          // whatever pool it asked for (Docs/Architecture.md, "Thread pools and placement").
          if !plan[i].sticky { round.checkPool(plan[i].interactive ? .interactive : .default, "yield-storm: fiber \(i)") }
          round.check(mine == k, "yield-storm: fiber \(i) counted \(mine) yields, expected \(k)")
        case 1:
          // yield(t, value:): the partner hands over 0..<k, one per wait() of this fiber. It
          // waits (yielding) for `ready` to announce each wait, so that it never wakes this
          // fiber while it is runnable in a queue (that would be a double wake: misuse).
          let me = Fiber.current
          let ready = SharedInt(-1)
          let partner = spawn {
            partnerRan.take(i)
            for v in 0..<k {
              while ready.load() != v { yield() }
              yield(me, value: v)  // me may not have parked yet: the wake is kept (F3)
            }
          }
          for v in 0..<k {
            ready.store(v)
            let got = try wait() as? Int
            round.check(got == v, "yield-storm: yield(t) pair \(i) got \(String(describing: got)), expected \(v)")
          }
          try partner.wait()
          yields.add(k)
        case 3:
          // Spin-waiter: this fiber becomes sticky (it schedules a sticky child) and spins on
          // yield() until its migratable partner, spawned first, has yielded k times.
          let flag = Flag()
          let partner = spawn {
            partnerRan.take(i)
            for _ in 0..<k { yield() }
            flag.set()
          }
          let spinner = spawn(sticky: true) { () -> Int in
            var spins = 0
            while !flag.isSet { yield(); spins += 1 }
            return spins
          }
          _ = try spinner.fetch()
          try partner.wait()
          yields.add(k)
        default:
          // yield(to:value:) ping-pong: B sends 0..<k; A echoes each one back.
          let a = Fiber.current
          let b = Fiber(sticky: plan[i].sticky) { () -> Void in
            partnerRan.take(i)
            for v in 0..<k {
              let echo = try yield(to: a, value: v) as? Int
              round.check(echo == v, "yield-storm: yield(to:) partner \(i) got echo \(String(describing: echo)), expected \(v)")
            }
          }
          var got = try yield(to: b) as? Int  // starts b; b switches back with 0
          for v in 0..<k {
            round.check(got == v, "yield-storm: yield(to:) fiber \(i) got \(String(describing: got)), expected \(v)")
            if v < k - 1 { got = try yield(to: b, value: v) as? Int }
          }
          schedule(b, value: k - 1)  // the last echo lets b finish
          try b.wait()
          yields.add(k)
        }
        Progress.bump(k)
      }
    }
    for f in fs { try f.wait() }
  }
  round.check(yields.total == expectedYields, "yield-storm: \(yields.total) yields counted, expected \(expectedYields)")
  round.ops.add(yields.total)
  round.verify(ran)
  round.verify(partnerRan)
}

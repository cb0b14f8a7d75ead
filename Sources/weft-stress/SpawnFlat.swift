import Weft

/// spawn-flat: one fiber (or several, or the main thread) spawns many tiny fibers, then joins
/// them all. Each fiber takes its ledger slot and returns a value derived from its index; the
/// joiner checks every value. Variants per round (from the seed): one spawner; several
/// spawner fibers; a share of sticky children (which makes their spawner sticky); spawning
/// straight from one to four plain OS threads at once (the injector path, fewer fibers);
/// joining in spawn order or in reverse.
let spawnFlat = Scenario(
  name: "spawn-flat",
  checks: "every fiber of a flat storm runs exactly once (ledger) and returns its own value"
) { round in
  var rng = round.random
  let fromThread = rng.chance(0.15)
  let n = fromThread ? round.size(10_000, minimum: 100) : round.size(100_000, minimum: 100)
  let spawners = rng.pick([1, 1, 2, round.workers, 4 * round.workers])
  let stickyShare = rng.pick([0.0, 0.0, 0.1, 1.0])
  let reverseJoin = rng.chance(0.5)
  let ran = round.ledger("spawn-flat.ran", n)

  @Sendable func value(_ i: Int) -> Int { i &* 2_654_435_761 }
  /// Spawns the fibers for `range`, then joins them; returns how many returned the right value.
  @Sendable func spawnAndJoin(_ range: Range<Int>, _ spawner: Int) throws -> Int {
    var r = round.random(for: spawner, 1)
    var fibers: [Fiber<Int>] = []
    fibers.reserveCapacity(range.count)
    for i in range {
      fibers.append(round.scheduler.spawn(sticky: r.chance(stickyShare)) { ran.take(i); return value(i) })
    }
    Progress.bump(range.count)
    var good = 0
    let order = reverseJoin ? Array(fibers.indices.reversed()) : Array(fibers.indices)
    for k in order where try fibers[k].fetch() == value(range.lowerBound + k) { good += 1 }
    return good
  }

  let good: Int
  if fromThread {
    // From 1–4 plain OS threads at once: every spawn goes through the injector, and every
    // join parks a thread on a futex.
    let threads = rng.int(1...4)
    let got = Tally()
    let per = (n + threads - 1) / threads
    onThreads(threads) { t in
      let range = t * per..<min(n, (t + 1) * per)
      guard !range.isEmpty else { return }
      do { got.add(try spawnAndJoin(range, t)) } catch { round.failures.record("spawn-flat: thread \(t) failed: \(error)") }
    }
    good = got.total
  } else {
    good = try round.onFiber { () -> Int in
      let per = (n + spawners - 1) / spawners
      let parts = (0..<spawners).map { s in s * per..<min(n, (s + 1) * per) }.filter { !$0.isEmpty }
      let subs = parts.enumerated().map { (k, r) in round.scheduler.spawn { try spawnAndJoin(r, k) } }
      return try subs.reduce(0) { try $0 + $1.fetch() }
    }
  }
  round.check(good == n, "spawn-flat: \(n - good) of \(n) fibers returned a wrong value")
  round.invariants.add(n - 1)  // one value check per fiber
  round.ops.add(n)
  round.verify(ran)
}

import Weft

/// steal-storm: one fiber produces every fiber of the round, without waiting in between, so
/// that the other workers only get work by stealing it. The work is uneven on purpose: most
/// fibers do almost nothing, a few do a lot (heavy tail), and some spawn a few children of
/// their own (stolen work that makes more work). The ledger checks every fiber ran once;
/// each returns a checksum of its work that the producer recomputes. Over the whole run, with
/// two or more workers, some fibers must have run on a worker other than the producer's
/// (`stolen`): the only way they could get there is a steal.
let stealStorm = Scenario(
  name: "steal-storm",
  checks: "fibers from one producer with uneven work run once (ledger), with right checksums, and get stolen",
  round: { round in
    var rng = round.random
    let n = round.size(20_000, minimum: 100)
    let childShare = rng.pick([0.0, 0.05, 0.2])
    let heavyShare = rng.pick([0.001, 0.01, 0.05])
    // The shape of every fiber (its work and its children), fixed by the seed up front.
    var shapes: [(units: Int, children: Int, firstChild: Int)] = []
    shapes.reserveCapacity(n)
    var slots = n
    for i in 0..<n {
      var r = round.random(for: i, 3)
      let units = r.chance(heavyShare) ? r.int(50_000...500_000) : r.int(0...200)
      let children = r.chance(childShare) ? r.int(1...3) : 0
      shapes.append((units, children, slots))
      slots += children
    }
    let shapeOf = shapes
    let ran = round.ledger("steal-storm.ran", slots)
    let stolen = Tally()
    let badSums = Tally()

    @Sendable func work(_ units: Int, _ seed: Int) -> UInt64 {
      var x = UInt64(truncatingIfNeeded: seed) | 1
      for _ in 0..<units { x = x &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407 }
      return x
    }
    @Sendable func expected(_ i: Int) -> UInt64 {
      let s = shapeOf[i]
      var want = work(s.units, i)
      for c in 0..<s.children { want ^= work(s.units / 4, s.firstChild + c) }
      return want
    }

    try round.onFiber {
      let producer = Threads.threadid()
      var fibers: [Fiber<UInt64>] = []
      fibers.reserveCapacity(n)
      for i in 0..<n {
        fibers.append(spawn {
          ran.take(i)
          if Threads.threadid() != producer { stolen.add() }
          let s = shapeOf[i]
          let kids = (0..<s.children).map { c in
            spawn { () -> UInt64 in
              ran.take(s.firstChild + c)
              if Threads.threadid() != producer { stolen.add() }
              return work(s.units / 4, s.firstChild + c)
            }
          }
          var sum = work(s.units, i)
          for k in kids { sum ^= try k.fetch() }
          Progress.bump()
          return sum
        })
      }
      // Only now does the producer wait: everything above was there to steal.
      for (i, f) in fibers.enumerated() where try f.fetch() != expected(i) { badSums.add() }
    }
    round.check(badSums.total == 0, "steal-storm: \(badSums.total) fibers returned a wrong checksum")
    round.invariants.add(n - 1)
    round.ops.add(slots)
    round.notes.add("stolen", stolen.total)
    round.verify(ran)
  },
  conclude: { notes, failures, workers in
    // One-sided and over the whole run: with idle workers and thousands of queued fibers,
    // never stealing a single one would be a broken idle/steal protocol.
    if workers >= 2 && notes["stolen"] == 0 {
      failures.record("steal-storm: with \(workers) workers no fiber ever ran off the producer's worker")
    }
  }
)

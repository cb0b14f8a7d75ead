import Weft

/// spawn-tree: a random tree of fibers. A node owns a range of ledger slots: it takes the
/// first, splits the rest among 1…B children (B from the seed: 2, 4, 10 or 32; uneven splits),
/// spawns a fiber per child, and returns the size of its subtree from the children's
/// results. The root checks the total; every node checks its children's sums; the ledger
/// checks every node ran once. A share of the children go to the interactive pool and must
/// run there. The shape comes from the node's own seed, not from timing.
let spawnTree = Scenario(
  name: "spawn-tree",
  checks: "every node of a random spawn tree runs exactly once (ledger); subtree sizes add up"
) { round in
  var rng = round.random
  let n = round.size(100_000, minimum: 100)
  let maxBranch = rng.pick([2, 4, 10, 32])
  let inlineLast = rng.chance(0.5)  // compute the last child on the parent's own stack (fork–join style)
  let interactiveShare = rng.pick([0.0, 0.1])
  let ran = round.ledger("spawn-tree.node", n)
  let badSums = Tally()
  let wrongPool = Tally()

  @Sendable func node(_ lo: Int, _ hi: Int, _ pool: ThreadPool) throws -> Int {
    ran.take(lo)
    if Threads.threadpool() != round.expectedPool(pool) { wrongPool.add() }
    var rest = hi - lo - 1
    if rest == 0 { return 1 }
    var r = round.random(for: lo, 2)
    let k = r.int(1...min(maxBranch, rest))
    var ranges: [Range<Int>] = []
    var start = lo + 1
    for j in 0..<k {
      let size = j == k - 1 ? rest : r.int(1...(rest - (k - 1 - j)))
      ranges.append(start..<start + size)
      start += size
      rest -= size
    }
    var kids: [Fiber<Int>] = []
    kids.reserveCapacity(k)
    let spawned = inlineLast && ranges.last!.count < 64 ? ranges.dropLast() : ranges[...]
    for c in spawned {
      let p: ThreadPool = r.chance(interactiveShare) ? .interactive : .default
      kids.append(spawn(pool: p) { try node(c.lowerBound, c.upperBound, p) })
    }
    var sum = 1
    if spawned.count < ranges.count { sum += try node(ranges.last!.lowerBound, ranges.last!.upperBound, pool) }
    for kid in kids { sum += try kid.fetch() }
    if sum != hi - lo { badSums.add() }
    Progress.bump()
    return sum
  }

  let total = try round.onFiber { try node(0, n, .default) }
  round.check(total == n, "spawn-tree: root counted \(total) nodes, expected \(n)")
  round.check(badSums.total == 0, "spawn-tree: \(badSums.total) nodes got a wrong subtree size")
  round.check(wrongPool.total == 0, "spawn-tree: \(wrongPool.total) nodes ran outside the thread pool they were spawned in")
  round.ops.add(n)
  round.verify(ran)
}

import Synchronization
import Weft

/// spawn-chain: chains of fibers, each link spawning the next. Variants per round:
/// - hand-off: a link spawns the next and ends; the last link of the last chain to finish
///   wakes the waiting root with `schedule(root, value:)` (Julia's chained-spawn pattern):
///   the root's wake-up must arrive, exactly once, with the right value;
/// - nested: a link spawns the next and waits for it (`fetch`), so a whole chain is blocked
///   at once, and the results add up along the chain on the way back;
/// - sticky hand-off: the links are sticky, so every link runs on the first one's worker.
/// Several chains run at once; the ledger checks every link ran exactly once.
let spawnChain = Scenario(
  name: "spawn-chain",
  checks: "every link of hand-off, nested and sticky chains runs once (ledger); the root's wake-up arrives once"
) { round in
  var rng = round.random
  let variant = rng.pick(["handoff", "handoff", "nested", "sticky"])
  let chains = rng.int(1...max(2, 2 * round.workers))
  let length = variant == "nested"
    ? round.size(1_000, minimum: 10)  // a nested chain keeps every link's stack alive at once
    : round.size(100_000, minimum: 100) / chains + 1
  let ran = round.ledger("spawn-chain.link", chains * length)
  let wrongWorker = Tally()

  switch variant {
  case "nested":
    @Sendable func link(_ c: Int, _ p: Int) throws -> Int {
      ran.take(c * length + p)
      if p == length - 1 { return 1 }
      let next = spawn { try link(c, p + 1) }
      return try next.fetch() + 1
    }
    let sums = try round.onFiber { () -> [Int] in
      let heads = (0..<chains).map { c in spawn { try link(c, 0) } }
      return try heads.map { try $0.fetch() }
    }
    for (c, s) in sums.enumerated() {
      round.check(s == length, "spawn-chain: nested chain \(c) returned \(s), expected \(length)")
    }
  default:
    let sticky = variant == "sticky"
    let remaining = SharedInt(chains)
    let woken = try round.onFiber { () -> Int in
      let root = Fiber.current
      @Sendable func link(_ c: Int, _ p: Int, _ home: Int) {
        ran.take(c * length + p)
        if sticky && Threads.threadid() != home { wrongWorker.add() }
        if p == length - 1 {
          // The last chain to end wakes the root: exactly one wake for one wait.
          if remaining.add(-1) == 0 {
            schedule(root, value: chains * length)
          }
          return
        }
        if p % 1024 == 0 { Progress.bump(1024) }
        spawn(sticky: sticky) { link(c, p + 1, home) }
      }
      for c in 0..<chains {
        // A sticky head is pinned to the worker that schedules it (this one, now sticky too).
        let home = Threads.threadid()
        spawn(sticky: sticky) { link(c, 0, home) }
      }
      return (try wait() as? Int) ?? -1
    }
    round.check(woken == chains * length, "spawn-chain: the root was woken with \(woken), expected \(chains * length)")
    round.check(wrongWorker.total == 0, "spawn-chain: \(wrongWorker.total) sticky links ran off their chain's worker")
  }
  round.ops.add(chains * length)
  round.verify(ran)
}

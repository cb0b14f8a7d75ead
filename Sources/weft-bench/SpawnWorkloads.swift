import Weft

/// spawn_many: the root fiber spawns n empty fibers, then waits for all of them. The fibers
/// capture nothing (a shared counter's reference count would be the benchmark); each wait
/// returning without error proves its fiber ran.
let spawnMany = Workload(name: "spawn_many", defaults: [("n", "1000000")]) { s, p in
  let n = p.int("n")
  let ran = try onFiber(s) { () -> Int in
    var fibers: [Fiber<Void>] = []
    fibers.reserveCapacity(n)
    for _ in 0..<n { fibers.append(spawn {}) }
    var done = 0
    for f in fibers {
      try f.wait()
      if f.isDone && !f.isFailed { done += 1 }
    }
    return done
  }
  return Outcome(operations: Double(n), ok: ran == n)
}

/// skynet: every node spawns 10 children down to 1,000,000 leaves; parents fetch and sum.
///
/// Fetching beats summing through a channel of capacity 10 (Go's way): measured in 8
/// alternating release runs on the 2-core machine (load ~7 from other builds), fetch took
/// 496–940 ns per fiber (median ~690), the channel version 983–2047 (median ~1055): a
/// channel per node costs its allocations and a lock round per child, while `fetch` can run a
/// child that has not started inline.
let skynet = Workload(name: "skynet", defaults: [("leaves", "1000000")]) { s, p in
  let leaves = p.int("leaves")
  @Sendable func node(_ ordinal: Int, _ size: Int) throws -> Int {
    if size == 1 { return ordinal }
    let child = size / 10
    var kids: [Fiber<Int>] = []
    kids.reserveCapacity(10)
    for i in 0..<10 { kids.append(spawn(with: (ordinal + i * child, child)) { try node($0.0, $0.1) }) }
    var sum = 0
    for k in kids { sum += try k.fetch() }
    return sum
  }
  let sum = try onFiber(s) { try node(0, leaves) }
  var fibers = 0
  var level = leaves
  while level >= 1 { fibers += level; level /= 10 }
  return Outcome(operations: Double(fibers), ok: sum == leaves * (leaves - 1) / 2)
}

@Sendable func parallelFib(_ n: Int) throws -> Int {
  if n < 2 { return n }
  let a = spawn { try parallelFib(n - 1) }
  let b = try parallelFib(n - 2)
  return try a.fetch() + b
}

func fibSpawns(_ n: Int) -> Int {
  // spawns(n) = spawns(n-1) + spawns(n-2) + 1 for n ≥ 2.
  var a = 0, b = 0  // spawns(0), spawns(1)
  if n < 2 { return 0 }
  for _ in 2...n { (a, b) = (b, a + b + 1) }
  return b
}

func sequentialFib(_ n: Int) -> Int {
  var a = 0, b = 1
  for _ in 0..<n { (a, b) = (b, a + b) }
  return a
}

/// fib27, fib30: fib(n-1) spawned, fib(n-2) inline, then fetch; no sequential cut-off.
func fib(_ n: Int) -> Workload {
  Workload(name: "fib\(n)", defaults: [("n", "\(n)")]) { s, p in
    let n = p.int("n")
    guard n <= 40 else { throw ArgumentError("fib: n=\(n) is too large (at most 40)") }
    let r = try onFiber(s) { try parallelFib(n) }
    let spawns = fibSpawns(n)
    return Outcome(operations: Double(spawns), ok: r == sequentialFib(n), extra: [("spawns", "\(spawns)")])
  }
}

/// fork_join_1w, fork_join_2w: fib(n) on a scheduler of its own with 1 or 2 workers.
func forkJoin(workers: Int) -> Workload {
  var w = Workload(name: "fork_join_\(workers)w", defaults: [("n", "30")]) { _, p in
    let n = p.int("n")
    guard n <= 40 else { throw ArgumentError("fork_join: n=\(n) is too large (at most 40)") }
    let own = Scheduler(threads: workers)
    defer { own.shutdown() }
    let r = try onFiber(own) { try parallelFib(n) }
    let spawns = fibSpawns(n)
    return Outcome(operations: Double(spawns), ok: r == sequentialFib(n), extra: [("spawns", "\(spawns)")])
  }
  w.usesSharedScheduler = false
  return w
}

/// yield_many: 200 fibers each call yield() 1,000 times.
let yieldMany = Workload(name: "yield_many", defaults: [("fibers", "200"), ("yields", "1000")]) { s, p in
  let fibers = p.int("fibers"), yields = p.int("yields")
  let total = try onFiber(s) { () -> Int in
    // Each fiber counts its own yields (a shared counter would add a contended atomic).
    let fs = (0..<fibers).map { _ in
      spawn { () -> Int in
        var n = 0
        for _ in 0..<yields { yield(); n += 1 }
        return n
      }
    }
    return try fs.reduce(0) { $0 + (try $1.fetch()) }
  }
  return Outcome(operations: Double(fibers * yields), ok: total == fibers * yields)
}

/// chained_spawn: each fiber spawns the next, depth 1,000; the last one wakes the root
/// (Julia's schedule/wait pattern); repeated 100 times.
let chainedSpawn = Workload(name: "chained_spawn", defaults: [("depth", "1000"), ("repeats", "100")]) { s, p in
  let depth = p.int("depth"), repeats = p.int("repeats")
  // As Go's `go chainLink(k+1, depth, done)`: the link's arguments travel in the fiber.
  @Sendable func link(_ a: (remaining: Int, depth: Int, root: AnyFiber)) {
    if a.remaining == 0 { schedule(a.root, value: a.depth); return }
    spawn(with: (a.remaining - 1, a.depth, a.root), link)
  }
  let ok = try onFiber(s) { () -> Bool in
    var good = true
    for _ in 0..<repeats {
      spawn(with: (depth - 1, depth, Fiber.current), link)
      let got = try wait() as? Int
      good = good && got == depth
    }
    return good
  }
  return Outcome(operations: Double(depth * repeats), ok: ok)
}

import Weft

/// sticky-mix: migratable and sticky fibers mixed, with Julia's stickiness rules checked at
/// every resume (DESIGN.md, "Sticky and migratable"):
/// - a migratable fiber that schedules a sticky child (`spawn(sticky: true)` or a created
///   `Fiber` then `schedule`) becomes sticky at once (Julia #41334), and from then on resumes
///   on the worker it was on, after every kind of wait;
/// - the sticky child starts on that same worker and resumes there after every wait; so do
///   its own sticky children;
/// - sticky fibers scheduled from a non-worker thread are spread round-robin over the workers,
///   and each resumes on its first worker.
/// Waits between checks (from the seed): `yield()`, a bare `wait()` woken by a migratable
/// helper with a token (the wake-up must arrive with that token), `fetch` of a migratable
/// child, and now and then a 1 ms sleep. Some families live in the interactive pool (their
/// sticky children are pinned to an interactive worker). Ledgers check every fiber ran once.
let stickyMix = Scenario(
  name: "sticky-mix",
  checks: "parent-stickiness rule; sticky fibers resume on their first threadid; wake-ups arrive with their token"
) { round in
  let families = round.size(2_000, minimum: 10)
  // The plan, fixed by the seed: which families schedule a sticky child, and which of those
  // children have a sticky grandchild.
  var plan: [(stickyChild: Bool, created: Bool, grandchild: Bool, pool: ThreadPool)] = []
  for j in 0..<families {
    var r = round.random(for: j, 4)
    plan.append((r.chance(0.6), r.chance(0.5), r.chance(0.3), r.chance(0.15) ? .interactive : .default))
  }
  let planned = plan
  let childCount = plan.filter(\.stickyChild).count
  let grandchildCount = plan.filter { $0.stickyChild && $0.grandchild }.count
  let fromThread = max(round.workers, round.size(20, minimum: 1))
  let familyRan = round.ledger("sticky-mix.family", families)
  let childRan = round.ledger("sticky-mix.sticky-child", families)
  let grandchildRan = round.ledger("sticky-mix.sticky-grandchild", families)
  let threadRan = round.ledger("sticky-mix.thread-scheduled", fromThread)
  for j in 0..<families where !plan[j].stickyChild { childRan.forbid(j) }
  for j in 0..<families where !(plan[j].stickyChild && plan[j].grandchild) { grandchildRan.forbid(j) }
  let waits = Tally()
  let migrations = Tally()

  /// One wait of a kind drawn from `r`; returns after it.
  @Sendable func someWait(_ r: inout StressRandom, _ what: String) throws {
    waits.add()
    switch r.int(0...19) {
    case 0..<7:
      yield()
    case 7..<13:
      let me = Fiber.current
      let token = Int(truncatingIfNeeded: r.next())
      spawn { schedule(me, value: token) }  // may run before this fiber parks: kept (F3)
      let got = try wait() as? Int
      round.check(got == token, "sticky-mix: \(what): wait() was woken with \(String(describing: got)), expected token \(token)")
    case 13..<19:
      let child = spawn { () -> Int in yield(); return 7 }
      round.check(try child.fetch() == 7, "sticky-mix: \(what): a migratable child returned a wrong value")
    default:
      try sleep(for: .milliseconds(1))
    }
  }

  /// A sticky fiber's life: starts on `home` (when known) and resumes there after each wait.
  @Sendable func stickyLife(_ what: String, _ seed: Int, expectedHome: Int?, waitsCount: Int,
                            grandchild: (() -> Void)? = nil) throws {
    let first = Threads.threadid()
    if let h = expectedHome {
      round.check(first == h, "sticky-mix: \(what) started on worker \(first), not on its parent's worker \(h)")
    }
    round.check(Fiber.current.sticky, "sticky-mix: \(what) is not sticky")
    var r = round.random(for: seed, 6)
    for k in 0..<waitsCount {
      try someWait(&r, what)
      let now = Threads.threadid()
      round.check(now == first, "sticky-mix: \(what) resumed on worker \(now) after wait \(k), not on its first worker \(first)")
    }
    grandchild?()
  }

  try round.onFiber {
    let fs = (0..<families).map { j in
      spawn(pool: planned[j].pool) {
        familyRan.take(j)
        let p = planned[j]
        var r = round.random(for: j, 5)
        round.checkPool(p.pool, "sticky-mix: family \(j)")
        round.check(!Fiber.current.sticky, "sticky-mix: family \(j) is sticky before scheduling a sticky child")
        var last = Threads.threadid()
        for _ in 0..<r.int(0...2) {
          try someWait(&r, "family \(j) (migratable)")
          if Threads.threadid() != last { migrations.add(); last = Threads.threadid() }
        }
        var child: AnyFiber? = nil
        if p.stickyChild {
          let here = Threads.threadid()
          let childWaits = r.int(1...4)
          let body: @Sendable () throws -> Void = {
            childRan.take(j)
            try stickyLife("sticky child of family \(j)", 2 * j, expectedHome: here, waitsCount: childWaits) {
              guard p.grandchild else { return }
              let home = Threads.threadid()
              let g = spawn(sticky: true) {
                grandchildRan.take(j)
                try stickyLife("sticky grandchild of family \(j)", 2 * j + 1, expectedHome: home, waitsCount: 2)
              }
              do { try g.wait() } catch { round.failures.record("sticky-mix: grandchild \(j) failed: \(error)") }
            }
          }
          if p.created {
            let f = Fiber(sticky: true, body)
            schedule(f)
            child = f
          } else {
            child = spawn(sticky: true, body)
          }
          round.check(Fiber.current.sticky,
            "sticky-mix: family \(j) scheduled a sticky child (\(p.created ? "Fiber + schedule" : "spawn(sticky:)")) but did not become sticky")
          round.check(Threads.threadid() == here, "sticky-mix: family \(j) moved while scheduling its sticky child")
          for k in 0..<r.int(1...3) {
            try someWait(&r, "family \(j) (made sticky)")
            round.check(Threads.threadid() == here,
              "sticky-mix: family \(j), made sticky on worker \(here), resumed on worker \(Threads.threadid()) after wait \(k)")
          }
          try child!.wait()
          round.check(Threads.threadid() == here, "sticky-mix: family \(j) resumed off worker \(here) after joining its child")
        } else {
          for _ in 0..<r.int(1...3) {
            try someWait(&r, "family \(j) (migratable)")
            if Threads.threadid() != last { migrations.add(); last = Threads.threadid() }
          }
        }
        Progress.bump()
      }
    }
    for f in fs { try f.wait() }
  }

  // Sticky fibers scheduled from this non-worker thread: round-robin over the workers.
  var firsts = [Int](repeating: 0, count: fromThread)
  let fromMain = (0..<fromThread).map { i in
    Fiber(sticky: true) { () -> Int in
      threadRan.take(i)
      let first = Threads.threadid()
      try stickyLife("thread-scheduled sticky fiber \(i)", 10 * families + i, expectedHome: nil, waitsCount: 3)
      return first
    }
  }
  for f in fromMain { round.scheduler.schedule(f) }
  for (i, f) in fromMain.enumerated() { firsts[i] = try f.fetch() }
  let spread = Set(firsts).count
  round.check(spread == min(round.workers, fromThread),
    "sticky-mix: \(fromThread) sticky fibers scheduled from the main thread landed on \(spread) of \(round.workers) workers (round-robin expected)")

  round.ops.add(families + childCount + grandchildCount + fromThread + waits.total)
  round.notes.add("waits", waits.total)
  round.notes.add("migrations", migrations.total)
  round.verify(familyRan)
  round.verify(childRan)
  round.verify(grandchildRan)
  round.verify(threadRan)
}

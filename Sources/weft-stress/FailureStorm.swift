import Weft

/// The error a failing fiber of failure-storm throws: it names the fiber that threw it.
struct StressError: Error, CustomStringConvertible {
  let fiber: Int
  let round: Int
  var description: String { "StressError(fiber \(fiber), round \(round))" }
}

/// failure-storm: fibers fail at random, and every waiter must see exactly its fiber's fate:
/// - each target fiber throws `StressError(its index)` with a probability from the seed, or
///   is failed before it ever runs with `schedule(t, error:)` (its body must not run);
/// - one to four waiters per target (`fetch()` or `wait()`, some registered before the
///   target even starts) each get `TaskFailedError` whose `fiber` is the target and whose
///   underlying error is the target's own `StressError`, or the target's value if it
///   succeeded; the main thread waits on some targets too;
/// - a `sync` block spawning fibers that fail at random throws `CompositeError` holding
///   exactly the failed ones (a `TaskFailedError` for each), and returns normally when none
///   failed; a throwing `sync` body's error comes first.
/// Ledgers check every target, waiter and sync child ran exactly once.
let failureStorm = Scenario(
  name: "failure-storm",
  checks: "errors reach every waiter of fetch/wait (TaskFailedError, right error); sync's CompositeError holds exactly the failed fibers"
) { round in
  var rng = round.random
  let targets = round.size(2_000, minimum: 10)
  let failShare = rng.pick([0.1, 0.5, 0.9])
  var plan: [(fate: Int, waiters: Int, early: Bool)] = []  // fate: 0 ok, 1 throws, 2 schedule(error:)
  var waiterSlots = 0
  for i in 0..<targets {
    var r = round.random(for: i, 10)
    let fate = r.chance(failShare) ? (r.chance(0.2) ? 2 : 1) : 0
    let w = r.int(1...4)
    plan.append((fate, w, r.chance(0.3)))
    waiterSlots += w
  }
  let planned = plan
  let targetRan = round.ledger("failure-storm.target", targets)
  for i in 0..<targets where plan[i].fate == 2 { targetRan.forbid(i) }  // failed before running
  let waiterRan = round.ledger("failure-storm.waiter", waiterSlots)
  let roundIndex = round.index

  @Sendable func value(_ i: Int) -> Int { i &* 40_503 }
  /// Checks one waiter's outcome against the target's fate.
  @Sendable func judge(_ i: Int, _ target: AnyFiber, _ result: Result<Int?, any Error>, _ who: String) {
    let fails = planned[i].fate != 0
    switch result {
    case .success(let v):
      round.check(!fails, "failure-storm: \(who) of target \(i) returned normally, but the target failed")
      if let v { round.check(v == value(i), "failure-storm: \(who) of target \(i) fetched \(v), expected \(value(i))") }
    case .failure(let e):
      guard let tf = e as? TaskFailedError else {
        round.check(false, "failure-storm: \(who) of target \(i) threw \(e), not TaskFailedError")
        return
      }
      round.check(fails, "failure-storm: \(who) of target \(i) threw \(tf), but the target succeeded")
      round.check(tf.fiber === target, "failure-storm: \(who) of target \(i) got a TaskFailedError for another fiber (\(tf.fiber))")
      let u = tf.underlying as? StressError
      round.check(u?.fiber == i && u?.round == roundIndex,
        "failure-storm: \(who) of target \(i) got underlying error \(tf.underlying), expected StressError(fiber \(i))")
    }
  }

  let mainWaits = try round.onFiber { () -> [(Int, Fiber<Int>)] in
    var all: [(Int, Fiber<Int>)] = []
    var waiters: [Fiber<Void>] = []
    var slot = 0
    for i in 0..<targets {
      let p = planned[i]
      let t = Fiber(sticky: false) { () -> Int in
        targetRan.take(i)
        if p.fate == 1 { throw StressError(fiber: i, round: roundIndex) }
        return value(i)
      }
      func startWaiters() {
        for k in 0..<p.waiters {
          let s = slot
          slot += 1
          let useFetch = (i + k) % 2 == 0
          let pool: ThreadPool = (i + k) % 5 == 0 ? .interactive : .default  // cross-pool wake-ups
          waiters.append(spawn(pool: pool) {
            waiterRan.take(s)
            if useFetch {
              judge(i, t, Result { try t.fetch() }, "fetch waiter \(k)")
            } else {
              judge(i, t, Result { try t.wait(); return nil }, "wait waiter \(k)")
            }
            Progress.bump()
          })
        }
      }
      if p.early { startWaiters() }  // waiters may block before the target ever starts
      if p.fate == 2 { schedule(t, error: StressError(fiber: i, round: roundIndex)) } else { schedule(t) }
      if !p.early { startWaiters() }
      all.append((i, t))
    }
    for w in waiters { try w.wait() }
    return all.filter { $0.0 % 17 == 0 }
  }
  // The main thread (a thread fiber, parking on a futex) waits on some targets too.
  for (i, t) in mainWaits { judge(i, t, Result { try t.fetch() }, "main-thread waiter") }

  // sync: CompositeError with exactly the failed children; the body's own error first.
  let children = round.size(200, minimum: 4)
  let syncShare = rng.pick([0.0, 0.1, 0.5])
  let bodyThrows = rng.chance(0.25)
  let childRan = round.ledger("failure-storm.sync-child", children)
  var expectedFailed = Set<Int>()
  for c in 0..<children {
    var r = round.random(for: c, 11)
    if r.chance(syncShare) { expectedFailed.insert(c) }
  }
  let failing = expectedFailed
  struct BodyError: Error {}
  let outcome: Result<Int, any Error> = try round.onFiber {
    Result {
      try sync { () -> Int in
        for c in 0..<children {
          spawn(sticky: c % 7 == 0) { () -> Void in
            childRan.take(c)
            if failing.contains(c) { throw StressError(fiber: c, round: roundIndex) }
          }
        }
        if bodyThrows { throw BodyError() }
        return children
      }
    }
  }
  switch outcome {
  case .success(let n):
    round.check(failing.isEmpty && !bodyThrows && n == children,
      "failure-storm: sync returned normally though \(failing.count) children failed (body threw: \(bodyThrows))")
  case .failure(let e as CompositeError):
    var errors = e.errors[...]
    if bodyThrows {
      round.check(errors.first is BodyError, "failure-storm: sync's CompositeError does not start with the body's error")
      errors = errors.dropFirst()
    }
    let got = errors.compactMap { (($0 as? TaskFailedError)?.underlying as? StressError)?.fiber }
    round.check(got.count == errors.count, "failure-storm: sync's CompositeError holds errors that are not TaskFailedError(StressError)")
    round.check(Set(got) == failing && got.count == failing.count,
      "failure-storm: sync's CompositeError names children \(got.sorted().prefix(10)), expected \(failing.sorted().prefix(10))")
  case .failure(let e):
    round.check(bodyThrows && failing.isEmpty && e is BodyError,
      "failure-storm: sync threw \(e); expected \(failing.isEmpty ? "the body's error" : "CompositeError")")
  }
  round.ops.add(targets + waiterSlots + mainWaits.count + children)
  round.verify(targetRan)
  round.verify(waiterRan)
  round.verify(childRan)
}

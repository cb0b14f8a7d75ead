import Weft

/// oneway-event: thousands of `OneWayEvent`s, each with one waiter and one notifier racing
/// (random spins and yields before each side, so either may come first, and the notify may
/// land while the waiter is between registering and parking):
/// - every waiter returns (ledger), and only after the notify: the event reads notified, and a
///   payload the notifier wrote (plain memory) before `notify()` is visible after `wait()`;
/// - a second `wait()` after the first returns at once; a second `notify()` does nothing;
/// - sides run as migratable or sticky fibers, in either pool, or on plain OS threads (a
///   thread waiter parks on a futex).
let oneWayEventRace = Scenario(
  name: "oneway-event",
  checks: "OneWayEvent notify racing wait: every waiter returns once (ledger), after the notify, seeing the notifier's writes"
) { round in
  var rng = round.random
  let pairs = round.size(5_000, minimum: 10)
  let maxSpin = rng.pick([0, 100, 2_000])
  let threadPairs = min(pairs, rng.pick([0, 8, 64]))
  let events = (0..<pairs).map { _ in OneWayEvent() }
  let payloads = (0..<pairs).map { _ in Box(0) }
  let returned = round.ledger("oneway-event.waiter", pairs)
  let bad = Tally()

  @Sendable func dither(_ r: inout StressRandom) {
    var x = 0
    for _ in 0..<r.int(0...maxSpin) { x &+= 1 }
    if x < 0 { print(x) }  // keeps the loop
    if r.chance(0.2) { yield() }
  }
  @Sendable func waitSide(_ i: Int) throws {
    var r = round.random(for: i, 17)
    dither(&r)
    try events[i].wait()
    returned.take(i)
    if !events[i].isNotified || payloads[i].value != i &* 7 + 1 { bad.add() }
    try events[i].wait()  // one-shot, level: returns at once now
    Progress.bump()
  }
  @Sendable func notifySide(_ i: Int) {
    var r = round.random(for: i, 18)
    dither(&r)
    payloads[i].value = i &* 7 + 1  // ordered before the waiter's return by notify/wait
    events[i].notify()
    if r.chance(0.1) { events[i].notify() }  // a second notify does nothing
  }

  // The first `threadPairs` pairs have one side on a plain OS thread (alternating which).
  var fibers: [Fiber<Void>] = []
  for i in 0..<pairs {
    var r = round.random(for: i, 19)
    let sticky = r.chance(0.2)
    let pool: ThreadPool = r.chance(0.1) ? .interactive : .default
    let waiterFirst = r.chance(0.5)
    let onThread = i < threadPairs
    let threadIsWaiter = i % 2 == 0
    func spawnSide(_ waiter: Bool) {
      if onThread && waiter == threadIsWaiter { return }
      fibers.append(round.scheduler.spawn(pool: pool, sticky: sticky) { if waiter { try waitSide(i) } else { notifySide(i) } })
    }
    spawnSide(waiterFirst)
    spawnSide(!waiterFirst)
  }
  if threadPairs > 0 {
    onThreads(min(threadPairs, 4)) { t in
      for i in stride(from: t, to: threadPairs, by: min(threadPairs, 4)) {
        if i % 2 == 0 { try! waitSide(i) } else { notifySide(i) }
      }
    }
  }
  for f in fibers { try f.wait() }
  round.check(bad.total == 0, "oneway-event: \(bad.total) waiters returned before the notify or without seeing its payload")
  round.invariants.add(pairs - 1)
  round.ops.add(2 * pairs)
  round.verify(returned)
}

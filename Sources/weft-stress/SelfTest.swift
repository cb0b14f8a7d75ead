import Weft

/// Scenarios that fail on purpose, to show (and test) what a failure looks like. They run
/// only when named (`weft-stress selftest-deadlock --watchdog 3`), never in a full run.
///
/// - selftest-deadlock: a fiber waits in a bare `wait()` nobody will answer, a second waits
///   for the first to finish, a sticky one waits for the second; two fibers take two locks
///   in opposite orders; one takes from a channel nobody writes to. The watchdog must fire
///   and dump them with what they wait on.
/// - selftest-ledger: a ledger taken twice at one slot and never at another; the scenario
///   must fail with both named, and print the seed and the rerun command.
let selfTestScenarios: [Scenario] = [
  Scenario(name: "selftest-deadlock", checks: "(fails on purpose) the watchdog fires and dumps the blocked fibers") { round in
    let stuck = round.scheduler.spawn { _ = try wait() }  // nobody ever schedules it
    let joiner = round.scheduler.spawn { try stuck.wait() }
    let sticky = Fiber(sticky: true) { try joiner.wait() }
    round.scheduler.schedule(sticky)
    // A lock-order inversion: each holds one lock and waits for the other's.
    let first = ReentrantLock(), second = ReentrantLock()
    let bothHold = Semaphore(2)
    try bothHold.acquire(); try bothHold.acquire()
    let holding = Event()
    let ab = round.scheduler.spawn { first.lock(); bothHold.release(); try holding.wait(); second.lock() }
    let ba = round.scheduler.spawn { second.lock(); bothHold.release(); try holding.wait(); first.lock() }
    try bothHold.acquire(); try bothHold.acquire()
    holding.notify()
    // A reader of a channel nobody writes to.
    let empty = Channel<Int>(capacity: 4)
    let reader = round.scheduler.spawn { _ = try empty.take() }
    try sticky.wait()
    try ab.wait(); try ba.wait(); try reader.wait()
  },
  Scenario(name: "selftest-ledger", checks: "(fails on purpose) a double take and a missing slot are reported") { round in
    var rng = round.random
    let n = 10
    let ledger = round.ledger("selftest.items", n)
    let twice = rng.int(0...n - 1)
    let never = (twice + 1 + rng.int(0...n - 2)) % n
    try round.onFiber {
      let fs = (0..<n).filter { $0 != never }.map { i in spawn { ledger.take(i) } }
      for f in fs { try f.wait() }
      ledger.take(twice)
    }
    round.verify(ledger)
  },
]

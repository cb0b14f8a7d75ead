import Weft

/// timer-storm: thousands of fibers sleep at once for random durations, plus timed waits:
/// - every sleeper wakes (ledger: none lost) and none wakes early: the elapsed monotonic
///   time around `sleep` is at least the requested duration (one-sided: lateness is only
///   reported, as `max_late_ms`);
/// - `timedWait` for a flag another fiber sets after its own random sleep: `.ok` only once
///   the flag is set; `.timedOut` only after the timeout has passed;
/// - with two or more workers, now and then one fiber spins without ever yielding until
///   every (migratable) sleeper has woken: timers must still fire while a worker is busy
///   forever (Julia #43952); the spinner gives up, and the round fails, after 20 s;
/// - the main thread (not a worker) sleeps too; a share of the sleepers are in the
///   interactive pool and must wake there.
let timerStorm = Scenario(
  name: "timer-storm",
  checks: "thousands of concurrent sleeps: none lost (ledger), none early (monotonic clock); timedWait outcomes; timers fire while a worker spins"
) { round in
  var rng = round.random
  let sleepers = round.size(2_000, minimum: 10)
  let maxMs = rng.pick([2, 10, 30])
  let spinner = round.workers >= 2 && rng.chance(0.4)
  let stickyShare = spinner ? 0.0 : rng.pick([0.0, 0.2])  // a sticky sleeper pinned under the spinner could not wake
  let waiters = round.size(50, minimum: 2)
  let woke = round.ledger("timer-storm.sleeper", sleepers)
  let timedRan = round.ledger("timer-storm.timed-wait", waiters)
  let early = Tally()
  let awake = SharedInt(0)
  let spinnerGaveUp = Flag()

  try round.onFiber {
    let spin: Fiber<Int>? = spinner ? spawn { () -> Int in
      let start = nowNanoseconds()
      var spins = 0
      while awake.load() < sleepers {
        spins &+= 1
        if nowNanoseconds() - start > 20_000_000_000 { spinnerGaveUp.set(); break }
      }
      return spins
    } : nil
    let fs = (0..<sleepers).map { i in
      var r = round.random(for: i, 8)
      let ms = r.int(0...maxMs)
      let useSeconds = r.chance(0.3)
      let pool: ThreadPool = r.chance(0.1) ? .interactive : .default
      let sticky = r.chance(stickyShare)
      return spawn(pool: pool, sticky: sticky) {
        let requested = UInt64(max(ms, 1)) * 1_000_000  // Weft's minimum sleep is 1 ms, as Julia's
        let t0 = nowNanoseconds()
        if useSeconds { try sleep(seconds: Double(ms) / 1000) } else { try sleep(for: .milliseconds(ms)) }
        let elapsed = nowNanoseconds() - t0
        woke.take(i)
        if !sticky { round.checkPool(pool, "timer-storm: sleeper \(i)") }  // sticky: pinned to its spawner's worker
        awake.add(1)
        if elapsed < requested {
          early.add()
          round.failures.record("timer-storm: sleeper \(i) woke after \(elapsed) ns, before the \(requested) ns it asked for")
        }
        round.notes.max("max_late_ms", Int((elapsed - min(elapsed, requested)) / 1_000_000))
        Progress.bump()
      }
    }
    let tw = (0..<waiters).map { i in
      var r = round.random(for: i, 9)
      let timeout = Double(r.int(1...maxMs + 5)) / 1000
      let setAfter = r.int(0...maxMs + 5)
      return spawn {
        timedRan.take(i)
        let flag = Flag()
        spawn { try sleep(for: .milliseconds(setAfter)); flag.set() }
        let t0 = nowNanoseconds()
        let result = try timedWait(timeout: timeout, pollInterval: 0.001) { flag.isSet }
        let elapsed = Double(nowNanoseconds() - t0) / 1e9
        switch result {
        case .ok:
          round.check(flag.isSet, "timer-storm: timedWait \(i) returned .ok before its flag was set")
        case .timedOut:
          round.check(elapsed >= timeout, "timer-storm: timedWait \(i) timed out after \(elapsed) s, before its \(timeout) s")
        }
        Progress.bump()
      }
    }
    for f in fs { try f.wait() }
    for f in tw { try f.wait() }
    if let spin { round.notes.add("spinner_rounds", 1); _ = try spin.fetch() }
  }

  // The main thread is no worker: it parks on a futex and is woken by a worker's timer.
  let ms = rng.int(1...maxMs)
  let t0 = nowNanoseconds()
  try sleep(for: .milliseconds(ms))
  let elapsed = nowNanoseconds() - t0
  round.check(elapsed >= UInt64(ms) * 1_000_000, "timer-storm: the main thread woke after \(elapsed) ns of a \(ms) ms sleep")

  round.check(!spinnerGaveUp.isSet, "timer-storm: sleepers did not all wake within 20 s while one worker spun (timers starved by a busy worker)")
  round.invariants.add(sleepers)  // one not-early check per sleeper (failures recorded above)
  round.ops.add(sleepers + waiters + 1)
  round.verify(woke)
  round.verify(timedRan)
}

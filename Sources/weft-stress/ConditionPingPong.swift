import Weft

/// A notify(error:) error that names its round and sender.
struct PingError: Error, Equatable {
  let pair: Int
}

/// Turn-taking state guarded by a condition's lock (or, for a plain `Condition`, by running
/// on one worker).
final class Turns: @unchecked Sendable {
  // SAFETY: read and written only under the scenario's condition lock, or, for the plain
  // Condition pairs, only by fibers pinned to one worker (never in parallel).
  var turn = 0
  var count = 0
}

/// condition-pingpong: pairs of fibers hand a turn back and forth k times, over each kind of
/// condition and event; a lost notify hangs a pair (the watchdog catches it and dumps who
/// waits on what), a spurious or doubled one breaks the counts:
/// - `Threads.Condition`: state under the condition's lock, `wait()` in a loop, the partner's
///   `notify(value:)` value must be the turn just handed over (one-to-one with two fibers);
///   pairs run on any workers and in either pool, sometimes with `all: false` or `first:`;
/// - `Condition` (single-thread): both fibers of a pair are sticky on one worker;
/// - `Event(autoreset: true)`: two events, one per direction: every `notify` releases exactly
///   one `wait`;
/// - `Event` (manual) broadcast: a gate fiber releases a crowd of waiters each step with
///   `notify`, waits until every waiter has passed, then `reset`s (ledger per step and waiter);
/// - `Event.wait(timeout:)` racing `notify`: `.ok` only when set; `.timedOut` only after the
///   timeout; a notify before the wait must give `.ok`;
/// - `Threads.Condition.notify(error:)`: every waiter at that moment throws that error.
let conditionPingPong = Scenario(
  name: "condition-pingpong",
  checks: "Threads.Condition / Condition / Event ping-pong: no lost or doubled notify; broadcast and reset; timed waits; notify(error:)"
) { round in
  var rng = round.random
  let pairs = round.size(32, minimum: 2)
  let k = rng.pick([20, 100, 500])
  let crowd = round.size(50, minimum: 2)
  let steps = rng.pick([5, 20])
  let passed = round.ledger("condition-pingpong.crowd-pass", crowd * steps)
  let handoffs = Tally()

  try round.onFiber {
    var all: [Fiber<Void>] = []
    for p in 0..<pairs {
      var r = round.random(for: p, 14)
      switch r.int(0...2) {
      case 0:
        // Threads.Condition ping-pong.
        let c = Threads.Condition()
        let t = Turns()
        let single = r.chance(0.5)
        let first = r.chance(0.3)
        for side in 0...1 {
          let pool: ThreadPool = r.chance(0.2) ? .interactive : .default
          all.append(spawn(pool: pool) {
            c.lock()
            for i in 0..<k {
              var got: (any Sendable)? = nil
              while t.turn != side { got = try c.wait(first: first) }
              if let got { round.check(got as? Int == t.count, "condition-pingpong: Threads.Condition pair \(p) woke with \(got), expected \(t.count)") }
              if t.count != 2 * i + side { round.check(false, "condition-pingpong: Threads.Condition pair \(p) side \(side) saw count \(t.count) at step \(i)") }
              t.count += 1
              t.turn = 1 - side
              _ = c.notify(value: t.count, all: !single)
              handoffs.add()
            }
            c.unlock()
          })
        }
      case 1:
        // Plain Condition: both sides sticky on this worker; this root is made sticky too.
        let c = Condition()
        let t = Turns()
        for side in 0...1 {
          all.append(spawn(sticky: true) {
            var rr = round.random(for: 2 * p + side, 16)
            for i in 0..<k {
              while t.turn != side { _ = try c.wait() }
              if t.count != 2 * i + side { round.check(false, "condition-pingpong: Condition pair \(p) side \(side) saw count \(t.count) at step \(i)") }
              t.count += 1
              t.turn = 1 - side
              _ = c.notify(all: true)
              handoffs.add()
              if rr.chance(0.1) { yield() }
            }
          })
        }
      default:
        // Two autoreset Events, one per direction: ping, then pong, k times.
        let ping = Event(autoreset: true), pong = Event(autoreset: true)
        let count = Box(0)
        all.append(spawn {
          for _ in 0..<k { ping.notify(); try pong.wait() }
          handoffs.add(k)
        })
        all.append(spawn(pool: r.chance(0.3) ? .interactive : .default) {
          for _ in 0..<k { try ping.wait(); count.value += 1; pong.notify() }
          round.check(count.value == k, "condition-pingpong: Event pair \(p) passed \(count.value) times, expected \(k)")
        })
      }
    }

    // Manual Event broadcast with reset: a crowd passes the gate `steps` times.
    let gate = Event()
    let back = Threads.Condition()
    let arrived = Turns()
    let crowdFibers = (0..<crowd).map { w in
      spawn(sticky: w % 5 == 0) {
        for s in 0..<steps {
          try gate.wait()
          passed.take(s * crowd + w)
          back.lock()
          arrived.count += 1
          _ = back.notify()
          while arrived.turn == s { _ = try back.wait() }  // wait for the gate to reset and move on
          back.unlock()
        }
      }
    }
    for s in 0..<steps {
      gate.notify()
      back.lock()
      while arrived.count < (s + 1) * crowd { _ = try back.wait() }
      gate.reset()  // everyone passed this step: close the gate before releasing them
      arrived.turn = s + 1
      _ = back.notify()
      back.unlock()
    }
    for f in crowdFibers { try f.wait() }

    // Event.wait(timeout:) racing notify.
    let timed = (0..<pairs).map { p in
      var r = round.random(for: p, 15)
      let timeout = Double(r.int(1...10)) / 1000
      let notifyFirst = r.chance(0.3)
      let delay = r.int(0...12)
      return spawn {
        let e = Event()
        if notifyFirst { e.notify() } else { spawn { try sleep(for: .milliseconds(delay)); e.notify() } }
        let t0 = nowNanoseconds()
        let timedOut: Bool
        do { try e.wait(timeout: .nanoseconds(Int64(timeout * 1e9))); timedOut = false } catch is TimeoutError { timedOut = true }
        let elapsed = Double(nowNanoseconds() - t0) / 1e9
        if !timedOut {
          round.check(e.isSet, "condition-pingpong: Event.wait(timeout:) \(p) returned but the event is not set")
        } else {
          round.check(!notifyFirst, "condition-pingpong: Event.wait(timeout:) \(p) timed out though notify came first")
          round.check(elapsed >= timeout, "condition-pingpong: Event.wait(timeout:) \(p) timed out after \(elapsed) s, before \(timeout) s")
        }
      }
    }

    // notify(error:) reaches every waiter.
    let c = Threads.Condition()
    let waiting = Turns()
    let errs = (0..<crowd).map { w in
      spawn { () -> Bool in
        c.lock()
        defer { c.unlock() }
        waiting.count += 1
        do { _ = try c.wait(); return false } catch let e as PingError { return e == PingError(pair: 0) } catch { return false }
      }
    }
    while true {
      c.lock()
      let ready = waiting.count == crowd
      if ready { round.check(c.notify(error: PingError(pair: 0)) == crowd, "condition-pingpong: notify(error:) woke a wrong number of waiters") }
      c.unlock()
      if ready { break }
      yield()
    }
    for (w, f) in errs.enumerated() { round.check(try f.fetch(), "condition-pingpong: waiter \(w) did not get the notify(error:) error") }

    for f in all { try f.wait() }
    for f in timed { try f.wait() }
  }
  round.ops.add(handoffs.total + crowd * steps + 2 * pairs + crowd)
  round.verify(passed)
}

import Weft

/// The error a bound producer of channel-bind throws.
struct ProducerError: Error, Equatable { let channel: Int }

/// channel-bind: fibers that fail close the channels bound to them with their error:
/// - producer channels (`Channel(capacity:spawn:pool:) { ch in … }`, Julia's
///   `Channel(f)`): the body puts 0..<m in order and then returns or throws; the single
///   consumer (`drain`) must get exactly 0..<m in order and then nothing (normal end) or
///   `TaskFailedError` whose fiber is the channel's `boundFiber` and whose underlying error is
///   the body's own; a few consumers are already blocked in `take` when the end comes;
/// - one fiber bound to several channels: its end closes all of them, each with its error;
/// - a channel bound to several fibers: the first to end closes it, with that fiber's
///   outcome (the later ones change nothing);
/// - binding to a fiber that has already ended closes the channel at once.
let channelBind = Scenario(
  name: "channel-bind",
  checks: "bound channels close when their fiber ends: items then nothing, or TaskFailedError with the fiber's own error, for every consumer"
) { round in
  let channels = round.size(300, minimum: 4)
  let consumed = round.ledger("channel-bind.consumer", channels)
  let wrong = Tally()
  let delivered = Tally()

  try round.onFiber {
    var rng = round.random
    // 1. Producer channels.
    let consumers = (0..<channels).map { i in
      var r = round.random(for: i, 21)
      let capacity = r.pick([0, 1, 32, Int.max])
      let m = r.int(0...200)
      let fails = r.chance(0.5)
      let spawnIt = r.chance(0.5)
      let ch = Channel<Int>(capacity: capacity, spawn: spawnIt, pool: r.chance(0.2) ? .interactive : nil) { ch in
        for k in 0..<m { try ch.put(k) }
        if fails { throw ProducerError(channel: i) }
      }
      let producer = ch.boundFiber!
      return spawn(pool: r.chance(0.2) ? .interactive : .default) {
        consumed.take(i)
        var next = 0
        do {
          try ch.drain { k in
            if k != next { wrong.add() }
            next += 1
            delivered.add()
          }
          if fails { wrong.add(); round.failures.record("channel-bind: channel \(i) ended normally, but its producer failed") }
        } catch let e as TaskFailedError {
          if !fails || e.fiber !== producer || (e.underlying as? ProducerError) != ProducerError(channel: i) {
            wrong.add()
            round.failures.record("channel-bind: channel \(i) closed with \(e); producer failed: \(fails)")
          }
        } catch {
          wrong.add()
          round.failures.record("channel-bind: channel \(i) drain threw \(error)")
        }
        if next != m { wrong.add(); round.failures.record("channel-bind: channel \(i) delivered \(next) of \(m) items") }
        Progress.bump()
      }
    }

    // 2. One fiber, several channels, consumers already blocked when it ends.
    let fan = rng.int(2...8)
    let gate = Event()
    let failsAll = rng.chance(0.5)
    let owner = spawn { try gate.wait(); if failsAll { throw ProducerError(channel: -1) } }
    let fanChannels = (0..<fan).map { _ in Channel<Int>(capacity: rng.pick([0, 4])).bind(to: owner) }
    let blocked = fanChannels.enumerated().map { (j, ch) in
      spawn { () -> Bool in
        do { _ = try ch.take(); return false } catch let e as TaskFailedError {
          return failsAll && e.fiber === owner && (e.underlying as? ProducerError) == ProducerError(channel: -1)
        } catch { return !failsAll && error is ChannelClosedError }
      }
    }
    gate.notify()
    for (j, b) in blocked.enumerated() {
      round.check(try b.fetch(), "channel-bind: a take blocked on channel \(j) bound to a \(failsAll ? "failing" : "finishing") fiber got the wrong outcome")
    }

    // 3. One channel, several fibers: the first to end decides.
    let first = Event(), second = Event()
    let firstFails = rng.chance(0.5)
    let a = spawn { try first.wait(); if firstFails { throw ProducerError(channel: -2) } }
    let b = spawn { try second.wait(); throw ProducerError(channel: -3) }
    let shared = Channel<Int>(capacity: 1).bind(to: a).bind(to: b)
    first.notify()
    _ = try? a.wait()
    // a's bind hook runs just after a wakes its waiters: let it close the channel before b ends.
    while shared.isOpen { yield() }
    second.notify()
    _ = try? b.wait()
    do {
      _ = try shared.take()
      round.check(false, "channel-bind: take on a channel whose bound fibers ended returned an item")
    } catch let e as TaskFailedError {
      round.check(firstFails && e.fiber === a, "channel-bind: the channel bound to two fibers closed with \(e), not by the first to end")
    } catch {
      round.check(!firstFails && error is ChannelClosedError, "channel-bind: the channel bound to two fibers threw \(error)")
    }

    // 4. Binding to a fiber that already ended closes at once.
    let ended = spawn { () -> Void in }
    try ended.wait()
    let late = Channel<Int>(capacity: 4).bind(to: ended)
    round.check(!late.isOpen, "channel-bind: a channel bound to an ended fiber is still open")

    for c in consumers { try c.wait() }
  }
  round.check(wrong.total == 0, "channel-bind: \(wrong.total) consumers saw wrong items or a wrong end")
  round.ops.add(channels + delivered.total)
  round.verify(consumed)
}

import Weft

/// One flag per item: set once the item's `put` returned (the channel accepted it).
final class Accepted: @unchecked Sendable {
  // SAFETY: each slot is written by one producer only, and read after every fiber was
  // joined (the join orders the writes before the reads). Raw memory: no exclusivity checks.
  private let flags: UnsafeMutablePointer<Bool>
  private let count: Int
  init(_ n: Int) {
    count = n
    flags = .allocate(capacity: max(n, 1))
    flags.initialize(repeating: false, count: n)
  }
  deinit { flags.deallocate() }
  subscript(_ i: Int) -> Bool {
    get { flags[i] }
    set { flags[i] = newValue }
  }
}

/// How a lane of channel-traffic ends.
enum LaneEnd: Int, CaseIterable, Sendable {
  case afterProducers, closeMidway, closeWithErrorMidway, boundFiberEndsMidway, boundFiberFailsMidway
}

/// A lane's mid-traffic close error.
struct LaneError: Error, Equatable { let lane: Int }

/// channel-traffic: every round runs four lanes at once, one per capacity — 0 (unbuffered),
/// 1, 32 and unbounded — each with producers and consumers (fibers, sticky or not, either
/// pool; now and then producer 0 or consumer 0 is a plain OS thread), each producer putting
/// its own numbered items
/// in order. A lane ends (from the seed) after its producers finish, or in the middle of
/// traffic by `close()`, `close(error:)`, or the end of a fiber the channel is `bind`-ed to
/// (normally, or by throwing). Checks:
/// - an item is taken at most once (a double take is reported at once), and taken exactly
///   when its `put` returned normally: nothing accepted is lost (a closed channel still hands
///   out what it buffered), nothing refused is delivered;
/// - each consumer sees each producer's items in increasing order (FIFO per producer);
/// - after the close, `put` throws and takers, once drained, throw: `ChannelClosedError` for
///   `close()` and a normal bound end, the given error for `close(error:)`, and
///   `TaskFailedError` of the bound fiber with its own error when it failed.
let channelTraffic = Scenario(
  name: "channel-traffic",
  checks: "channels of capacity 0/1/32/unbounded: each accepted item taken once, refused ones never, FIFO per producer; close and bind mid-traffic deliver the right error"
) { round in
  let capacities = [0, 1, 32, Int.max]
  let producers = round.size(8, minimum: 1)
  let consumers = round.size(8, minimum: 1)
  let perProducer = round.size(1_000, minimum: 10)
  let laneItems = producers * perProducer
  let total = capacities.count * laneItems
  let taken = round.ledger("channel-traffic.item", total)
  let accepted = Accepted(total)
  let outOfOrder = Tally()
  let wrongErrors = Tally()

  // Everything is spawned from this (non-worker) thread, which then runs the OS-thread
  // participants itself: a lane may have its producer 0 and its consumer 0 on plain threads.
  var all: [Fiber<Void>] = []
  var drivers: [Fiber<Void>] = []
  var onThread: [@Sendable () -> Void] = []
  for (lane, capacity) in capacities.enumerated() {
    var r = round.random(for: lane, 20)
    let end = r.pick(LaneEnd.allCases)
    let threshold = r.int(0...laneItems / 2)  // takes before a midway end
    let threadProducer = r.chance(0.25), threadConsumer = r.chance(0.25)
    let ch = Channel<Int>(capacity: capacity)
    let takes = SharedInt(0)
    let base = lane * laneItems
    // The fiber the channel is bound to, for the bound ends: it waits until `threshold`
    // items were taken, then ends (or throws).
    let lifetime: Fiber<Void>? = end == .boundFiberEndsMidway || end == .boundFiberFailsMidway ? round.scheduler.spawn {
      while takes.load() < threshold { yield() }
      if end == .boundFiberFailsMidway { throw LaneError(lane: lane) }
    } : nil
    if let lifetime { ch.bind(to: lifetime); drivers.append(lifetime) }

    /// Checks an error thrown by put or take on this lane against the way it ended.
    @Sendable func judge(_ e: any Error, _ who: String) {
      let ok: Bool
      switch end {
      case .afterProducers, .closeMidway, .boundFiberEndsMidway: ok = e is ChannelClosedError
      case .closeWithErrorMidway: ok = (e as? LaneError) == LaneError(lane: lane)
      case .boundFiberFailsMidway:
        let tf = e as? TaskFailedError
        ok = tf?.fiber === lifetime && (tf?.underlying as? LaneError) == LaneError(lane: lane)
      }
      if !ok {
        wrongErrors.add()
        round.failures.record("channel-traffic: lane \(lane) (capacity \(capacity), \(end)) \(who) threw \(e)")
      }
    }
    @Sendable func produce(_ p: Int) {
      for s in 0..<perProducer {
        let item = base + p * perProducer + s
        do { try ch.put(item) } catch { judge(error, "put (producer \(p))"); return }
        accepted[item] = true
      }
    }
    @Sendable func consume(_ c: Int, style: Int) {
      var last = [Int](repeating: -1, count: producers)
      func got(_ item: Int) {
        taken.take(item)
        let p = (item - base) / perProducer, s = (item - base) % perProducer
        if s <= last[p] { outOfOrder.add() }
        last[p] = s
        takes.add(1)
        Progress.bump()
      }
      switch style {
      case 0:
        while true {
          do { got(try ch.take()) } catch { judge(error, "take (consumer \(c))"); break }
        }
      case 1:
        do { try ch.drain { got($0) } } catch { judge(error, "drain (consumer \(c))") }
      default:
        for item in ch { got(item) }  // iteration ends quietly on any close
      }
    }

    let threadProduced = Event()
    var prods: [Fiber<Void>] = []
    for p in 0..<producers {
      if p == 0 && threadProducer {
        onThread.append { produce(0); threadProduced.notify() }
        continue
      }
      prods.append(round.scheduler.spawn(pool: r.chance(0.2) ? .interactive : .default, sticky: r.chance(0.2)) { produce(p) })
    }
    if !threadProducer { threadProduced.notify() }
    for c in 0..<consumers {
      let style = r.int(0...2)
      if c == 0 && threadConsumer {
        onThread.append { consume(0, style: style) }
        continue
      }
      all.append(round.scheduler.spawn(pool: r.chance(0.2) ? .interactive : .default, sticky: r.chance(0.2)) { consume(c, style: style) })
    }
    all += prods
    // The lane's driver: ends the lane midway, or closes it once the producers are done.
    let producerFibers = prods
    drivers.append(round.scheduler.spawn {
      switch end {
      case .closeMidway, .closeWithErrorMidway:
        while takes.load() < threshold { yield() }
        if end == .closeMidway { ch.close() } else { ch.close(error: LaneError(lane: lane)) }
      case .afterProducers:
        for p in producerFibers { try p.wait() }
        try threadProduced.wait()
        ch.close()
      case .boundFiberEndsMidway, .boundFiberFailsMidway:
        break
      }
    })
  }
  let jobs = onThread
  if !jobs.isEmpty { onThreads(jobs.count) { jobs[$0]() } }
  for f in all { try f.wait() }
  for d in drivers { _ = try? d.wait() }
  var lost = 0, refusedButTaken = 0
  for i in 0..<total {
    let t = taken.takes(i)
    if accepted[i] && t == 0 { lost += 1 }
    if !accepted[i] && t > 0 { refusedButTaken += 1 }
  }
  round.check(lost == 0, "channel-traffic: \(lost) accepted items were never taken (lost)")
  round.check(refusedButTaken == 0, "channel-traffic: \(refusedButTaken) items whose put threw were taken anyway")
  round.check(outOfOrder.total == 0, "channel-traffic: \(outOfOrder.total) items arrived out of their producer's order")
  round.check(wrongErrors.total == 0, "channel-traffic: \(wrongErrors.total) wrong close errors")
  round.invariants.add(total)
  round.ops.add((0..<total).reduce(0) { $0 + taken.takes($1) })  // items delivered
}

import Synchronization
import Weft

/// The kinds of wait an interrupt-storm victim blocks in (one kind per victim, for its life).
enum StormWait: Int, CaseIterable, Sendable {
  case condition, threadsCondition, threadsConditionReentrant, eventAutoreset, eventManual, oneWayEvent,
       semaphore, lockTimed, put, take, fetch, channelWait, iterate, fiberWait, sleep, bareWait
}

/// The error interrupters send: who it was for, and the interrupter's own sequence number.
struct StormInterrupt: Error { let victim: Int; let interrupter: Int; let seq: Int }

/// A `notify(error:)` payload: the wake's token.
struct StormNotified: Error { let token: Int }

/// How one wait of a victim ended.
enum StormEnding { case woken, timedOut, interrupted, cancelled }

/// A lock whose `lock()` never parks (it yields until `tryLock` wins), so a fiber in
/// `Threads.Condition.wait`'s re-lock may be interrupted at any moment: `ReentrantLock.lock()`
/// is not interruptible, and interrupting a fiber blocked there is a misuse.
final class YieldLock: AbstractLock {
  private let held = Atomic<Bool>(false)
  init() {}
  func lock() { while !tryLock() { yield() } }
  func unlock() { held.store(false, ordering: .releasing) }
  func tryLock() -> Bool { held.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged }
  var isLocked: Bool { held.load(ordering: .relaxed) }
}

/// Wake-ups handed out by notifiers, one token per `notify`: the notifier records how many
/// waiters its notify returned (`expect`), each waiter that returns normally (or throws the
/// notify's error) records the token it got (`deliver`); after the round both must agree
/// token by token: each wake delivered exactly once, none to an interrupted waiter.
final class WakeBook: @unchecked Sendable {
  // SAFETY: only accessed atomically; allocated in init, freed in deinit.
  let capacity: Int
  // W1: each book has one notifier, which spends a token only on a notify that woke someone
  // (a token no one received is used again for its next notify). Spending one per notify,
  // woken or not, ran the book dry while victims still had waits to do: the notifier loops
  // much faster than a woken victim re-takes the lock (a single-worker interactive victim
  // above all), and a victim over the ReentrantLock condition, which the interrupters only
  // cancel, then waited for ever in a wait with no timeout (seed 413053971, round 486: about
  // half the runs; a trace of the victim showed it parked with no wake ever attempted).
  private let next = Atomic<Int>(0)
  /// W1: the token of the last notify that woke nobody, or -1 (the one notifier's own).
  private let spare = Atomic<Int>(-1)
  private let expected: UnsafeMutablePointer<Atomic<Int>>
  private let delivered: UnsafeMutablePointer<Atomic<Int>>

  init(_ capacity: Int) {
    self.capacity = capacity
    expected = .allocate(capacity: capacity)
    delivered = .allocate(capacity: capacity)
    for i in 0..<capacity { (expected + i).initialize(to: Atomic(0)); (delivered + i).initialize(to: Atomic(0)) }
  }
  deinit { expected.deallocate(); delivered.deallocate() }

  /// A fresh token, or nil when the book is full (the notifier then stops notifying).
  func issue() -> Int? {
    let t = next.wrappingAdd(1, ordering: .relaxed).oldValue
    return t < capacity ? t : nil
  }
  func expect(_ t: Int, _ n: Int) { expected[t].store(n, ordering: .relaxed) }
  /// W1: notifies with a token (`notify` returns how many it woke), spent only if it woke
  /// someone. Nothing when the book is full.
  func notify(_ notify: (Int) -> Int) {
    let kept = spare.load(ordering: .relaxed)
    guard let t = kept >= 0 ? kept : issue() else { return }
    let woken = notify(t)
    if woken > 0 { expect(t, woken) }
    spare.store(woken > 0 ? -1 : t, ordering: .relaxed)
  }
  func deliver(_ t: Int) -> Bool {
    guard t >= 0 && t < capacity else { return false }
    delivered[t].wrappingAdd(1, ordering: .relaxed)
    return true
  }
  /// Call after joining every notifier and waiter: (tokens that disagree, wakes counted).
  func mismatches() -> (bad: Int, first: [String], wakes: Int) {
    var bad = 0, first: [String] = [], wakes = 0
    for t in 0..<min(next.load(ordering: .relaxed), capacity) {
      let e = expected[t].load(ordering: .relaxed), d = delivered[t].load(ordering: .relaxed)
      wakes += e
      if e != d { bad += 1; if first.count < 5 { first.append("token \(t): notify woke \(e), \(d) returned") } }
    }
    return (bad, first, wakes)
  }
}

/// Occupancy of a lock or semaphore: how many hold it now, and the most at once.
final class Meter: Sendable {
  private let inside = SharedInt(0)
  let most = SharedInt(0)
  init() {}
  /// Enters; returns the occupancy including the caller.
  func enter() -> Int {
    let now = inside.add(1)
    while true {
      let m = most.load()
      if now <= m || most.compareExchange(m, now) { return now }
    }
  }
  func leave() { inside.add(-1) }
}

/// What every fiber of one interrupt-storm round shares.
final class Storm: Sendable {
  let condition = Weft.Condition()
  let threadsCondition = Threads.Condition(lock: YieldLock())
  let reentrantLock = ReentrantLock()
  let threadsConditionReentrant: Threads.Condition
  let autoreset = Event(autoreset: true)
  let manual = Event()
  let semaphore: Semaphore
  let lock = ReentrantLock()
  let unbuffered = Channel<Int>(capacity: 0)
  let buffered: Channel<Int>
  let semMeter = Meter(), lockMeter = Meter()
  let conditionBook: WakeBook, threadsBook: WakeBook, reentrantBook: WakeBook
  let autoNotifies = SharedInt(0), autoReturns = SharedInt(0)
  let manualNotifies = SharedInt(0), manualResets = SharedInt(0)
  let oneWay: [OneWayEvent], oneWayPayload: [Box<Int>], oneWayNotifyAt: [Int]
  /// Bare-wait hand-shake per victim: seq << 2 | 0 idle, 1 armed, 2 claimed, 3 scheduled.
  let bare: [SharedInt]
  let bareScheduled = Tally(), bareDelivered = Tally(), bareAbandoned = Tally()
  let progress: [SharedInt]
  let stop = Flag()
  let itemStride: Int, items: Int
  let accepted: Accepted
  let taken: Ledger
  let targets = Locked<[Fiber<Int>]>([])
  let violations = Tally(), rearmLost = Tally()
  let endings = (woken: Tally(), timedOut: Tally(), interrupted: Tally(), cancelled: Tally())
  let sent = Tally()

  init(round: Round, victims: Int, ops: Int, producers: Int, perProducer: Int, permits: Int, capacity: Int, notifyAt: [Int]) {
    threadsConditionReentrant = Threads.Condition(lock: reentrantLock)
    semaphore = Semaphore(permits)
    buffered = Channel<Int>(capacity: capacity)
    let tokens = round.size(200_000, minimum: 1_000)
    conditionBook = WakeBook(tokens); threadsBook = WakeBook(tokens); reentrantBook = WakeBook(tokens)
    oneWay = (0..<victims).map { _ in OneWayEvent() }
    oneWayPayload = (0..<victims).map { _ in Box(0) }
    oneWayNotifyAt = notifyAt
    bare = (0..<victims).map { _ in SharedInt(0) }
    progress = (0..<victims).map { _ in SharedInt(0) }
    itemStride = max(ops, perProducer)
    items = (victims + producers) * itemStride
    accepted = Accepted(items)
    taken = round.ledger("interrupt-storm.item", items)
  }
}

/// interrupt-storm: victims blocked in every kind of wait — `Condition` (a sticky group on one
/// worker), `Threads.Condition` (over a yielding lock, and over a `ReentrantLock`), `Event`
/// (autoreset and manual), `OneWayEvent`, `Semaphore`, `ReentrantLock.tryLock(timeout:)`,
/// channel `put`/`take`/`fetch`/`wait`/`for … in` on an unbuffered and a buffered channel,
/// `fetch` of another fiber, `sleep`, the bare `wait()` — are interrupted with
/// `schedule(_:error:)`, cancelled, and timed out at random while traffic goes on (producers,
/// consumers, notifiers, semaphore and lock holders, a waker that `schedule`s bare waiters).
/// Checks:
/// - every channel item is taken exactly when its `put` returned normally (ledger): an
///   interrupted put delivered nothing, an interrupted take took nothing;
/// - a `Semaphore` never has more than `size` holders, `inUse` returns to 0, and all `size`
///   permits can be taken at once afterwards (no waiter, no WAITERS bit left behind); the
///   lock has one holder at a time;
/// - each wake is delivered exactly once: per notify token, the number a `Condition` /
///   `Threads.Condition` `notify` returned equals the waiters that returned with it; an
///   autoreset `Event` releases at most one waiter per `notify`; a manual `Event` wait returns
///   only after a `notify` newer than the last `reset` before it; a bare `wait()` returns each
///   `schedule` value once (unless cancelled first);
/// - interruptions: each reaches only its victim, at most once (per interrupter, sequence
///   numbers increase); an interrupted `for … in` re-arms its error for the next wait;
/// - afterwards no waiter is linked (`isEmpty`, `isReady`, `OneWayEvent.state`, a `notify`
///   or `put` that finds nobody) and, checked by the runner, no fiber is left.
let interruptStorm = Scenario(
  name: "interrupt-storm",
  checks: "waits of every kind interrupted, cancelled and timed out under traffic: no item lost, no permit leaked, no waiter left linked, each wake delivered once"
) { round in
  var rng = round.random
  let kinds = StormWait.allCases
  let victims = round.size(64, minimum: kinds.count)
  let ops = rng.pick([20, 60, 200])
  let producers = round.size(4, minimum: 1), consumers = round.size(4, minimum: 1)
  let perProducer = round.size(5_000, minimum: 100)
  let interrupters = round.size(3, minimum: 1)
  let rotation = rng.int(0...kinds.count - 1)
  let kindOf = (0..<victims).map { kinds[($0 + rotation) % kinds.count] }
  let cancelAt = (0..<victims).map { _ in rng.chance(0.15) ? rng.int(0...ops) : -1 }
  let notifyAt = (0..<victims).map { _ in rng.int(0...ops) }
  let s = Storm(round: round, victims: victims, ops: ops, producers: producers, perProducer: perProducer,
                permits: rng.int(1...3), capacity: rng.pick([1, 4, 32]), notifyAt: notifyAt)
  let timeouts: [Duration?] = [nil, nil, nil, .zero, .milliseconds(1), .milliseconds(3)]
  let cancelled = (0..<victims).map { _ in SharedInt(0) }
  let allVictims = Box<[Fiber<Void>]>([])  // set below, before any fiber starts

  /// Sorts an error a victim's wait threw; records a failure for an unexpected one.
  @Sendable func classify(_ e: any Error, _ v: Int, _ timeout: Duration?, _ last: inout [Int], _ what: StormWait) -> StormEnding {
    switch e {
    case let i as StormInterrupt:
      if i.victim != v || i.seq <= last[i.interrupter] {
        s.violations.add()
        round.failures.record("interrupt-storm: victim \(v) (\(what)) got \(i) (last from that interrupter: \(last[i.interrupter]))")
      }
      last[i.interrupter] = i.seq
      return .interrupted
    case is CancellationError:
      if cancelled[v].load() == 0 { s.violations.add(); round.failures.record("interrupt-storm: victim \(v) (\(what)) cancelled, but nobody cancelled it") }
      return .cancelled
    case let t as TimeoutError:
      if timeout == nil || t.timeout != timeout! {
        s.violations.add()
        round.failures.record("interrupt-storm: victim \(v) (\(what)) timed out (\(t)) with timeout \(timeout.map { "\($0)" } ?? "nil")")
      }
      return .timedOut
    default:
      s.violations.add()
      round.failures.record("interrupt-storm: victim \(v) (\(what)) threw \(e)")
      return .cancelled  // stop this victim
    }
  }

  /// Takes a delivered wake's token (the value a condition's `wait` returned).
  @Sendable func got(_ book: WakeBook, _ value: (any Sendable)?, _ v: Int) {
    if !book.deliver(value as? Int ?? -1) { s.violations.add(); round.failures.record("interrupt-storm: victim \(v) woken with \(value as Any)") }
  }

  /// One wait of kind `kind`; returns normally when the wait did (woken, acquired, slept).
  @Sendable func oneWait(_ kind: StormWait, _ v: Int, _ op: Int, _ timeout: Duration?, _ r: inout StressRandom,
                         _ last: inout [Int]) throws {
    switch kind {
    case .condition:
      do { got(s.conditionBook, try s.condition.wait(first: r.chance(0.2), timeout: timeout), v) }
      catch let n as StormNotified { got(s.conditionBook, n.token, v) }
    case .threadsCondition, .threadsConditionReentrant:
      let c = kind == .threadsCondition ? s.threadsCondition : s.threadsConditionReentrant
      let book = kind == .threadsCondition ? s.threadsBook : s.reentrantBook
      c.lock()
      defer { c.unlock() }
      do { got(book, try c.wait(first: r.chance(0.2), timeout: timeout), v) }
      catch let n as StormNotified { got(book, n.token, v) }
      catch {
        if kind == .threadsConditionReentrant && !s.reentrantLock.isHeldByCurrentFiber {
          s.violations.add(); round.failures.record("interrupt-storm: Threads.Condition.wait threw \(error) without the lock held")
        }
        throw error
      }
    case .eventAutoreset:
      try s.autoreset.wait(timeout: timeout)
      let returns = s.autoReturns.add(1)
      if returns > s.autoNotifies.load() { s.violations.add(); round.failures.record("interrupt-storm: \(returns) autoreset Event waits returned for \(s.autoNotifies.load()) notifies") }
    case .eventManual:
      let resets = s.manualResets.load()
      try s.manual.wait(timeout: timeout)
      let notifies = s.manualNotifies.load()
      if notifies <= resets { s.violations.add(); round.failures.record("interrupt-storm: manual Event wait returned with no notify after the reset (\(notifies) notifies, \(resets) resets)") }
    case .oneWayEvent:
      try s.oneWay[v].wait(timeout: timeout)
      if !s.oneWay[v].isNotified || s.oneWayPayload[v].value != v + 1 { s.violations.add(); round.failures.record("interrupt-storm: OneWayEvent \(v) wait returned before its notify") }
    case .semaphore:
      try s.semaphore.acquire(timeout: timeout)
      if s.semMeter.enter() > s.semaphore.size { s.violations.add() }
      if r.chance(0.3) { yield() }
      s.semMeter.leave()
      s.semaphore.release()
    case .lockTimed:
      guard try s.lock.tryLock(timeout: timeout ?? .seconds(3_600)) else { throw TimeoutError(operation: "tryLock", timeout: timeout ?? .seconds(3_600)) }
      if s.lockMeter.enter() != 1 || !s.lock.isHeldByCurrentFiber { s.violations.add() }
      if r.chance(0.3) { yield() }
      s.lockMeter.leave()
      s.lock.unlock()
    case .put:
      let item = v * s.itemStride + op
      try (r.chance(0.5) ? s.unbuffered : s.buffered).put(item, timeout: timeout)
      s.accepted[item] = true
    case .take:
      s.taken.take(try (r.chance(0.5) ? s.unbuffered : s.buffered).take(timeout: timeout))
    case .fetch:
      let x = try s.buffered.fetch(timeout: timeout)
      if x < 0 || x >= s.items { s.violations.add() }
    case .channelWait:
      try (r.chance(0.5) ? s.unbuffered : s.buffered).wait(timeout: timeout)
    case .iterate:
      let limit = r.int(1...4)
      var n = 0
      for x in r.chance(0.5) ? s.unbuffered : s.buffered {
        s.taken.take(x)
        n += 1
        if n == limit { return }
      }
      // Channels stay open during the storm: the loop ended by interruption or cancellation,
      // which must be re-armed for this next wait.
      try sleep(for: .milliseconds(1))
      s.rearmLost.add()
      round.failures.record("interrupt-storm: victim \(v): an interrupted for-in did not re-arm its interruption")
    case .fiberWait:
      let value = v * 1_000_000 + op
      let quick = r.chance(0.3), ms = r.int(0...2)
      let target = spawn { () -> Int in
        if !quick { try sleep(for: .milliseconds(ms)) }
        return value
      }
      s.targets.withLock { $0.append(target) }
      if try target.fetch(timeout: timeout) != value { s.violations.add() }
    case .sleep:
      let ms = r.int(0...3), t0 = nowNanoseconds()
      try sleep(for: .milliseconds(ms))
      if nowNanoseconds() - t0 < UInt64(max(ms, 1)) * 1_000_000 { s.violations.add(); round.failures.record("interrupt-storm: a \(ms) ms sleep returned early") }
    case .bareWait:
      try bareWait(v, op, &last)
    }
  }

  /// The bare `wait()` hand-shake with the waker: arm, wait, and if the waker claimed this
  /// arm while the wait was being interrupted, consume its `schedule` before arming again.
  @Sendable func bareWait(_ v: Int, _ op: Int, _ last: inout [Int]) throws {
    let flag = s.bare[v], armed = op << 2 | 1
    flag.store(armed)
    do {
      let value = try wait()
      if value as? Int != op { s.violations.add(); round.failures.record("interrupt-storm: bare wait() of victim \(v) returned \(value as Any), expected \(op)") }
      s.bareDelivered.add()
      while flag.load() != op << 2 | 3 { yield() }
      return
    } catch {
      if flag.compareExchange(armed, op << 2) { throw error }
      // Claimed: the schedule is pending (or on its way); the next wait() returns it.
      var ending = classify(error, v, nil, &last, .bareWait)
      while ending != .cancelled {
        do {
          let value = try wait()
          if value as? Int != op { s.violations.add() }
          s.bareDelivered.add()
          break
        } catch { ending = classify(error, v, nil, &last, .bareWait) }
      }
      if ending == .cancelled { s.bareAbandoned.add() }
      while flag.load() != op << 2 | 3 { yield() }
      if ending == .cancelled { throw CancellationError() }
    }
  }

  @Sendable func victim(_ v: Int) {
    let kind = kindOf[v]
    var r = round.random(for: v, 40)
    var last = [Int](repeating: -1, count: interrupters)
    for op in 0..<ops {
      s.progress[v].store(op)
      let timeout = kind == .sleep || kind == .bareWait || kind == .iterate ? nil : r.pick(timeouts)
      var ending = StormEnding.woken
      do { try oneWait(kind, v, op, timeout, &r, &last) } catch { ending = classify(error, v, timeout, &last, kind) }
      switch ending {
      case .woken: s.endings.woken.add()
      case .timedOut: s.endings.timedOut.add()
      case .interrupted: s.endings.interrupted.add()
      case .cancelled: s.endings.cancelled.add()
      }
      Progress.bump()
      if ending == .cancelled { break }
    }
    s.progress[v].store(ops)
  }

  // Interrupters: schedule(_:error:) random started victims, and cancel the planned ones
  // once they reached their planned op. Victims over a ReentrantLock-based Threads.Condition
  // may be blocked in its (uninterruptible) re-lock: those are only cancelled and timed out.
  @Sendable func interrupter(_ i: Int, _ all: [Fiber<Void>]) {
    var r = round.random(for: i, 41)
    var seq = 0
    while !s.stop.isSet {
      let v = r.int(0...victims - 1)
      let f = all[v]
      if f.isStarted && !f.isDone {
        if cancelAt[v] >= 0 && s.progress[v].load() >= cancelAt[v] && cancelled[v].compareExchange(0, 1) {
          f.cancel()
        } else if kindOf[v] != .threadsConditionReentrant {
          seq += 1
          schedule(f, error: StormInterrupt(victim: v, interrupter: i, seq: seq))
          s.sent.add()
        }
      }
      if r.chance(0.005) { try? sleep(for: .milliseconds(1)) } else { yield() }
    }
  }

  // Traffic, until the victims are done; none of it is ever interrupted.
  @Sendable func conditionNotifier(_ c: Threads.Condition, _ book: WakeBook, _ salt: UInt64) {
    var r = round.random(for: 0, salt)
    while !s.stop.isSet {
      c.lock()
      book.notify { t in
        let all = r.chance(0.3)
        return r.chance(0.1) ? c.notify(error: StormNotified(token: t), all: all) : c.notify(value: t, all: all)
      }
      c.unlock()
      yield()
    }
  }
  var traffic: [@Sendable () throws -> Void] = []
  traffic.append { conditionNotifier(s.threadsCondition, s.threadsBook, 42) }
  traffic.append { conditionNotifier(s.threadsConditionReentrant, s.reentrantBook, 43) }
  traffic.append {
    while !s.stop.isSet { s.autoNotifies.add(1); s.autoreset.notify(); yield() }
  }
  traffic.append {
    var r = round.random(for: 0, 44)
    while !s.stop.isSet {
      s.manualNotifies.add(1)
      s.manual.notify()
      for _ in 0..<r.int(0...3) { yield() }
      s.manual.reset()
      s.manualResets.add(1)
      yield()
    }
  }
  traffic.append {  // OneWayEvent notifier: each event once its victim reached its planned op
    var pending = (0..<victims).filter { kindOf[$0] == .oneWayEvent }
    while !pending.isEmpty {
      pending.removeAll { v in
        guard s.stop.isSet || s.progress[v].load() >= s.oneWayNotifyAt[v] else { return false }
        s.oneWayPayload[v].value = v + 1
        s.oneWay[v].notify()
        return true
      }
      yield()
    }
  }
  traffic.append {  // the waker: schedules bare-wait victims that armed
    while !s.stop.isSet {
      for v in 0..<victims where kindOf[v] == .bareWait {
        let w = s.bare[v].load()
        if w & 3 == 1 && s.bare[v].compareExchange(w, w + 1) {
          schedule(allVictims.value[v], value: w >> 2)
          s.bareScheduled.add()
          s.bare[v].store(w + 2)
        }
      }
      yield()
    }
  }
  for p in 0..<producers {
    traffic.append {
      var r = round.random(for: p, 45)
      let base = (victims + p) * s.itemStride
      for k in 0..<perProducer where !s.stop.isSet {
        do { try (r.chance(0.5) ? s.unbuffered : s.buffered).put(base + k, timeout: .milliseconds(r.int(0...2))); s.accepted[base + k] = true }
        catch is TimeoutError {} catch { s.violations.add(); round.failures.record("interrupt-storm: producer put threw \(error)") }
      }
    }
  }
  for c in 0..<consumers {
    traffic.append {
      var r = round.random(for: c, 46)
      while !s.stop.isSet {
        do { s.taken.take(try (r.chance(0.5) ? s.unbuffered : s.buffered).take(timeout: .milliseconds(r.int(0...2)))) }
        catch is TimeoutError {} catch { s.violations.add(); round.failures.record("interrupt-storm: consumer take threw \(error)") }
      }
    }
  }
  traffic.append {  // semaphore and lock holders
    var r = round.random(for: 0, 47)
    while !s.stop.isSet {
      if r.chance(0.5) {
        try s.semaphore.acquire {
          if s.semMeter.enter() > s.semaphore.size { s.violations.add() }
          yield()
          s.semMeter.leave()
        }
      } else {
        s.lock.lock()
        if s.lockMeter.enter() != 1 { s.violations.add() }
        yield()
        s.lockMeter.leave()
        s.lock.unlock()
      }
      yield()
    }
  }

  // The victims, created first so that interrupters and the waker can name them. The
  // Condition victims are sticky and started by the group fiber, which pins them to its
  // worker (a Condition belongs to one thread) and notifies them.
  allVictims.value = (0..<victims).map { v in
    var r = round.random(for: v, 48)
    let group = kindOf[v] == .condition
    return Fiber(sticky: group || r.chance(0.3), pool: !group && r.chance(0.15) ? .interactive : .default) { victim(v) }
  }
  let vs = allVictims.value
  let group = Fiber(sticky: true) {
    for v in 0..<victims where kindOf[v] == .condition { schedule(vs[v]) }
    var r = round.random(for: 0, 49)
    while !s.stop.isSet {
      s.conditionBook.notify { t in
        let all = r.chance(0.3)
        return r.chance(0.1) ? s.condition.notify(error: StormNotified(token: t), all: all) : s.condition.notify(value: t, all: all)
      }
      yield()
    }
  }
  round.scheduler.schedule(group)
  for v in 0..<victims where kindOf[v] != .condition { round.scheduler.schedule(vs[v]) }
  let others = traffic.map { body in round.scheduler.spawn(body) }
    + (0..<interrupters).map { i in round.scheduler.spawn { interrupter(i, vs) } }
  for f in vs { try f.wait() }
  s.stop.set()
  try group.wait()
  for f in others { try f.wait() }
  for t in s.targets.withLock({ $0 }) { _ = try t.fetch() }

  // Conservation: drain what the buffer still holds, then every item is taken exactly when
  // its put returned.
  while s.buffered.isReady { s.taken.take(try s.buffered.take()) }
  round.check(!s.unbuffered.isReady, "interrupt-storm: the unbuffered channel is ready after the round (a putter left linked)")
  var lost = 0, refused = 0, moved = 0
  for i in 0..<s.items {
    let t = s.taken.takes(i)
    moved += t
    if s.accepted[i] && t == 0 { lost += 1 }
    if !s.accepted[i] && t > 0 { refused += 1 }
  }
  round.check(lost == 0, "interrupt-storm: \(lost) items whose put returned were never taken (lost)")
  round.check(refused == 0, "interrupt-storm: \(refused) items whose put threw were taken anyway")
  // No waiter left linked: a put finds no taker, a notify finds no waiter, all permits free.
  do { try s.unbuffered.put(-1, timeout: .zero); round.check(false, "interrupt-storm: an unbuffered put found a taker after the round") }
  catch { round.check(error is TimeoutError, "interrupt-storm: the probe put threw \(error)") }
  try s.buffered.put(-2)
  round.check(try s.buffered.take() == -2 && !s.buffered.isReady, "interrupt-storm: the buffered channel does not give back the probe item")
  round.check(s.semaphore.inUse == 0, "interrupt-storm: \(s.semaphore.inUse) permits still in use after the round (leak)")
  round.check(s.semMeter.most.load() <= s.semaphore.size, "interrupt-storm: \(s.semMeter.most.load()) semaphore holders at once, size \(s.semaphore.size)")
  for _ in 0..<s.semaphore.size { try s.semaphore.acquire(timeout: .seconds(5)) }
  for _ in 0..<s.semaphore.size { s.semaphore.release() }
  round.check(s.semaphore.inUse == 0, "interrupt-storm: the semaphore does not return to 0 in use")
  round.check(s.lockMeter.most.load() <= 1 && !s.lock.isLocked, "interrupt-storm: the lock had \(s.lockMeter.most.load()) holders at once, or is still held")
  round.check(s.condition.isEmpty, "interrupt-storm: a waiter is still linked on the Condition")
  round.check(s.threadsCondition.isEmpty && s.threadsConditionReentrant.isEmpty, "interrupt-storm: a waiter is still linked on a Threads.Condition")
  let returns = s.autoReturns.load() + (s.autoreset.isSet ? 1 : 0)
  round.check(returns <= s.autoNotifies.load(), "interrupt-storm: \(returns) autoreset Event releases for \(s.autoNotifies.load()) notifies")
  s.autoreset.notify()
  round.check(s.autoreset.isSet, "interrupt-storm: an autoreset notify after the round found a waiter still linked")
  s.manual.reset()
  s.manual.notify()
  round.check(s.manual.isSet, "interrupt-storm: the manual Event does not stay set")
  for v in 0..<victims where kindOf[v] == .oneWayEvent {
    round.check(s.oneWay[v].state == .notifying, "interrupt-storm: OneWayEvent \(v) is \(s.oneWay[v].state) after the round")
  }
  // Each wake delivered exactly once.
  var wakes = 0
  for (name, book) in [("Condition", s.conditionBook), ("Threads.Condition", s.threadsBook), ("Threads.Condition(ReentrantLock)", s.reentrantBook)] {
    let m = book.mismatches()
    wakes += m.wakes
    round.check(m.bad == 0, "interrupt-storm: \(name): \(m.bad) notifies whose count differs from the waiters they woke: " + m.first.joined(separator: "; "))
  }
  let scheduled = s.bareScheduled.total, delivered = s.bareDelivered.total, abandoned = s.bareAbandoned.total
  round.check(scheduled == delivered + abandoned,
    "interrupt-storm: bare wait(): \(scheduled) schedules, \(delivered) returned, \(abandoned) left to cancelled victims")
  round.check(s.rearmLost.total == 0 && s.violations.total == 0, "interrupt-storm: \(s.violations.total) violations, \(s.rearmLost.total) lost re-arms")
  round.invariants.add(s.items)
  round.ops.add(s.endings.woken.total + s.endings.timedOut.total + s.endings.interrupted.total + s.endings.cancelled.total + moved)
  round.notes.add("interrupted", s.endings.interrupted.total)
  round.notes.add("cancelled", s.endings.cancelled.total)
  round.notes.add("timed_out", s.endings.timedOut.total)
  round.notes.add("woken", s.endings.woken.total)
  round.notes.add("notify_wakes", wakes)
  round.notes.add("items", moved)
}

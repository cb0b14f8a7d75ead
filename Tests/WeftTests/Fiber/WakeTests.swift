import Foundation
import Testing
@testable import Weft

// Park/wake under contention (FiberState F1–F4): every wait returns exactly once per wake, a
// wake is never lost whether it lands before, during or after the switch out, and a fiber is
// never run by two workers at once (it is never resumed before it has finished switching out).

/// Ledger of one parker/waker pair.
private final class Pair: @unchecked Sendable {
  let rounds: Int
  let registered = Counter()   // round the parker has registered for
  let wakes = Counter()        // wakes sent
  let returns = Counter()      // waits returned
  let onCPU = Counter()        // 1 while the parker's code runs
  let violations = Locked<[String]>([])
  let sawRunning = Counter()   // wakes that found the parker running (before/during its park)
  let sawParked = Counter()    // wakes that found it parked (after the switch out)
  let parker = Locked<AnyFiber?>(nil)
  init(rounds: Int) { self.rounds = rounds }

  func violation(_ s: String) { violations.withLock { if $0.count < 10 { $0.append(s) } } }

  /// The parker: registers for round r, maybe dawdles, parks; checks what it finds on return.
  func parkerBody(randomDelays: Bool) throws {
    parker.withLock { $0 = Fiber.current }
    onCPU.store(1)
    var rng = SplitMix(seed: UInt64(bitPattern: Int64(ObjectIdentifier(self).hashValue)))
    for r in 1...rounds {
      registered.store(r)
      // No yield() here: a yielding fiber is runnable, and waking a runnable fiber is misuse.
      if randomDelays { Pair.dawdle(&rng, mayYield: false) }
      onCPU.store(0)
      _ = try wait()
      if onCPU.exchange(1) != 0 { violation("round \(r): running on two workers at once") }
      let w = wakes.value
      if w != r { violation("round \(r): wait returned with \(w) wakes sent") }
      returns.increment()
    }
  }

  /// The waker: waits for the registration, maybe dawdles, wakes; then waits (yielding) for
  /// that wait to return before the next round, so that it never wakes one wait twice.
  func wakerBody(randomDelays: Bool, spinForRegistration: Bool) {
    var rng = SplitMix(seed: 0x5EED ^ UInt64(rounds))
    let p = { () -> AnyFiber in
      while true { if let f = self.parker.snapshot { return f }; yield() }
    }()
    for r in 1...rounds {
      // Spinning is safe here: the parker returned from round r-1 (it is running, not queued
      // behind us) and registers without blocking.
      while registered.value < r { if spinForRegistration { cpuRelax() } else { yield() } }
      if randomDelays { Pair.dawdle(&rng, mayYield: true) }
      if p.state.loadAcquire() == FiberState.parked { sawParked.increment() } else { sawRunning.increment() }
      wakes.increment()
      schedule(p)
      while returns.value < r { yield() }
    }
  }

  static func dawdle(_ rng: inout SplitMix, mayYield: Bool) {
    let x = rng.next()
    switch x % 4 {
    case 0: return
    case 1: for _ in 0..<(x >> 8) % 64 { cpuRelax() }
    case 2: for _ in 0..<(x >> 8) % 2048 { cpuRelax() }
    default: if mayYield { yield() }
    }
  }
}

struct SplitMix {
  var state: UInt64
  init(seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}

@Suite struct WakeTests {
  static let rounds = underTSan ? 500 : 3000

  /// Several parker/waker pairs of fibers on 4 workers (more workers than cores, so workers
  /// are also preempted mid-switch); random delays on both sides put the wake before, during
  /// and after the parker's switch out.
  /// With `stickyParkers`, the parkers are pinned (wakes go through their home worker's
  /// inbox, from other workers).
  @Test(arguments: [false, true])
  func everyWaitReturnsExactlyOncePerWake(stickyParkers: Bool) throws {
    let pairs = (0..<3).map { _ in Pair(rounds: WakeTests.rounds) }
    try withScheduler(threads: 4) { s in
      var fibers: [Fiber<Void>] = []
      for p in pairs {
        fibers.append(s.spawn(sticky: stickyParkers) { try p.parkerBody(randomDelays: true) })
        fibers.append(s.spawn { p.wakerBody(randomDelays: true, spinForRegistration: false) })
      }
      for f in fibers { try f.wait() }
    }
    for p in pairs {
      #expect(p.violations.snapshot == [])
      #expect(p.returns.value == p.rounds && p.wakes.value == p.rounds)
    }
    // Both sides of the race happened (the sum over pairs, so this is not timing-fragile).
    #expect(pairs.map(\.sawRunning.value).reduce(0, +) > 0)
    #expect(pairs.map(\.sawParked.value).reduce(0, +) > 0)
  }

  /// The waker spins on the registration and wakes at once: the wake lands in the parker's
  /// switch out as often as possible. The parker must never run on two workers at once.
  @Test func immediateWakeNeverRunsTheFiberTwice() throws {
    let pairs = (0..<2).map { _ in Pair(rounds: WakeTests.rounds) }
    try withScheduler(threads: 3) { s in
      var fibers: [Fiber<Void>] = []
      for p in pairs {
        fibers.append(s.spawn { try p.parkerBody(randomDelays: false) })
        fibers.append(s.spawn { p.wakerBody(randomDelays: false, spinForRegistration: true) })
      }
      for f in fibers { try f.wait() }
    }
    for p in pairs {
      #expect(p.violations.snapshot == [])
      #expect(p.returns.value == p.rounds)
    }
  }

  /// A non-worker thread parks (futex) and a fiber wakes it; and the other way round.
  @Test func threadParkerAndThreadWaker() throws {
    let rounds = WakeTests.rounds / 2
    let a = Pair(rounds: rounds)
    let b = Pair(rounds: rounds)
    try withScheduler(threads: 2) { s in
      let waker = s.spawn { a.wakerBody(randomDelays: true, spinForRegistration: false) }
      try onNewThread { try a.parkerBody(randomDelays: true) }
      try waker.wait()

      let parker = s.spawn { try b.parkerBody(randomDelays: true) }
      try onNewThread { b.wakerBody(randomDelays: true, spinForRegistration: false) }
      try parker.wait()
    }
    for p in [a, b] {
      #expect(p.violations.snapshot == [])
      #expect(p.returns.value == rounds)
    }
  }

  /// park(deadline:onTimeout:) racing a wake, with the protocol INTERNALS.md prescribes: the
  /// waiter registers in a slot under a lock; the waker and the timeout each take it out under
  /// the lock and only the one that took it wakes it. The waker aims at the deadline, so both
  /// often act at once. Every wait returns exactly once, a timeout action never runs after its
  /// wait ended (it would time out the fiber's next wait: Timers T3), and no wait reports a
  /// timeout before its own deadline.
  /// With `onThread`, the waiter is a non-worker thread (its timeout runs on that thread).
  @Test(arguments: [false, true])
  func timedParkRacingAWake(onThread: Bool) throws {
    let rounds = underTSan ? 300 : (onThread ? 1000 : 2000)
    final class Slot: @unchecked Sendable {
      let lock = OwnedFutexLock()
      var waiter: AnyFiber?     // guarded by lock
      var timedOut = false      // guarded by lock
      let round = Counter()
      let returned = Counter()
      let deadline = Counter()
    }
    let slot = Slot()
    let problems = Locked<[String]>([])
    try withScheduler(threads: 3) { s in
      let parkerBody = { @Sendable () -> (Int, Int) in
        let me = Fiber.current
        var rng = SplitMix(seed: 7)
        var timeouts = 0
        for r in 1...rounds {
          let delay = 20_000 + rng.next() % 100_000  // 20–120 µs
          let deadline = monotonicNanoseconds() + delay
          slot.lock.lock.withLock { slot.waiter = me; slot.timedOut = false }
          slot.deadline.store(Int(deadline))
          slot.round.store(r)
          me.park(deadline: deadline) {
            let mine = slot.lock.lock.withLock { () -> Bool in
              guard slot.waiter === me else { return false }
              let now = slot.round.value
              if now != r {
                problems.withLock { $0.append("the timeout of round \(r) ran during round \(now), after cancel returned") }
              }
              slot.waiter = nil
              slot.timedOut = true
              return true
            }
            if mine { me.wake() }
          }
          let (stillRegistered, timedOut) = slot.lock.lock.withLock { (slot.waiter != nil, slot.timedOut) }
          if stillRegistered { problems.withLock { $0.append("round \(r): returned while registered") } }
          if timedOut {
            timeouts += 1
            if monotonicNanoseconds() < deadline {
              problems.withLock { $0.append("round \(r): timed out before its deadline") }
            }
          }
          slot.returned.store(r)
        }
        return (timeouts, rounds - timeouts)
      }
      let parker = onThread ? nil : s.spawn(parkerBody)
      let waker = s.spawn {
        var rng = SplitMix(seed: 11)
        for r in 1...rounds {
          while slot.round.value < r { yield() }
          // Wake around the deadline (±5 µs), when the timer is most likely firing too.
          let target = UInt64(slot.deadline.value) &+ rng.next() % 10_000 &- 5_000
          while monotonicNanoseconds() < target && slot.returned.value < r { cpuRelax() }
          let w = slot.lock.lock.withLock { () -> AnyFiber? in
            defer { slot.waiter = nil }
            return slot.waiter
          }
          w?.wake()
          while slot.returned.value < r { yield() }
        }
      }
      let (timeouts, woken) = try parker?.fetch() ?? onNewThread(parkerBody)
      try waker.wait()
      #expect(timeouts + woken == rounds)
      // Both outcomes happened (observed: 50–450 timeouts in 2000 rounds). Under TSan the
      // timings shift so far that one side can win every round: coverage, not correctness.
      if !underTSan { #expect(timeouts > 0 && woken > 0) }
    }
    #expect(problems.snapshot == [])
  }
}

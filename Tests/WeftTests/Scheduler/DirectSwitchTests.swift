import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import Weft

// Direct fiber-to-fiber switches (Worker+Switch.swift D1, D2; Context S4): a fiber that parks,
// yields or finishes while run-next holds the fiber it just woke jumps straight into it. Each
// test would fail with every switch going through the loop (directSwitches would stay 0), or,
// for the policy tests, if direct switches skipped the run-next cap or due timers. On
// 1-worker schedulers, so that nothing is stolen and every hand-off stays on one worker.

@Suite struct DirectSwitchTests {
  /// A ping-pong over two autoreset events: most hand-offs are direct, but the loop still
  /// takes every (RunNextStreak.cap + 1)-th switch (the streak counts direct switches).
  @Test func handOffsSwitchDirectlyWithinTheRunNextCap() throws {
    try withScheduler(threads: 1) { s in
      let rounds = 2_000
      let base = s.metrics
      try s.spawn { () throws -> Void in
        let ping = Event(autoreset: true), pong = Event(autoreset: true)
        let other = spawn {
          for _ in 0..<rounds { try ping.wait(); pong.notify() }
        }
        for _ in 0..<rounds { ping.notify(); try pong.wait() }
        try other.wait()
      }.wait()
      let m = s.metrics
      let direct = m.directSwitches - base.directSwitches
      let parks = m.parks - base.parks
      #expect(direct >= rounds, "only \(direct) of \(parks) parks switched directly")
      // At most runNextCap direct switches in a row, then one through the loop.
      let cap = RunNextStreak.cap
      #expect(direct <= (parks + 2) * cap / (cap + 1) + 2, "\(direct) direct switches for \(parks) parks")
    }
  }

  /// A fiber that finishes while its waiter sits in run-next switches straight to the waiter,
  /// after giving its stack back: the waiter's next child reuses that stack.
  @Test func finishingFiberSwitchesToItsWaiterAndReturnsItsStack() throws {
    try withScheduler(threads: 1) { s in
      let base = s.metrics
      let total = try s.spawn { () throws -> Int in
        var sum = 0
        for i in 0..<100 {
          let gate = Event()
          // The child parks first, so that it has started (and is not run inline by the join).
          let child = spawn { () throws -> Int in try gate.wait(); return i }
          yield()  // let it start and park
          gate.notify()  // the child goes to run-next
          sum += try child.fetch()  // parks; the child runs (direct), finishes, wakes us (direct)
        }
        return sum
      }.fetch()
      #expect(total == (0..<100).reduce(0, +))
      // The root fiber's own finish is counted once its worker switched it out.
      while s.metrics.stacksInUse != 0 { sched_yield() }  // bounded by the watchdog
      let m = s.metrics
      #expect(m.directSwitches - base.directSwitches >= 100)
      // One child stack at a time, reused: the finished child gave it back before we ran.
      #expect(m.stacksInUse == 0)
      #expect(m.stacksCached <= 4, "stacks cached: \(m.stacksCached)")
    }
  }

  /// Two fibers handing off forever do not starve a third one in the deque, nor a timer,
  /// although nearly all of their switches are direct.
  @Test func directHandOffsDoNotStarveQueuedFibersOrTimers() throws {
    try withScheduler(threads: 1) { s in
      let stop = Counter()
      let pair = s.spawn { () throws -> Void in
        let ping = Event(autoreset: true), pong = Event(autoreset: true)
        let other = spawn { while stop.value == 0 { try ping.wait(); pong.notify() }; ping.reset() }
        while stop.value == 0 { ping.notify(); try pong.wait() }
        ping.notify()
        try other.wait()
      }
      // Queued behind the pair (injector), and a sleeper whose timer must fire meanwhile.
      let sleeper = s.spawn { () throws -> Void in try Weft.sleep(for: .milliseconds(1)) }
      let queued = s.spawn { () throws -> Void in try sleeper.wait(); stop.store(1) }
      try queued.wait()
      try pair.wait()
      #expect(s.metrics.directSwitches > 0)
    }
  }

  /// A fiber that wakes another and then yields switches straight to it; the yielder runs
  /// again once the woken fiber parks (it went behind it, as `yield()` promises).
  @Test func yieldSwitchesDirectlyToTheFiberItWoke() throws {
    try withScheduler(threads: 1) { s in
      let rounds = 200
      let base = s.metrics
      let order = try s.spawn { () throws -> [Int] in
        let log = Locked<[Int]>([])
        let go = Event(autoreset: true), back = Event(autoreset: true)
        let other = spawn {
          for i in 0..<rounds { try go.wait(); log.withLock { $0.append(2 * i + 1) }; back.notify() }
        }
        yield()  // let it start and park on `go`
        for i in 0..<rounds {
          go.notify()  // `other` to run-next
          yield()  // direct switch to it: it logs before we do
          log.withLock { $0.append(2 * i + 2) }
          try back.wait()
        }
        try other.wait()
        return log.snapshot
      }.fetch()
      #expect(order == Array(1...(2 * rounds)))
      #expect(s.metrics.directSwitches - base.directSwitches >= rounds)
    }
  }
}

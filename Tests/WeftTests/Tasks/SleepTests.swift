import Testing
@testable import Weft

// sleep(seconds:), sleep(for:) and timedWait: lower bounds only (timing checks are
// one-sided), argument errors, and the 1 ms minimum.

@Suite struct SleepTests {
  private static func elapsed(_ body: () throws -> Void) rethrows -> Double {
    let start = monotonicNanoseconds()
    try body()
    return Double(monotonicNanoseconds() - start) / 1e9
  }

  @Test func sleepLastsAtLeastTheDurationInAFiber() throws {
    let (a, b, c) = try withWatchdog {
      try spawn { () throws -> (Double, Double, Double) in
        (try SleepTests.elapsed { try sleep(seconds: 0.05) },
         try SleepTests.elapsed { try sleep(for: .milliseconds(30)) },
         try SleepTests.elapsed { try sleep(seconds: 0) })  // the minimum is 1 ms
      }.fetch()
    }
    #expect(a >= 0.05)
    #expect(b >= 0.03)
    #expect(c >= 0.001)
  }

  @Test func sleepLastsAtLeastTheDurationOnAThread() throws {
    let (a, b) = try withWatchdog {
      (try SleepTests.elapsed { try sleep(seconds: 0.02) },
       try SleepTests.elapsed { try sleep(for: .microseconds(1)) })
    }
    #expect(a >= 0.02)
    #expect(b >= 0.001)
  }

  @Test func negativeOrNonFiniteDurationsThrowArgumentError() throws {
    #expect(throws: ArgumentError.self) { try sleep(seconds: -1) }
    #expect(throws: ArgumentError.self) { try sleep(seconds: .nan) }
    #expect(throws: ArgumentError.self) { try sleep(seconds: .infinity) }
    #expect(throws: ArgumentError.self) { try sleep(for: .seconds(-1)) }
    let inFiber = try spawn { () -> Bool in
      do { try sleep(seconds: -0.5); return false } catch is ArgumentError { return true }
    }.fetch()
    #expect(inFiber)
  }

  @Test func timedWaitArguments() throws {
    #expect(throws: ArgumentError.self) { _ = try timedWait(timeout: 1, pollInterval: 0.0005) { true } }
    #expect(throws: ArgumentError.self) { _ = try timedWait(timeout: -1) { true } }
    #expect(throws: Boom.self) { _ = try timedWait(timeout: 1) { throw Boom() } }
    // Already true: .ok at once, even with a zero timeout.
    let r = try timedWait(timeout: 0) { true }
    #expect(r == .ok)
    var late: TimedWaitResult?
    let t = try SleepTests.elapsed { late = try timedWait(timeout: 0.02, pollInterval: 0.005) { false } }
    #expect(late == .timedOut)
    #expect(t >= 0.02)
  }

  /// Julia's timedwait polls once more after one poll interval before it gives up, even when
  /// the timeout is shorter than the interval (0 included).
  @Test func timedWaitPollsAgainAfterOneIntervalWhenTheTimeoutIsShorter() throws {
    for onFiber in [false, true] {
      let (second, never, calls, t) = try withWatchdog { () throws -> (TimedWaitResult, TimedWaitResult, Int, Double) in
        let run = { @Sendable () throws -> (TimedWaitResult, TimedWaitResult, Int, Double) in
          var n = 0
          let second = try timedWait(timeout: 0, pollInterval: 0.001) { n += 1; return n == 2 }
          var calls = 0
          var never: TimedWaitResult = .ok
          let t = try SleepTests.elapsed {
            never = try timedWait(timeout: 0.001, pollInterval: 0.01) { calls += 1; return false }
          }
          return (second, never, calls, t)
        }
        return onFiber ? try spawn(run).fetch() : try run()
      }
      #expect(second == .ok)
      #expect(never == .timedOut)
      #expect(calls >= 2)
      #expect(t >= 0.01)  // one-sided: at least one poll interval
    }
  }

  /// Many fibers sleeping different amounts all wake (each after at least its duration).
  @Test func manySleepersAllWake() throws {
    let ok = try withScheduler(threads: 2) { s in
      let fibers = (0..<200).map { i in
        s.spawn { () throws -> Bool in
          let d = Double(i % 20) * 0.001
          return try SleepTests.elapsed { try sleep(seconds: d) } >= max(d, 0.001)
        }
      }
      return try fibers.allSatisfy { try $0.fetch() }
    }
    #expect(ok)
  }
}

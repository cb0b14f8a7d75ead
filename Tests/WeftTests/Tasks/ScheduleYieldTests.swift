import Testing
@testable import Weft

// schedule(t, value:), schedule(t, error:), the bare wait(), yield(t) and yield(to:value:)
// (Julia's schedule, wait(), yield(t, arg) and yieldto).

@Suite struct ScheduleYieldTests {
  /// `schedule(t, val)` wakes a fiber blocked in `wait()`, which returns `val`.
  @Test func scheduleWithValueWakesBareWait() throws {
    try withWatchdog {
      let registered = Latch()
      let me = Locked<AnyFiber?>(nil)
      let t = spawn { () throws -> Int in
        me.withLock { $0 = Fiber.current }
        registered.open()
        return (try wait() as? Int) ?? -1
      }
      registered.wait()
      schedule(try #require(me.snapshot), value: 42)
      #expect(try t.fetch() == 42)
    }
  }

  /// A plain `schedule(t)` of a waiting fiber makes its `wait()` return nil.
  @Test func plainScheduleMakesWaitReturnNil() throws {
    let seen = try withScheduler(threads: 1) { s in
      try s.spawn { () -> [Bool] in
        let t = Fiber { () throws -> Bool in try wait() == nil }
        schedule(t)
        yield()  // t runs and blocks in wait()
        let blocked = t.isStarted && !t.isDone
        schedule(t)
        return [blocked, try t.fetch()]
      }.fetch()
    }
    #expect(seen == [true, true])
  }

  /// `schedule(t, value:)` of a created fiber only starts it: the value is not left behind
  /// for the fiber's first `wait()` (Julia passes it to a task's first switch, where the task
  /// function ignores it).
  @Test func valueGivenWhenStartingIsNotReturnedByALaterWait() throws {
    let seen = try withScheduler(threads: 1) { s in
      try s.spawn { () -> String in
        let t = Fiber { () throws -> String in "\(String(describing: try wait()))" }
        schedule(t, value: 99)
        yield()  // t starts and blocks in wait()
        schedule(t)  // no value
        return try t.fetch()
      }.fetch()
    }
    #expect(seen == "nil")
  }

  /// `schedule(t, err; error=true)`: the waiting fiber's `wait()` throws `err`.
  @Test func scheduleWithErrorMakesWaitThrow() throws {
    let seen = try withScheduler(threads: 1) { s in
      try s.spawn { () -> [Bool] in
        let t = Fiber { () -> Boom? in
          do { _ = try wait(); return nil } catch let e as Boom { return e } catch { return nil }
        }
        schedule(t)
        yield()
        schedule(t, error: Boom(tag: 3))
        return [try t.fetch() == Boom(tag: 3), !t.isFailed]
      }.fetch()
    }
    #expect(seen == [true, true])
  }

  /// `schedule(t, error:)` of a created fiber: it fails with that error without running.
  @Test func scheduleWithErrorFailsACreatedFiberWithoutRunningIt() {
    withWatchdog {
      let ran = Counter()
      let t = Fiber { () -> Int in ran.increment(); return 1 }
      schedule(t, error: Boom(tag: 5))
      #expect(throws: TaskFailedError.self) { try t.wait() }
      #expect(t.isDone && t.isFailed)
      #expect((t.error as? Boom) == Boom(tag: 5))
      #expect(ran.value == 0)
    }
  }

  /// A wake that arrives before the fiber blocks is kept: the next `wait()` returns at once
  /// with the value (the F3 token).
  @Test func scheduleBeforeWaitIsNotLost() throws {
    let seen = try withScheduler(threads: 1) { s in
      try s.spawn { () throws -> Int? in
        schedule(Fiber.current, value: 8)  // running → notified
        return try wait() as? Int
      }.fetch()
    }
    #expect(seen == 8)
  }

  /// `yield(t, arg)`: schedule `t` with `arg` and switch to it before anything else runnable.
  @Test func yieldToAFiberRunsItFirst() throws {
    let log = try withScheduler(threads: 1) { s in
      try s.spawn { () throws -> [String] in
        let log = Locked<[String]>([])
        let b = spawn { () throws -> Void in
          let v = try wait()
          log.withLock { $0.append("B:\(v as? Int ?? -1)") }
        }
        yield()  // b runs and blocks in wait()
        spawn { log.withLock { $0.append("C") } }  // runnable before yield(b)
        yield(b, value: 7)
        log.withLock { $0.append("A") }
        try b.wait()
        return log.snapshot
      }.fetch()
    }
    #expect(log == ["B:7", "C", "A"])
  }

  /// `yieldto(t, arg)`: the first switch starts `t`; the caller is not rescheduled, and runs
  /// again only when something schedules it, then its `yield(to:)` returns that value.
  @Test func yieldToSwitchesAndSuspendsTheCallerUntilScheduled() throws {
    let log = try withScheduler(threads: 1) { s in
      try s.spawn { () throws -> [String] in
        let log = Locked<[String]>([])
        let a = Fiber.current
        let b = Fiber { () throws -> Int in
          log.withLock { $0.append("B started") }
          // `a` is suspended, not runnable: yielding here must not run it.
          for _ in 0..<3 { yield(); log.withLock { $0.append("B yielded") } }
          schedule(a, value: "hello")
          let v = try wait() as? Int ?? -1
          log.withLock { $0.append("B got \(v)") }
          schedule(a, value: "bye")
          return v
        }
        let r1 = try yield(to: b) as? String
        log.withLock { $0.append("A got \(r1 ?? "nil")") }
        let r2 = try yield(to: b, value: 5) as? String
        log.withLock { $0.append("A got \(r2 ?? "nil")") }
        log.withLock { $0.append("B returned \(try! b.fetch())") }
        return log.snapshot
      }.fetch()
    }
    #expect(log == ["B started", "B yielded", "B yielded", "B yielded", "A got hello",
                    "B got 5", "A got bye", "B returned 5"])
  }

  /// `yield(to:)` rethrows an error passed with `schedule(_:error:)`.
  @Test func yieldToThrowsTheErrorItIsScheduledWith() throws {
    let seen = try withScheduler(threads: 1) { s in
      try s.spawn { () -> Bool in
        let a = Fiber.current
        let b = Fiber { schedule(a, error: Boom(tag: 9)) }
        do { _ = try yield(to: b); return false } catch let e as Boom { return e.tag == 9 } catch { return false }
      }.fetch()
    }
    #expect(seen)
  }

  /// `yield()` on a non-worker thread yields the OS thread and returns.
  @Test func yieldOffTheWorkersReturns() {
    yield()
    #expect(Threads.threadid() == 0)
  }
}

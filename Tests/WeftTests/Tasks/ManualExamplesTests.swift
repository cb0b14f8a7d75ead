import Testing
@testable import Weft

// The worked examples of the Julia manual ("Asynchronous Programming", reference/000) and of
// the API reference ("Tasks", reference/003), as Weft code.
//
// In Julia the REPL runs on a worker thread, so `schedule(b); yield()` runs `b` before the
// REPL continues. In Weft the test thread is not a worker (its `yield()` only yields the OS
// thread), so examples that depend on that run inside a fiber on a one-worker scheduler:
// there `schedule` of a sticky fiber pins it to the same worker and `yield()` puts the caller
// behind it, which is exactly Julia's behaviour. Observations are returned out of the fiber
// and checked on the test thread.

@Suite struct ManualExamplesTests {
  /// `b = @task a1(); istaskstarted(b)` → false; `schedule(b); yield(); istaskdone(b)` → true.
  @Test func taskCreatedNotStartedThenScheduleAndYield() throws {
    let seen = try withScheduler(threads: 1) { s in
      try s.spawn { () -> [Bool] in
        let b = Fiber { (1...1000).reduce(0, +) }
        let before = [b.isStarted, b.isDone, b.isFailed]
        schedule(b)
        yield()
        return before + [b.isStarted, b.isDone, b.isFailed, (try? b.fetch()) == 500_500]
      }.fetch()
    }
    #expect(seen == [false, false, false, true, true, false, true])
  }

  /// `Task(a)` created from the test thread: not started until scheduled; `wait(t)` blocks
  /// the thread until it is done (`schedule(t); wait(t)`).
  @Test func scheduleThenWaitFromTheTestThread() throws {
    try withWatchdog {
      let ran = Counter()
      let t = Fiber { ran.increment(); return 42 }
      #expect(!t.isStarted && !t.isDone && ran.value == 0)
      #expect(t.sticky, "Julia's Task(f) is sticky by default")
      schedule(t)
      try t.wait()
      #expect(t.isStarted && t.isDone && !t.isFailed)
      #expect(ran.value == 1)
      #expect(try t.fetch() == 42)
    }
  }

  /// `a4() = error("task failed"); b = Task(a4)`: istaskfailed false before, true after
  /// `schedule(b); yield()`.
  @Test func istaskfailedAfterAnError() throws {
    let seen = try withScheduler(threads: 1) { s in
      try s.spawn { () -> [Bool] in
        let b = Fiber { () throws -> Int in throw Boom(tag: 4) }
        let before = b.isFailed
        schedule(b)
        yield()
        return [before, b.isDone, b.isFailed, (b.error as? Boom) == Boom(tag: 4)]
      }.fetch()
    }
    #expect(seen == [false, true, true, true])
  }

  /// `schedule(b); yield(); istaskstarted(b)` → true, `istaskdone(b)` → true (the schedule
  /// entry's example), with the sticky rule: the created fiber runs on the scheduling worker.
  @Test func scheduleStartsACreatedStickyFiberOnTheCallingWorker() throws {
    let seen = try withScheduler(threads: 2) { s in
      try s.spawn { () -> [Int] in
        let here = Threads.threadid()
        let b = Fiber { Threads.threadid() }
        schedule(b)
        yield()
        return [b.isStarted ? 1 : 0, b.isDone ? 1 : 0, try b.fetch() == here ? 1 : 0]
      }.fetch()
    }
    #expect(seen == [1, 1, 1])
  }

  /// `@async x` is `schedule(@task x)`: in Weft `spawn(sticky: true)`: started at once, sticky,
  /// on the spawning worker.
  @Test func asyncIsStickySpawn() throws {
    let seen = try withScheduler(threads: 2) { s in
      try s.spawn { () -> [Bool] in
        let here = Threads.threadid()
        let t = spawn(sticky: true) { Threads.threadid() }
        return [t.isStarted || !t.isDone, t.sticky, try t.fetch() == here]
      }.fetch()
    }
    #expect(seen == [true, true, true])
  }

  /// `fetch(t)` returns the body's value; `wait(t)` and `fetch(t)` of a failed task throw
  /// TaskFailedException wrapping the task.
  @Test func fetchReturnsValuesAndFailuresWrapTheFiber() throws {
    try withWatchdog {
      #expect(try spawn { "hello" }.fetch() == "hello")
      #expect(try spawn { [1, 2, 3] }.fetch() == [1, 2, 3])
      try spawn { () -> Void in }.wait()

      let t = spawn { () throws -> Int in throw Boom(tag: 7) }
      var caught = 0
      for attempt in 0..<2 {
        do {
          if attempt == 0 { try t.wait() } else { _ = try t.fetch() }
        } catch let e as TaskFailedError {
          #expect(e.fiber === t)
          #expect((e.underlying as? Boom) == Boom(tag: 7))
          #expect("\(e)".contains("Boom(7)"))
          caught += 1
        }
      }
      #expect(caught == 2)
      #expect(t.isFailed)
    }
  }

  /// `cb() = (sleep(5); return); t = @async cb(); timedwait(()->istaskdone(t), 1)` →
  /// `:timed_out`; `timedwait(()->istaskdone(t), 6.5)` → `:ok` (durations scaled down).
  @Test func timedwaitExample() throws {
    let seen = try withScheduler(threads: 1) { s in
      try s.spawn { () -> [TimedWaitResult] in
        let t = spawn(sticky: true) { try sleep(seconds: 0.5) }
        let first = try timedWait(timeout: 0.1) { t.isDone }
        let second = try timedWait(timeout: 5) { t.isDone }
        try t.wait()
        return [first, second]
      }.fetch()
    }
    #expect(seen == [.timedOut, .ok])
  }

  /// The same example with the test thread as the waiter (its polling sleeps block the thread).
  @Test func timedwaitExampleFromTheTestThread() throws {
    try withWatchdog {
      let t = spawn(sticky: true) { try sleep(seconds: 0.5) }
      let first = try timedWait(timeout: 0.1) { t.isDone }
      let second = try timedWait(timeout: 5, pollInterval: 0.01) { t.isDone }
      #expect(first == .timedOut)
      #expect(second == .ok)
      #expect(t.isDone)
    }
  }

  /// `@sync begin Threads.@spawn …threadid()…; Threads.@spawn … end`: both ran (on workers
  /// of the scheduler) before `sync` returns.
  @Test func syncExampleWithThreadIDs() throws {
    let ids = try withScheduler(threads: 2) { s in
      try s.spawn { () -> [Int] in
        var a: Fiber<Int>!
        var b: Fiber<Int>!
        try sync {
          a = spawn { Threads.threadid() }
          b = spawn { Threads.threadid() }
        }
        precondition(a.isDone && b.isDone, "sync returned before its fibers finished")
        return [try a.fetch(), try b.fetch(), Threads.nthreads()]
      }.fetch()
    }
    #expect(ids[2] == 2)
    #expect((1...2).contains(ids[0]) && (1...2).contains(ids[1]))
  }

  /// `wait(c)` example shape with a bare `wait()`: a created task that blocks is not done
  /// until something wakes it (`schedule(task); istaskdone(task)` → false; wake; → true).
  @Test func blockedTaskIsNotDoneUntilWoken() throws {
    let seen = try withScheduler(threads: 1) { s in
      try s.spawn { () -> [Bool] in
        let task = Fiber { () throws -> Int in (try wait() as? Int) ?? -1 }
        schedule(task)
        yield()
        let blocked = !task.isDone && task.isStarted
        schedule(task, value: 1)
        yield()
        return [blocked, task.isDone, try task.fetch() == 1]
      }.fetch()
    }
    #expect(seen == [true, true, true])
  }
}

import Testing
@testable import Weft

/// Fibers running async code: `try awaitAsync { … }` (AwaitAsync.swift).
@Suite("Running async code from fibers")
struct AwaitAsyncTests {
  @Test func aFiberGetsTheTasksValue() throws {
    try withWatchdog {
      let v = try spawn { try awaitAsync { () async -> Int in await Task.yield(); return 7 } }.fetch()
      #expect(v == 7)
    }
  }

  /// The fiber parks, not its worker: with one worker, another fiber runs meanwhile and is
  /// the one that lets the async code finish.
  @Test func theFiberParksNotItsWorker() throws {
    try withWatchdog {
      let s = Scheduler(threads: 1)
      defer { s.shutdown() }
      let gate = AsyncGate()
      let caller = s.spawn { try awaitAsync { await gate.wait(); return "through" } }
      let opener = s.spawn { () -> Void in
        while caller.stateDescription != "parked" { yield() }
        gate.open()
      }
      try opener.wait()
      #expect(try caller.fetch() == "through")
    }
  }

  @Test func theTasksErrorIsRethrown() throws {
    withWatchdog {
      let f = spawn { () throws -> Int in try awaitAsync { () async throws -> Int in throw Boom(tag: 9) } }
      #expect(throws: TaskFailedError.self) { try f.fetch() }
      #expect(f.error as? Boom == Boom(tag: 9))
    }
  }

  @Test func asyncCodeRunsOnTheFibersScheduler() throws {
    try withWatchdog {
      let s = Scheduler(threads: 2)
      defer { s.shutdown() }
      let onWeft = try s.spawn { try awaitAsync { onWorker(of: s) } }.fetch()
      #expect(onWeft)
    }
  }

  /// B3: cancelling the fiber ends its wait at once and cancels the Swift task.
  @Test func cancellingTheFiberCancelsTheTask() throws {
    withWatchdog {
      let sawCancel = AsyncGate()
      let started = Counter()
      let f = spawn { () throws -> Int in
        try awaitAsync { () async -> Int in
          let never = AsyncGate()
          await withTaskCancellationHandler {
            started.store(1)
            await never.wait()
          } onCancel: {
            sawCancel.open()
            never.open()
          }
          return 0
        }
      }
      started.spin { $0 == 1 }
      while f.stateDescription != "parked" { yield() }
      f.cancel()
      #expect(throws: TaskFailedError.self) { try f.fetch() }
      #expect(f.error is CancellationError)
      spinUntil { sawCancel.isOpen }  // the task's cancellation handler ran
    }
  }

  /// B6: the task writes its outcome into the waiting fiber's frame, so once the wait was
  /// interrupted it must not: the fiber has left that frame and reuses the stack. Here the
  /// task ends after the cancelled fiber moved on and filled the same stack region with a
  /// pattern; the pattern must survive, and the outcome must be destroyed (nothing leaks).
  @Test func anAbandonedOutcomeIsDroppedAndNotWrittenIntoTheFrame() throws {
    try withWatchdog { () throws in
      let rounds = underTSan ? 20 : 200
      let dropped = Counter()
      let f = spawn { () throws -> Int in
        let me = Fiber.current
        var intact = 0
        for _ in 0..<rounds {
          let release = AsyncGate()
          let before = dropped.value
          do {
            _ = try awaitAsync { () async -> [DropCounted] in
              me.cancel()  // the fiber is parked here, or about to be (then its wait never starts)
              await release.wait()
              return (0..<8).map { _ in DropCounted(dropped) }
            }
            Issue.record("the cancelled call returned")
          } catch is CancellationError {}
          // Runs in the stack region the call's frame used: the late outcome must not land here.
          // (Yielding, not spinning: the task's next job was queued by this fiber, and this
          // worker runs it at its next loop turn, JobQueue J5.)
          if AwaitAsyncTests.patternSurvives({
            release.open()
            while dropped.value != before + 8 { yield() }
          }) { intact += 1 }
        }
        return intact
      }
      #expect(try f.fetch() == rounds)
      #expect(dropped.value == 8 * rounds)
    }
  }

  /// Fills a stack buffer with a pattern, runs `meanwhile`, and checks the pattern.
  @inline(never)
  static func patternSurvives(_ meanwhile: () -> Void) -> Bool {
    withUnsafeTemporaryAllocation(of: UInt.self, capacity: 64) { buf in
      for i in 0..<64 { buf[i] = 0xA5A5_0000 &+ UInt(i) }
      meanwhile()
      return (0..<64).allSatisfy { buf[$0] == 0xA5A5_0000 &+ UInt($0) }
    }
  }

  @Test func scheduleWithErrorInterruptsTheWait() throws {
    withWatchdog {
      let never = AsyncGate()
      let f = spawn { () throws -> Int in try awaitAsync { await never.wait(); return 0 } }
      while f.stateDescription != "parked" { yield() }
      schedule(f, error: Boom(tag: 4))
      #expect(throws: TaskFailedError.self) { try f.fetch() }
      #expect(f.error as? Boom == Boom(tag: 4))
      never.open()
    }
  }

  @Test func aTimeoutThrowsTimeoutError() throws {
    withWatchdog {
      let never = AsyncGate()
      let f = spawn { () throws -> Int in
        try awaitAsync(timeout: .milliseconds(5)) { await never.wait(); return 0 }
      }
      #expect(throws: TaskFailedError.self) { try f.fetch() }
      #expect((f.error as? TimeoutError)?.operation == "awaitAsync")
      never.open()
    }
  }

  @Test func aCancelledFiberDoesNotStartWaiting() throws {
    withWatchdog {
      let e = Event()
      let f = spawn { () throws -> Int in
        try e.wait()  // cancelled here
        return 0
      }
      while f.stateDescription != "parked" { yield() }
      f.cancel()
      _ = try? f.fetch()
      // A fiber already cancelled: awaitAsync throws at once (its wait never registers).
      let g = Fiber<Int>(sticky: false) { try awaitAsync { 1 } }
      g.cancel()
      schedule(g)
      #expect(throws: TaskFailedError.self) { try g.fetch() }
      #expect(g.error is CancellationError)
    }
  }

  /// From a thread that is not a worker, the call blocks that thread until the task ends.
  @Test func fromAPlainThread() throws {
    try withWatchdog {
      let v = try onNewThread { try awaitAsync { () async -> Int in await Task.yield(); return 11 } }
      #expect(v == 11)
    }
  }

  /// Task-locals: Weft's fiber-local storage is not visible inside the async body.
  @Test func weftTaskLocalStorageStaysWithTheFiber() throws {
    try withWatchdog {
      let seen = try spawn { () throws -> Bool in
        try withTaskLocal("k", 1) {
          try awaitAsync { () async -> Bool in TaskLocalProbe.seenInJob() }
        }
      }.fetch()
      #expect(!seen)
    }
  }

  @Test func manyFibersAwaitAsyncCodeAtOnce() throws {
    try withWatchdog {
      let n = underTSan ? 200 : 2_000
      let fibers = (0..<n).map { i in spawn { try awaitAsync { () async -> Int in await Task.yield(); return i } } }
      var sum = 0
      for f in fibers { sum += try f.fetch() }
      #expect(sum == n * (n - 1) / 2)
    }
  }
}

/// Counts its deinitialisations.
final class DropCounted: Sendable {
  let counter: Counter
  init(_ counter: Counter) { self.counter = counter }
  deinit { counter.increment() }
}

enum TaskLocalProbe {
  /// Whether the current context (a job on a worker: no fiber) sees a Weft task-local "k".
  /// A job has no fiber, so there is no Weft storage to see.
  static func seenInJob() -> Bool { ThreadLocal.fiber != nil }
}

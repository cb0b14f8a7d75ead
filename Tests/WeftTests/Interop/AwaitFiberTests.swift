import Testing
@testable import Weft

/// Async code awaiting fibers: `try await fiber.value`, `await fiber.result` (AwaitFiber.swift).
@Suite("Awaiting fibers from async code")
struct AwaitFiberTests {
  @Test func valueOfAFinishedFiber() async throws {
    try await withAsyncWatchdog {
      let f = spawn { 6 * 7 }
      while !f.isDone { await Task.yield() }  // done before the await
      let v = try await f.value
      #expect(v == 42)
    }
  }

  @Test func valueOfARunningFiberResumesFromItsCompletion() async throws {
    try await withAsyncWatchdog {
      let e = Event()
      let f = spawn { () throws -> String in try e.wait(); return "done" }
      let waiter = Task(executorPreference: Scheduler.shared) { try await f.value }
      // The fiber is blocked until the event: the task must be suspended on it, not done.
      while f.stateDescription != "parked" { await Task.yield() }
      #expect(!f.isDone)
      e.notify()
      let v = try await waiter.value
      #expect(v == "done")
    }
  }

  @Test func aFailedFiberThrowsTaskFailedError() async throws {
    try await withAsyncWatchdog {
      let f = spawn { () throws -> Int in throw Boom(tag: 3) }
      do {
        _ = try await f.value
        Issue.record("expected a throw")
      } catch let e as TaskFailedError {
        #expect(e.fiber === f)
        #expect(e.underlying as? Boom == Boom(tag: 3))
      } catch {
        Issue.record("unexpected \(error)")
      }
    }
  }

  @Test func resultIsASwiftResult() async throws {
    try await withAsyncWatchdog {
      let ok = spawn { "yes" }
      let bad = spawn { () throws -> String in throw Boom(tag: 1) }
      let yes = try await ok.result.get()
      #expect(yes == "yes")
      switch await bad.result {
      case .success: Issue.record("expected a failure")
      case .failure(let e): #expect((e as? TaskFailedError)?.rootCause as? Boom == Boom(tag: 1))
      }
    }
  }

  /// A1: cancelling the awaiting task cancels the fiber, and the await returns its outcome.
  @Test func cancellingTheAwaitingTaskCancelsTheFiber() async throws {
    try await withAsyncWatchdog {
      let never = Event()
      let f = spawn { () throws -> Int in
        do { try never.wait() } catch is CancellationError { return -1 }
        return 0
      }
      let waiter = Task(executorPreference: Scheduler.shared) { try await f.value }
      while f.stateDescription != "parked" { await Task.yield() }
      waiter.cancel()
      let v = try await waiter.value
      #expect(v == -1)  // the fiber saw CancellationError, then returned
      #expect(f.isCancelled)
    }
  }

  @Test func aCancelledFiberThatRethrowsFailsTheAwait() async throws {
    try await withAsyncWatchdog {
      let never = Event()
      let f = spawn { try never.wait() }
      let waiter = Task(executorPreference: Scheduler.shared) { try await f.value }
      while f.stateDescription != "parked" { await Task.yield() }
      waiter.cancel()
      await #expect(throws: TaskFailedError.self) { try await waiter.value }
      #expect(f.error is CancellationError)
    }
  }

  @Test func manyTasksAwaitManyFibers() async throws {
    try await withAsyncWatchdog {
      let n = underTSan ? 200 : 2_000
      let sum = try await withThrowingTaskGroup(of: Int.self) { group in
        for i in 0..<n { group.addTask(executorPreference: Scheduler.shared) { try await spawn { i }.value } }
        return try await group.reduce(0, +)
      }
      #expect(sum == n * (n - 1) / 2)
    }
  }

  /// Completion C5: the first awaiting task waits in the completion's slot, the others as
  /// hooks, beside fibers blocked in `fetch`; the fiber's end resumes each exactly once.
  @Test func severalTasksAndFibersAwaitOneFiber() async throws {
    try await withAsyncWatchdog {
      let e = Event()
      let f = spawn { () throws -> Int in try e.wait(); return 7 }
      let tasks = (0..<5).map { _ in Task(executorPreference: Scheduler.shared) { try await f.value } }
      let fetchers = (0..<3).map { _ in spawn { try f.fetch() } }
      // Every task must be suspended on the fiber before it ends (no other hook is set).
      while f.completionObserverCount < tasks.count { await Task.yield() }
      #expect(!f.isDone)
      e.notify()
      var sum = 0
      for t in tasks { sum += try await t.value }
      for g in fetchers { sum += try await g.value }
      #expect(sum == 8 * 7)
      #expect(f.completionObserverCount == 0)
    }
  }

  @Test func awaitFromATaskOnWeftsExecutor() async throws {
    try await withAsyncWatchdog {
      let s = Scheduler(threads: 2)
      defer { s.shutdown() }
      let t = Task(executorPreference: s) { () async throws -> (Int, Bool) in
        let v = try await s.spawn { 5 }.value
        return (v, onWorker(of: s))
      }
      let (v, onWeft) = try await t.value
      #expect(v == 5)
      #expect(onWeft)
    }
  }
}

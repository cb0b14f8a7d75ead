import Testing
@testable import Weft

/// The scheduler as a Swift `TaskExecutor` (TaskExecutor.swift, JobQueue.swift).
@Suite("Weft as a TaskExecutor")
struct ExecutorTests {
  @Test func taskWithExecutorPreferenceRunsOnAWorker() async throws {
    try await withAsyncWatchdog {
      let s = Scheduler(threads: 2)
      defer { s.shutdown() }
      let t = Task(executorPreference: s) { () async -> (Bool, Bool) in
        let first = onWorker(of: s)
        await Task.yield()
        return (first, onWorker(of: s))
      }
      let (before, after) = await t.value
      #expect(before && after)
    }
  }

  @Test func withTaskExecutorPreferenceRunsTheBodyOnAWorker() async throws {
    try await withAsyncWatchdog {
      let s = Scheduler(threads: 2)
      defer { s.shutdown() }
      let inside = await withTaskExecutorPreference(s) { () async -> Bool in
        await Task.yield()
        // A child task inherits the preference.
        async let child = onWorker(of: s)
        return await child && onWorker(of: s)
      }
      #expect(inside)
    }
  }

  @Test func taskSleepOnTheExecutor() async throws {
    try await withAsyncWatchdog {
      let s = Scheduler(threads: 2)
      defer { s.shutdown() }
      let t = Task(executorPreference: s) { () async throws -> Bool in
        try await Task.sleep(for: .milliseconds(2))
        return onWorker(of: s)
      }
      let onWeft = try await t.value
      #expect(onWeft)
    }
  }

  /// A fiber storm cannot starve the jobs: on one worker, fibers yield until a task that
  /// needs many job hops has finished.
  @Test func fibersDoNotStarveJobs() async throws {
    try await withAsyncWatchdog {
      let s = Scheduler(threads: 1)
      defer { s.shutdown() }
      let jobsDone = Counter()
      let fibers = (0..<50).map { _ in s.spawn { while jobsDone.value == 0 { yield() } } }
      let hops = underTSan ? 200 : 5_000
      let t = Task(executorPreference: s) {
        for _ in 0..<hops { await Task.yield() }
        jobsDone.store(1)
      }
      await t.value
      for f in fibers { try? await f.value }
      #expect(jobsDone.value == 1)
    }
  }

  /// A job storm cannot starve the fibers: on one worker, tasks hop until fibers that need
  /// many slices have finished.
  @Test func jobsDoNotStarveFibers() async throws {
    try await withAsyncWatchdog {
      let s = Scheduler(threads: 1)
      defer { s.shutdown() }
      let fibersDone = Counter()
      let tasks = (0..<50).map { _ in
        Task(executorPreference: s) { while fibersDone.value == 0 { await Task.yield() } }
      }
      let slices = underTSan ? 200 : 5_000
      let f = s.spawn { for _ in 0..<slices { yield() }; fibersDone.store(1) }
      try? await f.value
      for t in tasks { await t.value }
      #expect(fibersDone.value == 1)
    }
  }

  /// Many tasks and fibers together: tasks await fibers and fibers await tasks, all on the
  /// same workers; everything finishes and every result is counted once.
  @Test func manyTasksAndFibersTogether() async throws {
    try await withAsyncWatchdog {
      let s = Scheduler(threads: 2)
      defer { s.shutdown() }
      let n = underTSan ? 100 : 2_000
      let ledger = ItemLedger(count: 2 * n)
      try await withThrowingTaskGroup(of: Void.self) { group in
        for i in 0..<n {
          group.addTask(executorPreference: s) {
            let v = try await s.spawn { i }.value
            ledger.record(v)
          }
        }
        for i in 0..<n {
          group.addTask {
            let v = try await s.spawn { try awaitAsync { await Task.yield(); return n + i } }.value
            ledger.record(v)
          }
        }
        try await group.waitForAll()
      }
      #expect(ledger.missing.isEmpty)
    }
  }

  /// D2: a blocking Weft call from a job on Weft's executor is misuse, named as such.
  @Test func blockingInAJobOnTheExecutorIsMisuse() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      let s = Scheduler(threads: 1)
      await Task(executorPreference: s) { try? Event().wait() }.value
    }
    let text = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
    #expect(text.contains("Weft misuse: a Swift task running on Weft's TaskExecutor"))
    #expect(text.contains("try await fiber.value"))
  }

  /// D1: a blocking call from a Swift task on another thread works (it parks that thread)
  /// and is counted, with one warning per process.
  @Test func blockingFromATaskOffTheWorkersWorksAndWarns() async throws {
    // Needs a cooperative thread, which the suite's long synchronous tests may hold for minutes.
    try await withAsyncWatchdog(600) {
      let before = BlockingFromAsync.blocksInTasks
      let c = Channel<Int>(capacity: 0)
      let putter = spawn { () throws -> Void in
        while !hasTaker(c) { yield() }
        try c.put(3)
      }
      let t = Task.detached { try blockingTake(c) }
      #expect(try await t.value == 3)
      try await putter.value
      #expect(BlockingFromAsync.blocksInTasks > before)
    }
  }

  @Test func theWarningIsPrintedOnce() async {
    let result = await #expect(processExitsWith: .success, observing: [\.standardErrorContent]) {
      for _ in 0..<3 {
        let e = Event()
        let f = spawn { while e.waiterCount == 0 { yield() }; e.notify() }
        await Task.detached { try? e.wait() }.value
        try? f.wait()
      }
    }
    let text = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
    #expect(text.components(separatedBy: "Weft warning: a Swift task blocked its thread").count == 2)
  }

  @Test func jobsAfterShutdownGoToTheGlobalExecutor() async throws {
    // Runs on the cooperative pool (see blockingFromATaskOffTheWorkersWorksAndWarns).
    await withAsyncWatchdog(600) {
      let s = Scheduler(threads: 1)
      s.shutdown()
      let v = await Task(executorPreference: s) { () async -> Int in await Task.yield(); return 1 }.value
      #expect(v == 1)
    }
  }
}

/// An actor on Weft's workers through `WeftSerialExecutor`.
actor WeftCounter {
  let executor: WeftSerialExecutor
  let scheduler: Scheduler
  var value = 0
  var offWeft = 0
  init(_ s: Scheduler) { scheduler = s; executor = WeftSerialExecutor(scheduler: s) }
  nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }
  func bump() {
    value += 1  // not atomic: the executor's serialisation is what keeps this exact (and TSan quiet)
    if !onWorker(of: scheduler) { offWeft += 1 }
  }
}

@Suite("WeftSerialExecutor")
struct SerialExecutorTests {
  @Test func anActorRunsSeriallyOnTheWorkers() async throws {
    try await withAsyncWatchdog {
      let s = Scheduler(threads: 2)
      defer { s.shutdown() }
      let counter = WeftCounter(s)
      let n = underTSan ? 500 : 4_000
      await withTaskGroup(of: Void.self) { group in
        for i in 0..<n {
          if i % 2 == 0 {
            group.addTask { await counter.bump() }
          } else {
            group.addTask(executorPreference: s) { await counter.bump() }
          }
        }
      }
      let (value, off) = await (counter.value, counter.offWeft)
      #expect(value == n)
      #expect(off == 0)
      // Fibers still run alongside.
      let fiberValue = try await s.spawn { 3 }.value
      #expect(fiberValue == 3)
    }
  }
}

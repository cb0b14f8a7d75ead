import Foundation
import Testing
@testable import Weft

/// The workers' own job queues (JobQueue J8, WorkerJobs.swift) and the searching state of a
/// worker that finds only jobs.
@Suite("Job queue: per-worker queues")
struct WorkerJobQueueTests {
  /// A worker woken to search (W2) that finds only Swift jobs must stop counting as
  /// searching: while one worker searches, producers wake nobody. Failed at 3880271: the
  /// woken worker ran the job with the pool's searching count still 1, and kept it for as
  /// long as it found jobs — eight tasks hopping on two workers ran on one, the other asleep.
  @Test func aWorkerThatFindsOnlyJobsStopsSearching() async throws {
    try await withAsyncWatchdog(30) {
      for _ in 0..<(underTSan ? 3 : 20) {
        let s = Scheduler(threads: 2)
        defer { s.shutdown() }
        let seen = Counter()  // the probe's reading + 1
        let blocker = Task(executorPreference: s) { () -> Bool in
          // Hold this worker (not searching: it runs a job) until the probe has run.
          let me = waitUntilTheOtherWorkerParks(s)
          // Queued from a thread that is not a worker: it wakes `other` to search (W2). A
          // plain thread, not `Task.detached`: Swift's global executor can be held by the
          // suite's blocking tests for long (a TSan run of the whole suite hung here).
          Thread { _ = Task(executorPreference: s) { seen.store(s.defaultPool.idle.counts.searching + 1) } }.start()
          while seen.value == 0 { cpuRelax() }
          return Worker.current === me
        }
        #expect(await blocker.value)
        #expect(seen.value - 1 == 0, "the worker running the probe still counted as searching")
      }
    }
  }

  /// J8: tasks queued by a job go to its worker's own queue; the other worker, asleep when
  /// they were queued, is woken at the batch's end and steals half of them, so the hops run
  /// on both workers.
  @Test func hoppingTasksSpreadOverBothWorkers() async throws {
    try await withAsyncWatchdog(60) {
      let s = Scheduler(threads: 2)
      defer { s.shutdown() }
      let ran = (0..<2).map { _ in Counter() }  // hops per worker (by pool index)
      let tasks = Task(executorPreference: s) { () -> [Task<Void, Never>] in
        _ = waitUntilTheOtherWorkerParks(s)
        return (0..<8).map { _ in
          Task(executorPreference: s) {
            // Hop until both workers have run hops: hangs (the watchdog fails it) if the
            // other worker never joins.
            while ran[0].value == 0 || ran[1].value == 0 {
              ran[Worker.current!.poolIndex].increment()
              await Task.yield()
            }
          }
        }
      }
      for t in await tasks.value { await t.value }
      let stolen = s.workers.reduce(0) { $0 + $1.counters.load(.jobSteals) }
      #expect(stolen > 0, "no job moved between the workers' own queues")
    }
  }

  /// J8 (no stranding): jobs in a worker's own queue while that worker runs a fiber that
  /// never yields must be taken by the other worker, asleep until then: the fiber spins
  /// until every task has finished its hops.
  @Test func localJobsDoNotWaitBehindASpinningFiber() async throws {
    for _ in 0..<(underTSan ? 3 : 20) {
      try await withAsyncWatchdog(30) {
        let s = Scheduler(threads: 2)
        defer { s.shutdown() }
        let finished = Counter()
        let taskCount = 4
        let spinner = Task(executorPreference: s) { () -> Fiber<Void> in
          _ = waitUntilTheOtherWorkerParks(s)
          for _ in 0..<taskCount {
            Task(executorPreference: s) {
              for _ in 0..<(3 * JobQueue.batchLimit) { await Task.yield() }
              finished.increment()
            }
          }
          // Pinned to this worker, runnable when this batch ends.
          return s.spawn(sticky: true) { while finished.value < taskCount { cpuRelax() } }
        }
        try await spinner.value.value
        #expect(finished.value == taskCount)
      }
    }
  }

  /// J8 (fairness): a job queued from outside goes to the shared ring, and every batch takes
  /// the shared ring's oldest first, so a task hopping for ever in a worker's own queue
  /// cannot keep it waiting (one worker: nobody else could run it).
  @Test func aJobFromOutsideRunsWhileATaskHops() async {
    await withAsyncWatchdog(30) {
      let s = Scheduler(threads: 1)
      defer { s.shutdown() }
      let released = Counter()
      let hopper = Task(executorPreference: s) { () async -> Int in
        var hops = 0
        while released.value == 0 {
          hops += 1
          await Task.yield()
        }
        return hops
      }
      // From this body, which runs on another scheduler's worker (withAsyncWatchdog): for
      // `s` that is outside, so the job goes to its shared ring.
      await Task(executorPreference: s) { released.store(1) }.value
      #expect(await hopper.value > 0)
    }
  }
}

import Testing
@testable import Weft

/// The batch's next-job slot (JobQueue J6) and the wake-ups around it.
@Suite("Job queue: the next-job slot")
struct JobSlotTests {
  /// J6 keeps FIFO order: jobs a running job queues start in the order queued, and the
  /// queuing job's own continuation (a `Task.yield`) runs after all of them.
  @Test func slottedJobsStartInTheOrderQueued() async throws {
    try await withAsyncWatchdog {
      let s = Scheduler(threads: 1)
      defer { s.shutdown() }
      let log = OrderLog()
      let outer = Task(executorPreference: s) { () async -> [Task<Void, Never>] in
        let tasks = (0..<10).map { i in Task(executorPreference: s) { log.append(i) } }
        await Task.yield()
        log.append(100)
        return tasks
      }
      for t in await outer.value { await t.value }
      #expect(log.items == Array(0..<10) + [100])
    }
  }

  /// A job queued by a job, left over when the batch ends, must not wait for its worker
  /// while that worker runs a fiber that never yields: an idle worker is woken for it.
  /// Failed before J6's `releaseSlot` (and at 96d08d8, with no slot): the hopping task's
  /// continuation sat in the shared ring, queued by a worker (J5: no wake), while that
  /// worker ran the spinning fiber and the other worker slept — for ever.
  @Test func aLeftoverJobDoesNotWaitBehindASpinningFiber() async throws {
    for _ in 0..<(underTSan ? 3 : 20) {
      try await withAsyncWatchdog(30) {
        let s = Scheduler(threads: 2)
        defer { s.shutdown() }
        let released = Counter()
        let t = Task(executorPreference: s) { () async -> Fiber<Void> in
          // Wait (inside this job) until the other worker is asleep, so that only a wake
          // can bring it to the leftover job.
          let me = Worker.current!
          let other = s.workers.first { $0 !== me }!
          while other.status.loadAcquire() != Worker.Status.parked.rawValue { cpuRelax() }
          // Pinned to this worker, and runnable when the hops' batch ends.
          let spinner = s.spawn(sticky: true) { while released.value == 0 { cpuRelax() } }
          for _ in 0..<(3 * JobQueue.batchLimit) { await Task.yield() }
          released.store(1)
          return spinner
        }
        try await t.value.value
        #expect(released.value == 1)
      }
    }
  }
}

/// Integers appended in order under a lock.
final class OrderLog: @unchecked Sendable {
  // SAFETY: guarded by Locked's lock.
  private let state = Locked<[Int]>([])
  func append(_ i: Int) { state.withLock { $0.append(i) } }
  var items: [Int] { state.withLock { $0 } }
}

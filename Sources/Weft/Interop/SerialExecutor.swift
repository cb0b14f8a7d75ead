// An actor's serial executor on Weft's workers: `WeftSerialExecutor`.
//
// Algorithm: a FIFO of the actor's jobs under a short lock, and a `scheduled` flag. The
// enqueue that finds the executor idle queues the executor itself in the scheduler's job
// queue (`QueuedWork.serial`); the worker that pops it runs up to `batchLimit` of its jobs,
// one after another, then either finds it empty (idle again) or queues it once more behind
// the other work (fairness, as JobQueue's batches).
//
// Invariants:
// - S1: `scheduled` is true exactly while one `.serial(self)` entry is queued or being run,
//   so at most one worker runs this executor's jobs at a time: that is the serialisation.
// - S2: a batch counts as one slot of the worker's job batch, and runs at most `batchLimit`
//   jobs of this executor before requeueing it.
// - S3: consecutive jobs run on different workers are ordered by the executor's lock (the
//   worker that clears or keeps `scheduled` releases it; the next acquires it).
//
// | field     | written by (under lock)          | read by (under lock) |
// |-----------|----------------------------------|----------------------|
// | jobs      | enqueue (append), runBatch (pop) | the same             |
// | scheduled | enqueue (set), runBatch (clear)  | the same             |

/// A `SerialExecutor` whose jobs run on a scheduler's default-pool workers, one at a time, in
/// order, between fibers — for actors that should run on Weft:
///
/// ```swift
/// actor Counter {
///   let executor = WeftSerialExecutor(scheduler: .shared)
///   nonisolated var unownedExecutor: UnownedSerialExecutor { executor.asUnownedSerialExecutor() }
/// }
/// ```
///
/// A separate type from `Scheduler` (a `TaskExecutor`, not serial). Its jobs obey the same
/// rule as the task executor's: no blocking Weft calls inside them (`Weft misuse:`); use the
/// async forms. After the scheduler's `shutdown()`, queued jobs run on the thread that
/// enqueues the next one.
public final class WeftSerialExecutor: SerialExecutor, @unchecked Sendable {
  // SAFETY: `jobs` and `scheduled` are guarded by `lock` (S1).
  private let lock = OwnedFutexLock()
  private var jobs = JobRing()
  private var scheduled = false
  /// The scheduler whose workers run the jobs.
  public let scheduler: Scheduler

  /// A serial executor whose jobs run, one at a time and in order, on `scheduler`'s workers.
  public init(scheduler: Scheduler = .shared) { self.scheduler = scheduler }

  deinit { jobs.deallocate() }

  /// Queues `job` behind the jobs already queued; Swift's runtime calls this for an actor
  /// whose `unownedExecutor` is this executor.
  public func enqueue(_ job: consuming ExecutorJob) {
    let unowned = UnownedJob(job)
    lock.lock.lock()
    jobs.append(.job(unowned))
    let schedule = !scheduled
    scheduled = true  // S1
    lock.lock.unlock()
    if schedule { scheduler.jobs.push(.serial(self)) }
  }

  public func asUnownedSerialExecutor() -> UnownedSerialExecutor { UnownedSerialExecutor(ordinary: self) }

  /// Runs up to `batchLimit` jobs on the calling worker (S2), then goes idle or requeues.
  func runBatch() {
    let me = asUnownedSerialExecutor()
    for _ in 0..<JobQueue.batchLimit {
      guard let job = next() else { return }  // idle again (S1)
      job.runSynchronously(on: me)
    }
    lock.lock.lock()
    let more = !jobs.isEmpty
    if !more { scheduled = false }
    lock.lock.unlock()
    if more { scheduler.jobs.push(.serial(self)) }  // S1: still scheduled, behind other work
  }

  /// After shutdown (JobQueue J4): runs every queued job here, in order.
  func runElsewhere() {
    let me = asUnownedSerialExecutor()
    while let job = next() { job.runSynchronously(on: me) }
  }

  /// The next job, or nil after marking the executor idle (S1), under the lock.
  private func next() -> UnownedJob? {
    lock.lock.lock()
    defer { lock.lock.unlock() }
    guard case .job(let j)? = jobs.popFirst() else {
      scheduled = false
      return nil
    }
    return j
  }
}

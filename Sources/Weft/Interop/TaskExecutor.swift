// The scheduler as a Swift `TaskExecutor` (SE-0417): `Task(executorPreference: scheduler)`
// and `withTaskExecutorPreference(scheduler) { … }` run the task's jobs on Weft's default-pool
// workers, between fibers (JobQueue.swift has the queue and the fairness rule).
//
// A `TaskExecutor` is not a `SerialExecutor`: jobs of different tasks run in parallel on
// several workers, and actors keep their own serial executors (an actor method called from a
// task that prefers Weft runs on Weft's workers too, isolated by the actor as usual).
//
// Actors that should live on Weft's workers use the separate `WeftSerialExecutor`
// (SerialExecutor.swift). It does not drain its jobs in a fiber so that they may block: a
// Swift job that parks its fiber mid-run would leave the runtime's thread-local "current
// task/executor" on the worker thread while other jobs and fibers run there, and resume
// under someone else's state. Every Swift job runs to completion on the loop's own stack.

extension Scheduler: TaskExecutor {
  /// Queues `job` to run on one of this scheduler's default-pool workers, between fibers.
  ///
  /// - **Ordering**: jobs queued from outside Weft's jobs start in FIFO order, and so do those
  ///   that the jobs running on one worker queue (they wait on that worker, where idle
  ///   workers steal them); a job queued from outside waits at most one batch per worker
  ///   behind the others. Several workers may run jobs at once;
  ///   whatever the enqueuer did before happens-before the job runs (the queue's lock).
  /// - **Fairness**: between two fibers a worker runs at most 32 jobs, and between two such
  ///   batches one fiber, so neither fibers nor jobs can starve the other.
  /// - **Blocking**: a job must not call blocking Weft operations (`fetch()`, `take()`,
  ///   `wait()`): it runs on the worker's own stack, outside any fiber, so there is nothing
  ///   to park; that is a `Weft misuse:` stop naming the async form (`await fiber.value`,
  ///   `await channel.take()`, or `try await spawn { … }.value`).
  /// - **Shutdown**: once `shutdown()` began, jobs go to Swift's global executor instead.
  public func enqueue(_ job: consuming ExecutorJob) {
    jobs.push(.job(UnownedJob(job)))
  }

  /// This scheduler as the runtime's unowned task-executor reference (`TaskExecutor`).
  public func asUnownedTaskExecutor() -> UnownedTaskExecutor {
    UnownedTaskExecutor(ordinary: self)
  }
}

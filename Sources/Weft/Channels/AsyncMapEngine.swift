// The machinery behind `asyncMap` (Julia's base/asyncmap.jl, `async_usemap` / `maptwice`).
//
// Algorithm: the calling fiber (the driver) walks the input and cuts it into jobs (one
// element, or one batch). Before each job it reads the task limit; while fewer workers than
// the limit exist it starts a new migratable worker fiber and hands it the job directly,
// otherwise it puts the job into a channel that the workers take from. A worker that fails
// records its error (the first one recorded wins, and raises `failed`) and closes the
// channel; the driver's next put then fails, it stops feeding, closes the channel, waits for
// every worker to finish its current job and throws the recorded error. Workers skip the jobs
// still queued once `failed` is up. (The error is kept apart from the channel's close error:
// the driver's own close after the last job may come first.) Results land in a slot per
// input index, so they come out in input order.
//
// Julia's channel is unbuffered; Weft's buffers up to `jobBuffer` (1024) jobs, as the Go twin
// of the benchmark buffers its index channel, so that a free worker finds its next job
// without waiting for the driver to be scheduled. Each time the buffer fills, the driver
// parks and is woken into the run-next slot of a worker whose fiber keeps running, so a
// small buffer makes it run in short bursts: `weft-bench asyncmap work=compute1us n=100000`
// on 2 cores made 15,000–23,000 OS context switches with 64 jobs, 700–3,000 with 1024, and
// 140–700 with 100,000 (no further gain in time). The bound on concurrent fibers, the order
// of results and the error behaviour do not depend on it.
//
// Starting workers lazily, with their first job in hand, makes the number of distinct fibers
// deterministic: min(limit, number of jobs) (Julia starts them all up front and relies on
// them queueing as takers in time).
//
// - A1: slot i is written by exactly one worker (the one that ran the job holding index i).
// - A2: the driver reads the slots only after every worker is done; each worker's writes are
//       ordered before its completion is published (Completion C1), which the driver
//       acquires in `wait()`. The same holds for `AsyncMapFailure.first`.

/// One slot per input element; see A1, A2.
@usableFromInline
final class AsyncMapSlots<R>: @unchecked Sendable {
  // SAFETY: A1 (disjoint writers), A2 (the reader waits for all writers to complete).
  @usableFromInline let base: UnsafeMutablePointer<R?>
  @usableFromInline let count: Int

  @inlinable init(count: Int) {
    self.count = count
    base = .allocate(capacity: max(count, 1))
    base.initialize(repeating: nil, count: count)
  }

  @inlinable deinit {
    base.deinitialize(count: count)
    base.deallocate()
  }

  @inlinable @inline(__always) func store(_ r: R, at i: Int) { base[i] = r }

  /// The results in input order; every slot is filled when no job failed.
  @inlinable func results() -> [R] { (0..<count).map { base[$0].unsafelyUnwrapped } }
}

/// Runs `work` over the jobs that `nextJob` yields, with at most `limit()` worker fibers
/// (re-read before each job; at least 1), and returns when all are done.
/// - Throws: the first error a job threw, after every worker has stopped.
/// How many jobs the driver may queue ahead of the workers.
@usableFromInline let jobBuffer = 1024

@inlinable
func runAsyncMap<Job: Sendable>(nextJob: () -> Job?, limit: () -> Int,
                                work: @escaping @Sendable (Job) throws -> Void) throws {
  let jobs = Channel<Job>(capacity: jobBuffer)
  let failure = AsyncMapFailure()
  var workers: [Fiber<Void>] = []
  while jobs.isOpen, let job = nextJob() {
    if workers.count < max(1, limit()) {
      workers.append(startAsyncMapWorker(first: job, jobs: jobs, failure: failure, work: work))
    } else {
      do { try jobs.put(job) } catch { break }  // closed by a failed worker
    }
  }
  jobs.close()
  for w in workers { try? w.wait() }  // a worker never throws (it records its error)
  if let e = failure.first { throw e }
}

/// The first error a job threw (recorded under a lock; read by the driver after A2).
@usableFromInline
final class AsyncMapFailure: @unchecked Sendable {
  // SAFETY: `error` is guarded by `lock`; `flag` is atomic.
  private let lock = OwnedFutexLock()
  private var error: (any Error)?
  private let flag = AtomicBlock(count: 1)

  @usableFromInline init() {}

  deinit { flag.deallocate() }

  /// Records `e` unless an error was recorded already.
  @usableFromInline func record(_ e: any Error) {
    lock.lock.withLock { if error == nil { error = e } }
    flag[0].storeRelease(1)  // pairs with the acquire in `failed`
  }

  /// True once a job has failed (a hint for skipping queued jobs; `first` is the truth).
  @usableFromInline var failed: Bool { flag[0].loadAcquire() != 0 }

  @usableFromInline var first: (any Error)? { lock.lock.withLock { error } }
}

@inlinable
func startAsyncMapWorker<Job: Sendable>(first: Job, jobs: Channel<Job>, failure: AsyncMapFailure,
                                                work: @escaping @Sendable (Job) throws -> Void) -> Fiber<Void> {
  let fiber = Fiber<Void>(sticky: false) {
    do {
      try work(first)
      for job in jobs where !failure.failed { try work(job) }
    } catch {
      failure.record(error)
      jobs.close()  // stops the driver and the other workers
    }
  }
  schedule(fiber)
  return fiber
}

/// Checks the arguments Julia's `asyncmap` checks; returns the task limit to use.
@usableFromInline
func asyncMapLimit(_ ntasks: Int, batchSize: Int?) throws -> Int {
  guard ntasks >= 0 else {
    throw ArgumentError("asyncMap: ntasks must be a positive number of tasks, 0 for the default (up to 100), or a function (got \(ntasks))")
  }
  if let b = batchSize, b < 1 {
    throw ArgumentError("asyncMap: batchSize must be at least 1 (got \(b))")
  }
  return ntasks == 0 ? 100 : ntasks
}

/// Maps `f` over `elements` (a sequence of exactly `count` items), one job per element.
@inlinable
func asyncMapElements<S: Sequence, R>(_ elements: S, count: Int, limit: () -> Int,
                                      _ f: @escaping @Sendable (S.Element) throws -> R) throws -> [R]
where S.Element: Sendable {
  let slots = AsyncMapSlots<R>(count: count)
  var it = elements.makeIterator()
  var index = 0
  try runAsyncMap(
    nextJob: { () -> AsyncMapJob<S.Element>? in
      guard let e = it.next() else { return nil }
      defer { index += 1 }
      return AsyncMapJob(index: index, element: e)
    },
    limit: limit,
    work: { job in slots.store(try f(job.element), at: job.index) })
  return slots.results()
}

/// Maps a batch function over `elements` cut into batches of at most `batchSize`.
@inlinable
func asyncMapBatches<S: Sequence, R>(_ elements: S, count: Int, batchSize: Int, limit: () -> Int,
                                     _ f: @escaping @Sendable ([S.Element]) throws -> [R]) throws -> [R]
where S.Element: Sendable {
  let slots = AsyncMapSlots<R>(count: count)
  var it = elements.makeIterator()
  var index = 0
  try runAsyncMap(
    nextJob: { () -> AsyncMapJob<[S.Element]>? in
      var batch: [S.Element] = []
      batch.reserveCapacity(batchSize)
      while batch.count < batchSize, let e = it.next() { batch.append(e) }
      if batch.isEmpty { return nil }
      defer { index += batch.count }
      return AsyncMapJob(index: index, element: batch)
    },
    limit: limit,
    work: { job in
      let out = try f(job.element)
      guard out.count == job.element.count else {
        throw ArgumentError("asyncMap: the batch function returned \(out.count) results for a batch of \(job.element.count)")
      }
      for (k, r) in out.enumerated() { slots.store(r, at: job.index + k) }
    })
  return slots.results()
}

/// A job: the index of its (first) element and the element (or batch).
@usableFromInline
struct AsyncMapJob<Element: Sendable>: Sendable {
  @usableFromInline let index: Int
  @usableFromInline let element: Element
  @inlinable init(index: Int, element: Element) {
    self.index = index
    self.element = element
  }
}

/// Throws unless the two lengths are equal (element-wise mapping needs equal lengths).
@usableFromInline
func checkEqualLengths(_ a: Int, _ b: Int) throws {
  guard a == b else {
    throw ArgumentError("asyncMap: the collections have different lengths (\(a) and \(b)); element-wise mapping needs equal lengths")
  }
}

/// Writes `values` into the first `values.count` positions of `results` (asyncMap(into:)).
@inlinable
func copyAsyncMapResults<Results: MutableCollection, R>(_ values: [R], into results: inout Results)
where Results.Element == R {
  var i = results.startIndex
  for v in values {
    results[i] = v
    results.formIndex(after: &i)
  }
}

@usableFromInline
func checkResultsRoom(_ room: Int, _ needed: Int) throws {
  guard room >= needed else {
    throw ArgumentError("asyncMap(into:): results holds \(room) elements but there are \(needed) inputs")
  }
}

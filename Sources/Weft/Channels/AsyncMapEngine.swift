// The machinery behind `asyncMap` (Julia's base/asyncmap.jl, `async_usemap` / `maptwice`).
//
// Algorithm: the calling fiber (the driver) walks the input and cuts it into jobs (one
// element, or one batch). Before each job it reads the task limit; while fewer workers than
// the limit exist it starts a new migratable worker fiber and hands it the job directly,
// otherwise it puts the job into an unbuffered channel that the workers take from. A worker
// that fails records its error (the first one recorded wins) and closes the channel; the
// driver's next put then fails, it stops feeding, closes the channel, waits for every worker
// to finish its current job and throws the recorded error. (The error is kept apart from the
// channel's close error: the driver's own close after the last job may come first.) Results land in a
// slot per input index, so they come out in input order.
//
// Starting workers lazily, with their first job in hand, makes the number of distinct fibers
// deterministic: min(limit, number of jobs) (Julia starts them all up front and relies on
// them queueing as takers in time).
//
// - A1: slot i is written by exactly one worker (the one that ran the job holding index i).
// - A2: the driver reads the slots only after every worker is done; each worker's writes are
//       ordered before its completion is published (Completion C1), which the driver
//       acquires in `waitUntilDone`. The same holds for `AsyncMapFailure.first`.

/// One slot per input element; see A1, A2.
final class AsyncMapSlots<R>: @unchecked Sendable {
  // SAFETY: A1 (disjoint writers), A2 (the reader waits for all writers to complete).
  private let base: UnsafeMutablePointer<R?>
  let count: Int

  init(count: Int) {
    self.count = count
    base = .allocate(capacity: max(count, 1))
    base.initialize(repeating: nil, count: count)
  }

  deinit {
    base.deinitialize(count: count)
    base.deallocate()
  }

  @inline(__always) func store(_ r: R, at i: Int) { base[i] = r }

  /// The results in input order; every slot is filled when no job failed.
  func results() -> [R] { (0..<count).map { base[$0].unsafelyUnwrapped } }
}

/// Runs `work` over the jobs that `nextJob` yields, with at most `limit()` worker fibers
/// (re-read before each job; at least 1), and returns when all are done.
/// - Throws: the first error a job threw, after every worker has stopped.
func runAsyncMap<Job: Sendable>(nextJob: () -> Job?, limit: () -> Int,
                                work: @escaping @Sendable (Job) throws -> Void) throws {
  let jobs = Channel<Job>(capacity: 0)
  let failure = AsyncMapFailure()
  var workers: [AnyFiber] = []
  while jobs.isOpen, let job = nextJob() {
    if workers.count < max(1, limit()) {
      workers.append(startAsyncMapWorker(first: job, jobs: jobs, failure: failure, work: work))
    } else {
      do { try jobs.put(job) } catch { break }  // closed by a failed worker
    }
  }
  jobs.close()
  for w in workers { w.waitUntilDone() }
  if let e = failure.first { throw e }
}

/// The first error a job threw (recorded under a lock; read by the driver after A2).
final class AsyncMapFailure: @unchecked Sendable {
  // SAFETY: `error` is guarded by `lock`.
  private let lock = OwnedFutexLock()
  private var error: (any Error)?

  /// Records `e` unless an error was recorded already.
  func record(_ e: any Error) {
    lock.lock.withLock { if error == nil { error = e } }
  }

  var first: (any Error)? { lock.lock.withLock { error } }
}

private func startAsyncMapWorker<Job: Sendable>(first: Job, jobs: Channel<Job>, failure: AsyncMapFailure,
                                                work: @escaping @Sendable (Job) throws -> Void) -> AnyFiber {
  let fiber = Fiber<Void>(sticky: false) {
    do {
      try work(first)
      for job in jobs { try work(job) }
    } catch {
      failure.record(error)
      jobs.close()  // stops the driver and the other workers
    }
  }
  schedule(fiber)
  return fiber
}

/// Checks the arguments Julia's `asyncmap` checks; returns the task limit to use.
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
struct AsyncMapJob<Element: Sendable>: Sendable {
  let index: Int
  let element: Element
}

/// Throws unless the two lengths are equal (element-wise mapping needs equal lengths).
func checkEqualLengths(_ a: Int, _ b: Int) throws {
  guard a == b else {
    throw ArgumentError("asyncMap: the collections have different lengths (\(a) and \(b)); element-wise mapping needs equal lengths")
  }
}

/// Writes `values` into the first `values.count` positions of `results` (asyncMap(into:)).
func copyAsyncMapResults<Results: MutableCollection, R>(_ values: [R], into results: inout Results)
where Results.Element == R {
  var i = results.startIndex
  for v in values {
    results[i] = v
    results.formIndex(after: &i)
  }
}

func checkResultsRoom(_ room: Int, _ needed: Int) throws {
  guard room >= needed else {
    throw ArgumentError("asyncMap(into:): results holds \(room) elements but there are \(needed) inputs")
  }
}

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
// - A3: a sequence of unknown length gets `AsyncMapGrowingSlots`, segments of 1024, 2048,
//       4096, … slots that never move. The driver allocates the segments a job's indices fall
//       in (and writes the segment table) before it hands the job out; the hand-out (a fiber's
//       start, or a channel put that happens-before its take) orders that write before the
//       worker's `store`. Workers never write the table, only slots of allocated segments.

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

/// Where the workers put results: `AsyncMapSlots` (length known up front) or
/// `AsyncMapGrowingSlots` (any sequence).
@usableFromInline
protocol AsyncMapResultStore<Result>: AnyObject, Sendable {
  associatedtype Result
  /// Driver only, before handing out a job: makes slots `0..<end` writable.
  func reserve(upTo end: Int)
  /// A worker: stores the result for input index `i` (A1).
  func store(_ r: Result, at i: Int)
  /// The driver, after every worker is done (A2): the first `count` results in input order.
  func results(count: Int) -> [Result]
}

extension AsyncMapSlots: AsyncMapResultStore {
  @inlinable func reserve(upTo end: Int) {}
  @inlinable func results(count: Int) -> [R] { results() }
}

/// Result slots for an input of unknown length: segments that double in size and never move
/// (A3), found through a fixed table of 48 segments (room for 2^58 elements).
@usableFromInline
final class AsyncMapGrowingSlots<R>: AsyncMapResultStore, @unchecked Sendable {
  // SAFETY: slots as A1, A2; the table and `segments` are written only by the driver, and a
  // segment's table entry is written before any job with an index in it is handed out (A3).
  @usableFromInline static var firstSegment: Int { 1024 }
  @usableFromInline static var maxSegments: Int { 48 }
  @usableFromInline let table: UnsafeMutablePointer<UnsafeMutablePointer<R?>?>
  @usableFromInline var segments = 0  // driver only
  @usableFromInline var capacity = 0  // driver only: slots in the allocated segments

  @inlinable init() {
    table = .allocate(capacity: Self.maxSegments)
    table.initialize(repeating: nil, count: Self.maxSegments)
  }

  @inlinable deinit {
    for k in 0..<segments {
      table[k].unsafelyUnwrapped.deinitialize(count: Self.firstSegment << k)
      table[k].unsafelyUnwrapped.deallocate()
    }
    table.deallocate()
  }

  @inlinable func reserve(upTo end: Int) {
    while capacity < end {
      precondition(segments < Self.maxSegments, "BUG IN Weft: asyncMap result table full at \(capacity) slots")
      let size = Self.firstSegment << segments
      let segment = UnsafeMutablePointer<R?>.allocate(capacity: size)
      segment.initialize(repeating: nil, count: size)
      table[segments] = segment  // A3: before the job holding these indices is handed out
      segments += 1
      capacity += size
    }
  }

  /// Segment k holds indices firstSegment·(2^k − 1) ..< firstSegment·(2^(k+1) − 1).
  @inlinable @inline(__always) func slot(_ i: Int) -> UnsafeMutablePointer<R?> {
    let q = i / Self.firstSegment + 1
    let k = Int.bitWidth - 1 - q.leadingZeroBitCount
    return table[k].unsafelyUnwrapped + (i - Self.firstSegment * ((1 << k) - 1))
  }

  @inlinable @inline(__always) func store(_ r: R, at i: Int) { slot(i).pointee = r }

  @inlinable func results(count: Int) -> [R] { (0..<count).map { slot($0).pointee.unsafelyUnwrapped } }
}

/// An input whose end can carry an error: a `Channel` closed with `close(error:)` (or by a
/// failed bound fiber). asyncMap throws that error once the input has ended and every fiber
/// has finished, as `Channel.collect()` does.
@usableFromInline
protocol AsyncMapErrorEndedInput {
  var asyncMapEndError: (any Error)? { get }
}

extension Channel: AsyncMapErrorEndedInput {
  @usableFromInline var asyncMapEndError: (any Error)? { closeErrorIfAny }
}

/// Throws the error `input` ended with, if it is a channel closed with an error (called after
/// a successful mapping of a sequence of unknown length).
@inlinable
func throwInputEndError<S: Sequence>(_ input: S) throws {
  if let e = (input as? any AsyncMapErrorEndedInput)?.asyncMapEndError { throw e }
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
  try asyncMapElements(elements, slots: AsyncMapSlots<R>(count: count), limit: limit, f)
}

/// Maps `f` over `elements`, one job per element, storing the results in `slots`.
@inlinable
func asyncMapElements<S: Sequence, Store: AsyncMapResultStore>(
  _ elements: S, slots: Store, limit: () -> Int, _ f: @escaping @Sendable (S.Element) throws -> Store.Result
) throws -> [Store.Result] where S.Element: Sendable {
  var it = elements.makeIterator()
  var index = 0
  try runAsyncMap(
    nextJob: { () -> AsyncMapJob<S.Element>? in
      guard let e = it.next() else { return nil }
      defer { index += 1 }
      slots.reserve(upTo: index + 1)
      return AsyncMapJob(index: index, element: e)
    },
    limit: limit,
    work: { job in slots.store(try f(job.element), at: job.index) })
  return slots.results(count: index)
}

/// Maps a batch function over `elements` cut into batches of at most `batchSize`.
@inlinable
func asyncMapBatches<S: Sequence, R>(_ elements: S, count: Int, batchSize: Int, limit: () -> Int,
                                     _ f: @escaping @Sendable ([S.Element]) throws -> [R]) throws -> [R]
where S.Element: Sendable {
  try asyncMapBatches(elements, slots: AsyncMapSlots<R>(count: count), batchSize: batchSize, limit: limit, f)
}

/// Maps a batch function over `elements` cut into batches, storing the results in `slots`.
@inlinable
func asyncMapBatches<S: Sequence, Store: AsyncMapResultStore>(
  _ elements: S, slots: Store, batchSize: Int, limit: () -> Int,
  _ f: @escaping @Sendable ([S.Element]) throws -> [Store.Result]
) throws -> [Store.Result] where S.Element: Sendable {
  var it = elements.makeIterator()
  var index = 0
  try runAsyncMap(
    nextJob: { () -> AsyncMapJob<[S.Element]>? in
      var batch: [S.Element] = []
      batch.reserveCapacity(batchSize)
      while batch.count < batchSize, let e = it.next() { batch.append(e) }
      if batch.isEmpty { return nil }
      defer { index += batch.count }
      slots.reserve(upTo: index + batch.count)
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
  return slots.results(count: index)
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

// One worker's own Swift jobs (JobQueue J8): the jobs its batches queue behind its slot, in a
// FIFO that the owner pushes and pops and that other workers steal half of when they have
// nothing to run (Tokio's local run queue; Go's `runqsteal`).
//
// Algorithm: a lock-protected `JobRing` per worker, its lock and count on one 128-byte line
// that only the owner touches while nobody steals. Tokio's local queue is lock-free (a CAS on
// its head per pop); here an uncontended lock on a line the owner holds costs the same two
// atomic operations per push or pop, and a steal is a lock hold instead of a CAS loop over a
// batch. A job hop is ~300 ns of Swift runtime work; what bounded eight tasks hopping on two
// workers was the shared ring: every hop took its lock, and its lines moved between the
// workers (Docs/Benchmarks.md).
//
// Invariants:
// - L1: `countWord` equals the ring's length whenever the lock is free; read without the
//   lock only as a hint (the owner, to skip the lock when empty; thieves and parking workers).
// - L2: only the owner pushes (from its batches); thieves only take. So the owner's view
//   "empty" is final until it pushes again, and its view "not empty" may be stale (a thief
//   emptied it): the owner's flag (JobQueue J8) is cleared only by a batch that found nothing.
// - L3: a thief moves jobs out under the victim's lock into a buffer, and releases that lock
//   before it touches its own queue: no thread ever holds two of these locks.
//
// | field     | written by                           | read by                          |
// |-----------|--------------------------------------|----------------------------------|
// | ring      | owner push/pop, thieves (under lock) | the same, under the lock         |
// | countWord | the same (release, under the lock)   | owner, thieves, parking workers  |

/// Worker i's part of the job queue (JobQueue J6–J8), alone on a 128-byte line: its owner
/// writes the slot and the flags at every hop. Kept in per-field arrays, the workers' flags
/// and slots shared lines, and with two workers running jobs every hop waited for a line the
/// other worker had just written (Docs/Benchmarks.md, step 7).
///
/// | field        | written by                        | read by        |
/// |--------------|-----------------------------------|----------------|
/// | slot         | the owner (J6)                    | the owner      |
/// | hasWork      | the owner (J6, J8)                | the owner      |
/// | startingTask | the owner's running fiber (J7)    | the owner      |
/// | queue        | see LocalJobQueue                 | see LocalJobQueue |
struct WorkerJobs {
  /// J6: the batch's next job.
  var slot: QueuedWork? = nil
  /// J6, J8: whether the slot or the queue may hold a job (the owner's view: L2).
  var hasWork = false
  /// J7: set while the owner's running fiber starts the task it is about to park for.
  var startingTask = false
  /// J8: the owner's own queue (its lock and count are on a line of their own).
  let queue = LocalJobQueue()

  /// The bytes each worker's block takes: a line pair of its own (as PaddedAtomicBlock).
  static let stride = 128

  /// Room for `count` blocks, each on its own lines; freed by `deallocate(_:count:)`.
  static func allocate(count: Int) -> UnsafeMutableRawPointer {
    precondition(MemoryLayout<WorkerJobs>.stride <= stride, "WorkerJobs outgrew its line")
    let raw = UnsafeMutableRawPointer.allocate(byteCount: count * stride, alignment: stride)
    for i in 0..<count { (raw + i * stride).initializeMemory(as: WorkerJobs.self, to: WorkerJobs()) }
    return raw
  }

  /// Block `i` of `raw` (from `allocate`).
  @inline(__always) static func at(_ raw: UnsafeMutableRawPointer, _ i: Int) -> UnsafeMutablePointer<WorkerJobs> {
    (raw + i &* stride).assumingMemoryBound(to: WorkerJobs.self)
  }

  static func deallocate(_ raw: UnsafeMutableRawPointer, count: Int) {
    for i in 0..<count {
      let block = at(raw, i)
      block.pointee.queue.deallocate()
      block.deinitialize(count: 1)
    }
    raw.deallocate()
  }
}

/// The Swift jobs queued on one worker (JobQueue J8). A pair of pointers, copied freely (no
/// reference counting on the hop path); `JobQueue` owns the storage and frees it once.
struct LocalJobQueue: @unchecked Sendable {
  // SAFETY: `ring`'s pointee is touched only under the lock; the words are atomic.
  private let words = PaddedAtomicBlock(count: 1)  // [0]: lock, [0, 1]: count (L1)
  private let ring: UnsafeMutablePointer<JobRing>
  private var lock: FutexLock { FutexLock(words[0]) }
  private var countWord: AtomicWord { words[0, 1] }

  init() {
    ring = .allocate(capacity: 1)
    ring.initialize(to: JobRing())
  }

  /// Called once, by the job queue's deinit (jobs still queued are dropped, as the shared
  /// ring's are: workers run every queued job before they stop, J4).
  func deallocate() {
    ring.pointee.deallocate()
    ring.deinitialize(count: 1)
    ring.deallocate()
    words.deallocate()
  }

  /// Jobs queued here now (L1: a hint; acquire pairs with the stores under the lock).
  var approximateCount: Int { Int(countWord.loadAcquire()) }

  /// Owner: whether the queue is empty (L2: exact for the owner when it says empty).
  @inline(__always) var ownerSeesEmpty: Bool { countWord.loadRelaxed() == 0 }

  /// Owner: queues `work` last.
  func push(_ work: QueuedWork) {
    lock.lock()
    ring.pointee.append(work)
    countWord.storeRelease(UInt(ring.pointee.count))  // L1: pairs with the thieves' acquire loads
    lock.unlock()
  }

  /// Owner: the oldest job, or nil.
  @inline(__always)
  func pop() -> QueuedWork? {
    if countWord.loadRelaxed() == 0 { return nil }  // L2: nobody else pushes
    lock.lock()
    let work = ring.pointee.popFirst()
    countWord.storeRelease(UInt(ring.pointee.count))  // L1
    lock.unlock()
    return work
  }

  /// Thief: takes the older half of the jobs (at least one when any is queued), oldest first.
  func stealHalf() -> [QueuedWork] {
    if countWord.loadAcquire() == 0 { return [] }  // L1 hint
    var taken: [QueuedWork] = []
    taken.reserveCapacity(Int(countWord.loadRelaxed()) / 2 + 1)  // outside the lock (a hint)
    lock.lock()
    let n = (ring.pointee.count + 1) / 2
    for _ in 0..<n {
      guard let work = ring.pointee.popFirst() else { break }
      taken.append(work)
    }
    countWord.storeRelease(UInt(ring.pointee.count))  // L1
    lock.unlock()  // L3: before the thief pushes into its own queue
    return taken
  }
}

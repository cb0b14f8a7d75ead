// Swift jobs on Weft's workers: the queue behind `Scheduler: TaskExecutor` (TaskExecutor.swift).
//
// Algorithm: a shared FIFO per scheduler, a lock-protected ring like the pool injector
// (Tokio's inject queue), for jobs queued from anywhere, and per default-pool worker a slot
// and a queue of its own (J6, J8; Tokio's LIFO slot and local run queue) for the jobs its
// batches queue, which idle workers steal half of. A worker's loop calls `runBatch(on:)`
// (one relaxed load of `pendingWord` and one owner-only flag when there are no jobs) before
// it picks its next fiber, and runs at most `batchLimit` jobs there. So fibers and jobs alternate:
// between two fibers a worker runs at most `batchLimit` jobs, and between two batches it runs
// one fiber — a storm of either cannot starve the other (both are tested, InteropExecutorTests).
// Jobs run on the worker's own stack, outside any fiber (no fiber is current).
//
// Invariants:
// - J1: `pendingWord` equals the ring's length whenever the lock is free; read without the
//   lock only as a hint (to skip the lock when empty, and by idle workers, W1).
// - J2 (no lost wake, W1): `push` stores the new count with release, then `Pool.notifyWork`
//   issues a full fence and wakes a parked worker; a parking worker fences (parkIdle) and
//   then reads `pendingWord` in `Worker.workVisible`. One of the two sees the other.
// - J3: whether worker i runs a batch is its own `Worker.Local.runningJobs`, written only by
//   worker i (around its batch) and read only by the same thread (its own pushes, its spawns
//   (Worker W4), and the blocking-call check), so it needs no atomics.
// - J5 (locality, like the run-next slot): a push of the only pending job by a default-pool
//   worker of this scheduler wakes nobody; that worker polls the queue at its next loop turn,
//   and other workers see the job when they look for work. A fiber that queues a job and
//   then computes for long delays it by as much (the same trade as `pushRunNext`).
// - J6 (the batch's next-job slot, Tokio's LIFO slot made FIFO-safe): a job pushed by the
//   worker that is running a batch (a `Task.yield`, a continuation resumed by a job) goes to
//   that worker's slot if the slot and the worker's own queue (J8) are empty, else behind
//   them in that queue, so the worker's jobs start in the order queued. A job left in the
//   slot when the batch ends stays there while the worker's loop looks for a fiber; a worker
//   with jobs of its own (`WorkerJobs.hasWork`) runs another batch instead of searching or parking,
//   and before it runs a fiber the slot's job goes to the shared ring and an idle worker is
//   woken for it (`releaseSlot`). So a slotted job is invisible to other workers only while
//   this worker runs jobs. One task hopping on a 2-worker scheduler no longer moves between
//   workers at every batch, each move a cache miss and a searching worker woken.
// - J8 (per-worker queues, Tokio's local run queue): the jobs a worker's batches queue while
//   its slot is full wait in its own `LocalJobQueue`, which other default-pool workers steal
//   half of when they find no fiber (`stealJobs`, from `Worker.searchForWork`) and which
//   parking workers look at (W1). The first job of every batch comes from the shared ring if
//   it holds any, so jobs queued from elsewhere wait at most one batch per worker behind the
//   local ones (Tokio takes from its inject queue every 61st task). An idle worker is woken
//   for local jobs at the end of a batch that leaves some, if one is seen parked (an acquire
//   load: a stale answer costs parallelism, never a job: the owner runs them), and after a
//   full fence before this worker runs a fiber (`releaseSlot`: no job waits behind a fiber
//   that computes for long). Eight tasks hopping on two workers took the shared ring's lock
//   twice per hop, and the other worker never woke: a hop refilled the slot and swapped
//   with the ring without changing its count, the only event that woke anyone.
//   `hasWork` (WorkerJobs) is worker i's own view: set by its pushes and its steals, cleared by a
//   batch that finds its slot and queue empty (a thief may have emptied the queue: L2).
// - J7 (a fiber about to park for the task it starts: `awaitAsync`): while the fiber starts
//   the task (`WorkerJobs.startingTask`), the task's first job goes to its worker's slot as if
//   a batch queued it (J6). The fiber parks right after, and the loop (which never switches
//   fiber to fiber while the slot is full, Worker+Switch D1) runs the job; if the fiber does
//   not park (its wait was interrupted first), it releases the slot itself before going on
//   (`AsyncCallSite.releaseSlotIfNotParked`). The flag is set only between `beginStartingTask` and
//   `endStartingTask` (AwaitAsync.swift), around the task's creation. In the shared ring the job was taken at almost every call by
//   the other worker, spinning or about to park, and the fiber followed the job's wake there.
// - J4: after shutdown began, a job pushed here is moved to Swift's global executor by the
//   pusher (after a full fence it sees the flag, or a worker still running sees the job):
//   each job is popped under the lock exactly once, by a worker or by a pusher's drain.
//
// | field         | written by                       | read by                          |
// |---------------|----------------------------------|----------------------------------|
// | ring          | push, pop (under lock)           | push, pop (under lock)           |
// | pendingWord   | push, pop (release, under lock)  | workers' loops and idle check    |
// | perWorker[i]  | see WorkerJobs (J6–J8)           | see WorkerJobs                   |

/// The jobs enqueued on one scheduler's `TaskExecutor`.
final class JobQueue: @unchecked Sendable {
  // SAFETY: `ring` is touched only under the lock; the words are atomic.
  private let words = AtomicBlock(count: 3)  // 0: lock, 1: pending count (J1), 2: always 0
  /// J6–J8: each worker's slot, flags and own queue (WorkerJobs.swift), a block per worker.
  private let perWorker: UnsafeMutableRawPointer
  private let slotCount: Int
  private var lock: FutexLock { FutexLock(words[0]) }
  /// The pending-job count (J1).
  private var pendingWord: AtomicWord { words[1] }

  /// The word a worker of `pool` caches and polls: the pending count for the default pool,
  /// a word that stays 0 for the others (they run no jobs).
  func pendingWord(for pool: Pool) -> AtomicWord { pool === scheduler.defaultPool ? words[1] : words[2] }
  @exclusivity(unchecked) private var ring = JobRing()  // under the lock (J1): no dynamic check
  // SAFETY (unowned(unsafe)): the scheduler owns this queue; it sets this once in its init,
  // before any worker or executor user exists.
  unowned(unsafe) var scheduler: Scheduler!

  /// Jobs a worker runs before it looks at its fibers again.
  static let batchLimit = 32

  init(workerCount: Int) {
    slotCount = max(workerCount, 1)
    perWorker = WorkerJobs.allocate(count: slotCount)
  }

  deinit {
    ring.deallocate()
    words.deallocate()
    WorkerJobs.deallocate(perWorker, count: slotCount)
  }

  /// Worker `index`'s block (J6–J8): the worker caches it (`Worker.ownJobs`); owner only,
  /// but for its queue's thief side.
  @inline(__always) func jobs(of index: Int) -> UnsafeMutablePointer<WorkerJobs> { WorkerJobs.at(perWorker, index) }

  // MARK: Producers

  /// Queues `work` and makes sure a default-pool worker will run it (J2); from a worker
  /// running a batch, or from a fiber starting the task it parks for, into its slot or its
  /// own queue (J6, J7, J8).
  func push(_ work: QueuedWork) {
    // Borrowed, uncounted: a `Worker.current` is a retain and a release per hop.
    if let raw = ThreadLocal.worker {
      let queued = Unmanaged<Worker>.fromOpaque(raw)._withUnsafeGuaranteedRef { w -> Bool in
        let mine = w.ownJobs
        // Its block is in this queue only if it is this scheduler's worker: a pointer compare
        // (`===` on the scheduler counted it, a line every worker writes: step 7).
        guard mine == jobs(of: w.index), w.local.pointee.runningJobs || mine.pointee.startingTask else { return false }
        if case .none = mine.pointee.slot, mine.pointee.queue.ownerSeesEmpty {
          mine.pointee.slot = work  // J6
        } else {
          mine.pointee.queue.push(work)  // J8: behind the slot's job and the older local ones
        }
        mine.pointee.hasWork = true
        return true
      }
      if queued { return }
    }
    pushShared(work)
  }

  /// Queues `work` in the shared ring (J2); `wakeAlways` skips J5's locality rule.
  private func pushShared(_ work: QueuedWork, wakeAlways: Bool = false) {
    lock.lock()
    ring.append(work)
    let count = ring.count
    pendingWord.storeRelease(UInt(count))  // J1, J2: pairs with the worker's loads
    lock.unlock()
    if scheduler.isShuttingDown { drainToGlobalExecutor(); return }  // J4 (flag read with acquire)
    // J5: a default-pool worker of this scheduler that queued the only job runs it at its
    // next loop turn (after its batch, or as soon as the fiber that queued it parks — the
    // usual case: `awaitAsync`, a continuation resumed by a fiber) without waking anyone, as
    // the run-next slot does for woken fibers; otherwise wake an idle worker (W1, W2).
    if !wakeAlways, count == 1, isDefaultPoolWorkerHere { return }
    scheduler.defaultPool.notifyWork()
  }

  /// Whether the calling thread is one of this scheduler's default-pool workers (borrowed,
  /// uncounted, as in `push`).
  private var isDefaultPoolWorkerHere: Bool {
    guard let raw = ThreadLocal.worker else { return false }
    return Unmanaged<Worker>.fromOpaque(raw)._withUnsafeGuaranteedRef { $0.runsJobs && $0.ownJobs == jobs(of: $0.index) }
  }

  private func pop() -> QueuedWork? {
    if pendingWord.loadAcquire() == 0 { return nil }  // J1 hint; pairs with push's release
    lock.lock()
    let work = ring.popFirst()
    pendingWord.storeRelease(UInt(ring.count))
    lock.unlock()
    return work
  }

  /// J4: shutdown began; jobs no worker will run go to Swift's global executor.
  @inline(never)
  private func drainToGlobalExecutor() {
    fenceFull()  // J4: pairs with the fence in Scheduler.shutdown's flag CAS
    while let work = pop() {
      switch work {
      case .job(let job): globalConcurrentExecutor.enqueue(job)
      case .serial(let executor): executor.runElsewhere()
      }
    }
  }

  // MARK: Workers

  /// Worker hook: runs up to `batchLimit` queued jobs on `worker` (default pool only).
  /// Called from the worker loop when `pendingWord` is non-zero.
  @inline(never)
  func runBatch(on worker: Worker) {
    guard worker.runsJobs else { return }
    let executor = scheduler.asUnownedTaskExecutor()
    worker.local.pointee.runningJobs = true  // J3, Worker W4
    defer { worker.local.pointee.runningJobs = false }
    let mine = worker.ownJobs
    var work = firstOfBatch()
    for _ in 0..<JobQueue.batchLimit {
      guard let w = work ?? next(mine) else {
        mine.pointee.hasWork = false  // J8: slot and own queue empty (L2)
        return
      }
      work = nil
      switch w {
      case .job(let job): job.runSynchronously(on: executor)
      case .serial(let serial): serial.runBatch()  // one slot of the batch (S2)
      }
    }
    if mine.pointee.queue.ownerSeesEmpty {
      if case .none = mine.pointee.slot { mine.pointee.hasWork = false }
    } else if worker.poolHasIdleWorkers {
      worker.notifyWork()  // J8: jobs left here for the next batch; a parked worker could run them now
    }
  }

  /// Before `worker` runs a fiber: its slotted job goes to the ring, visible to all, and an
  /// idle worker is woken for it (J6): the fiber may compute for long, and J5's "this worker
  /// runs it at its next turn" would strand a job the fiber never asked for.
  /// The jobs in its own queue stay there, stealable, and an idle worker is woken for them
  /// (J8: after a full fence, so that a worker about to park sees them or is woken).
  @inline(__always)
  func releaseSlot(_ worker: Worker) {
    let mine = worker.ownJobs
    if let left = mine.pointee.slot.take() { pushShared(left, wakeAlways: true) }
    if mine.pointee.queue.ownerSeesEmpty {
      mine.pointee.hasWork = false
    } else {
      worker.notifyWork()
    }
  }

  /// A batch's first job: the shared ring's oldest, if it holds any (J8: jobs queued from
  /// elsewhere never wait more than a batch behind this worker's own).
  @inline(__always)
  private func firstOfBatch() -> QueuedWork? {
    // Relaxed: a hint (J1); a job queued concurrently is taken by the next batch.
    pendingWord.loadRelaxed() == 0 ? nil : pop()
  }

  /// The batch's next job, oldest first among this worker's own: the slot's, then its
  /// queue's (J6, J8), then the shared ring's.
  @inline(__always)
  private func next(_ mine: UnsafeMutablePointer<WorkerJobs>) -> QueuedWork? {
    guard mine.pointee.hasWork else { return pop() }
    return mine.pointee.slot.take() ?? mine.pointee.queue.pop() ?? pop()
  }

  /// J8: `thief` (a default-pool worker that found no fiber) takes the older half of the
  /// first other worker's queue that holds jobs, into its own; true if it took any.
  func stealJobs(into thief: Worker) -> Bool {
    let workers = scheduler.defaultPool.workers
    let n = workers.count
    guard n > 1 else { return false }
    let me = thief.poolIndex
    for k in 1..<n {
      let victim = workers[(me + k) % n]
      let taken = jobs(of: victim.index).pointee.queue.stealHalf()
      if taken.isEmpty { continue }
      let mine = thief.ownJobs
      for work in taken { mine.pointee.queue.push(work) }  // L3: the victim's lock is free again
      mine.pointee.hasWork = true
      thief.counters.add(.jobSteals, taken.count)
      return true
    }
    return false
  }

  /// J8, W1: whether worker `index`'s own queue holds jobs (any thread; a hint).
  func hasLocalJobs(_ index: Int) -> Bool { jobs(of: index).pointee.queue.approximateCount > 0 }

  /// Whether `worker` (the calling thread's) is running a batch of jobs now (J3).
  func isRunningBatch(_ worker: Worker) -> Bool { worker.local.pointee.runningJobs }

  /// Jobs queued now, in the shared ring and the workers' own queues (J1, L1: a snapshot,
  /// for dumps and tests; a job in a slot, J6, is the owner's alone and not counted).
  var pendingCount: Int {
    (0..<slotCount).reduce(Int(pendingWord.loadAcquire())) { $0 + jobs(of: $1).pointee.queue.approximateCount }
  }
}

/// What the job queue holds: a Swift job for the task executor, or a serial executor that
/// has jobs to run (WeftSerialExecutor S1).
enum QueuedWork {
  case job(UnownedJob)
  case serial(WeftSerialExecutor)
}

/// A growable FIFO ring of `QueuedWork`; its owner guards it with a lock.
struct JobRing {
  private var slots = UnsafeMutablePointer<QueuedWork?>.allocate(capacity: 64)
  private var capacity = 64
  private var head = 0
  private(set) var count = 0

  init() { slots.initialize(repeating: nil, count: capacity) }

  /// Called once by the owner's deinit.
  func deallocate() {
    slots.deinitialize(count: capacity)
    slots.deallocate()
  }

  var isEmpty: Bool { count == 0 }

  mutating func append(_ w: QueuedWork) {
    if count == capacity { grow() }
    slots[(head + count) & (capacity - 1)] = w
    count += 1
  }

  mutating func popFirst() -> QueuedWork? {
    guard count > 0 else { return nil }
    let w = slots[head].take()
    head = (head + 1) & (capacity - 1)
    count -= 1
    return w
  }

  private mutating func grow() {
    let bigger = UnsafeMutablePointer<QueuedWork?>.allocate(capacity: capacity * 2)
    bigger.initialize(repeating: nil, count: capacity * 2)
    for i in 0..<count { bigger[i] = slots[(head + i) & (capacity - 1)].take() }
    slots.deinitialize(count: capacity)
    slots.deallocate()
    slots = bigger
    capacity *= 2
    head = 0
  }
}

// Swift jobs on Weft's workers: the queue behind `Scheduler: TaskExecutor` (TaskExecutor.swift).
//
// Algorithm: one FIFO per scheduler, a lock-protected ring like the pool injector (Tokio's
// inject queue): a job hop is ~100 ns of Swift runtime work, so a short lock is not what
// bounds it. Any thread pushes; the default pool's workers pop. A worker's loop calls
// `runBatch(on:)` (one relaxed load, `pendingWord`, when there are no jobs) before it picks
// its next fiber, and runs at most `batchLimit` jobs there. So fibers and jobs alternate:
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
//   that worker's slot instead of the shared ring, and runs next in the same batch if no
//   older job is queued; if one is, the slot's job goes behind it first, so FIFO order holds.
//   At most one job waits in a slot: a second push moves the older one to the ring. A job
//   left in the slot when the batch ends stays there while the worker's loop looks for a
//   fiber; a worker with a slotted job runs another batch instead of searching or parking,
//   and before it runs a fiber the job goes to the ring and an idle worker is woken for it
//   (`releaseSlot`). So a slotted job is invisible to other workers only while this worker
//   runs jobs. One task hopping on a 2-worker scheduler no longer moves between workers at
//   every batch, each move a cache miss and a searching worker woken (Docs/Benchmarks.md).
// - J7 (a fiber about to park for the task it starts: `awaitAsync`): while the fiber starts
//   the task (`Worker.jobStartingTask`), the task's first job goes to its worker's slot as if
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
// | slots[i]      | worker i (J6)                    | worker i                         |
// | startingTask  | worker i's running fiber (J7)    | worker i                         |

/// The jobs enqueued on one scheduler's `TaskExecutor`.
final class JobQueue: @unchecked Sendable {
  // SAFETY: `ring` is touched only under the lock; the words are atomic.
  private let words = AtomicBlock(count: 3)  // 0: lock, 1: pending count (J1), 2: always 0
  /// J6: worker i's next job; touched only by worker i.
  private let slots: UnsafeMutablePointer<QueuedWork?>
  /// J6: whether `slots[i]` holds a job, a plain flag that worker i's loop reads at every
  /// turn (`Worker.jobSlotted` caches its address): cheaper than looking at the optional.
  private let slotted: UnsafeMutablePointer<Bool>
  /// J7: true while worker i's running fiber starts the task it is about to park for.
  private let startingTask: UnsafeMutablePointer<Bool>
  private let slotCount: Int
  private var lock: FutexLock { FutexLock(words[0]) }
  /// The pending-job count (J1).
  private var pendingWord: AtomicWord { words[1] }

  /// The word a worker of `pool` caches and polls: the pending count for the default pool,
  /// a word that stays 0 for the others (they run no jobs).
  func pendingWord(for pool: Pool) -> AtomicWord { pool === scheduler.defaultPool ? words[1] : words[2] }
  @exclusivity(unchecked) private var ring = JobRing()  // under the lock (J1): no dynamic check
  // SAFETY (unowned(unsafe)): the scheduler owns this queue.
  unowned(unsafe) let scheduler: Scheduler

  /// Jobs a worker runs before it looks at its fibers again.
  static let batchLimit = 32

  init(scheduler: Scheduler, workerCount: Int) {
    self.scheduler = scheduler
    slotCount = max(workerCount, 1)
    slots = .allocate(capacity: slotCount)
    slots.initialize(repeating: nil, count: slotCount)
    slotted = .allocate(capacity: slotCount)
    slotted.initialize(repeating: false, count: slotCount)
    startingTask = .allocate(capacity: slotCount)
    startingTask.initialize(repeating: false, count: slotCount)
  }

  deinit {
    ring.deallocate()
    words.deallocate()
    slots.deinitialize(count: slotCount)
    slots.deallocate()
    slotted.deallocate()
    startingTask.deallocate()
  }

  /// The flag worker `index`'s loop reads (J6; owner only).
  func slottedFlag(for index: Int) -> UnsafePointer<Bool> { UnsafePointer(slotted + index) }

  // MARK: Producers

  /// Queues `work` and makes sure a default-pool worker will run it (J2); from a worker
  /// running a batch, or from a fiber starting the task it parks for, into its slot (J6, J7).
  func push(_ work: QueuedWork) {
    if let w = Worker.current, w.scheduler === scheduler, isRunningBatch(w) || startingTask[w.index] {
      guard let older = slots[w.index].take() else {
        slots[w.index] = work
        slotted[w.index] = true
        return
      }
      slots[w.index] = work
      pushShared(older)  // J6: at most one job in a slot
      return
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
    if !wakeAlways, count == 1, let w = Worker.current, w.scheduler === scheduler, w.pool === scheduler.defaultPool { return }
    scheduler.defaultPool.notifyWork()
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
    guard worker.pool === scheduler.defaultPool else { return }
    let executor = scheduler.asUnownedTaskExecutor()
    worker.local.pointee.runningJobs = true  // J3, Worker W4
    defer { worker.local.pointee.runningJobs = false }
    for _ in 0..<JobQueue.batchLimit {
      guard let work = next(worker.index) else { break }
      switch work {
      case .job(let job): job.runSynchronously(on: executor)
      case .serial(let serial): serial.runBatch()  // one slot of the batch (S2)
      }
    }
  }

  /// Before `worker` runs a fiber: its slotted job goes to the ring, visible to all, and an
  /// idle worker is woken for it (J6): the fiber may compute for long, and J5's "this worker
  /// runs it at its next turn" would strand a job the fiber never asked for.
  @inline(__always)
  func releaseSlot(_ worker: Worker) {
    slotted[worker.index] = false
    if let left = slots[worker.index].take() { pushShared(left, wakeAlways: true) }
  }

  /// J7: worker `index`'s flag: while it is set, a job that worker's running fiber queues
  /// (the first job of the task it starts) goes to the slot; the fiber parks next, or
  /// releases the slot (`releaseSlot`). The worker caches its address (`Worker.jobStartingTask`);
  /// only default-pool workers set it, since only they run jobs.
  func startingTaskFlag(for index: Int) -> UnsafeMutablePointer<Bool> { startingTask + index }

  /// The batch's next job: the slot's if no older job is queued, else the ring's first (J6).
  @inline(__always)
  private func next(_ index: Int) -> QueuedWork? {
    guard slotted[index], let job = takeSlot(index) else { return pop() }
    // Relaxed: a hint; a job queued concurrently by another thread may run after this one.
    if pendingWord.loadRelaxed() == 0 { return job }
    return swapIntoRing(job)  // J6: behind the older ones
  }

  /// Empties worker `index`'s slot (J6; owner only).
  @inline(__always)
  private func takeSlot(_ index: Int) -> QueuedWork? {
    slotted[index] = false
    return slots[index].take()
  }

  /// Appends `work` and takes the ring's first job in one hold of the lock (J6): the count
  /// does not change, so nobody needs waking (J2) and shutdown's drain (J4) is not involved
  /// (the caller, a worker running a batch, runs what it takes).
  private func swapIntoRing(_ work: QueuedWork) -> QueuedWork {
    lock.lock()
    defer { lock.unlock() }
    guard let first = ring.popFirst() else { return work }  // emptied since the hint
    ring.append(work)  // one out, one in: `pendingWord` stays right (J1)
    return first
  }

  /// Whether `worker` (the calling thread's) is running a batch of jobs now (J3).
  func isRunningBatch(_ worker: Worker) -> Bool { worker.local.pointee.runningJobs }

  /// Jobs queued now (J1: a snapshot, for dumps and tests).
  var pendingCount: Int { Int(pendingWord.loadAcquire()) }
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

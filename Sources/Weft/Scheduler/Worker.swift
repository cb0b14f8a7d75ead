import CWeft
#if canImport(Glibc)
import Glibc
#endif

/// One worker thread: its queues and its scheduler loop (DESIGN.md, layers 3–4).
///
/// | field                       | written by                                | read by                 |
/// |-----------------------------|-------------------------------------------|-------------------------|
/// | deque (stealer view)        | thieves steal                             | (see WorkStealingDeque) |
/// | local.ownDeque (owner view) | owner push/pop (D4)                       | owner                   |
/// | runNext (atomic)            | owner, thieves (CAS)                      | owner, thieves          |
/// | inbox (producer view)       | any thread push                           | (see StickyInbox)       |
/// | local.ownInbox (owner view) | owner pop (M3)                            | owner                   |
/// | yieldedDeque (stealer view) | thieves steal                             | (see WorkStealingDeque) |
/// | local (yielded, streak, …)  | owner (yielded: YieldedQueues Y1)         | owner                   |
/// | current, pending            | owner thread (loop and the fiber it runs) | owner thread            |
/// | loopContext                 | the fiber running here (S1)               | the same fiber          |
/// | status, currentFiberID      | owner (atomic)                            | dumps (approximate)     |
/// | counters                    | owner (relaxed stores, M1)                | `metrics`, L1 (M2)      |
/// | ownJobs (pointee)           | see WorkerJobs (JobQueue J6–J8)           | see WorkerJobs          |
final class Worker: @unchecked Sendable {
  /// 0-based position among all the scheduler's workers (Julia's threadid is this + 1).
  let index: Int
  /// Position inside its pool.
  let poolIndex: Int
  /// `pool.kind`, kept here so that the wake path reads no other object.
  let poolKind: ThreadPool
  unowned(unsafe) let pool: Pool
  unowned(unsafe) let scheduler: Scheduler
  /// `scheduler`'s address, and whether it has an interactive pool: compared on every wake
  /// without touching the scheduler object (`Scheduler.enqueueWoken`).
  let schedulerRaw: UnsafeMutableRawPointer
  private let schedulerHasInteractive: Bool
  /// The timers' earliest deadline (T1), which `findLocalWork` loads at every switch: a copy
  /// of the word's address, so that the check touches no object (a reference to the Timers
  /// cost a retain and a release per switch).
  // SAFETY: the scheduler holds its timers (and their words) as long as it holds its workers.
  let nextTimerDeadline: AtomicWord
  /// Interop: the scheduler's pending Swift-job count (JobQueue J1), or an always-zero word
  /// for pools that run no jobs; cached like `nextTimerDeadline`, one relaxed load per loop turn
  /// (and per direct switch: Worker+Switch D1).
  // SAFETY: the scheduler holds its job queue (and its words) as long as it holds its workers.
  let jobsPending: AtomicWord
  /// This worker's job slot, flags and own job queue (JobQueue J6–J8, WorkerJobs.swift).
  let ownJobs: UnsafeMutablePointer<WorkerJobs>
  /// Whether this worker runs Swift jobs (default pool only).
  let runsJobs: Bool
  /// Completion I3: the free stack an inline run needs, the scheduler's default stack size.
  let inlineRunMinimumFreeStack: UInt
  /// The pool's and the scheduler's parts this worker uses on every switch, held directly:
  /// a `let` of a borrowed object is itself borrowed, where reaching them through the
  /// uncounted `pool` and `scheduler` references costs a retain and a release per use.
  let injector: Injector
  let idle: Idle
  let stacks: StackPool
  let timers: Timers
  /// The queues themselves, held for the views (WorkStealingDeque D4, StickyInbox M3).
  private let dequeStorage: WorkStealingDeque
  private let inboxStorage: StickyInbox
  private let yieldedStorage: WorkStealingDeque
  /// What other threads may do with this worker's queues: steal from its deque, push sticky
  /// fibers to its inbox. The owner's side is `ownDeque` / `ownInbox`.
  let deque: WorkStealingDeque.Stealer
  let inbox: StickyInbox.Producer
  /// Migratable fibers waiting behind the others (YieldedQueues Y1), for thieves.
  let yieldedDeque: WorkStealingDeque.Stealer
  let parker = Parker()
  /// Event counters for `Scheduler.metrics` and L1 (WorkerCounters M1–M3).
  let counters = WorkerCounters()
  // SAFETY: owner-only fields (table above).
  // The run-next slot (thieves CAS it) on a line of its own; the owner-written words on another.
  private let words = PaddedAtomicBlock(count: 2)  // [0]: runNext (a FiberRef or 0); [1]: status for dumps, [1, 1]: running fiber's id for dumps (0: none), [1, 2]/[1, 3]: fiber id batch
  var runNext: AtomicWord { words[0] }
  var status: AtomicWord { words[1] }
  /// The id of the fiber running here, or 0 (owner stores relaxed; dumps read it racily).
  var currentFiberID: AtomicWord { words[1, 1] }
  /// The owner's mutable state, behind a pointer so that its accesses skip Swift's dynamic
  /// exclusivity checks (see FiberCore).
  let local: UnsafeMutablePointer<Local>

  struct Local {
    /// Fibers waiting behind everything else (YieldedQueues Y1).
    var yielded: YieldedQueues
    /// The loop's policies (LoopPolicy.swift).
    var fairness = FairnessTick()
    var streak = RunNextStreak()
    var stealOrder: StealOrder
    var isSearching = false
    /// True while this worker runs a batch of Swift jobs (JobQueue.runBatch, J3).
    var runningJobs = false
    /// A job spawned a migratable fiber during the batch and its wake was put off (W4).
    var spawnWakeDeferred = false
    /// The fiber running here (uncounted, FiberRef O2). After inline runs (Completion I1) the
    /// fiber that switches out — or finishes — here can differ from the one this loop
    /// switched into; its run reference (O1) keeps it alive until this loop is done with it.
    var current: FiberRef? = nil
    /// The fiber switching out, between its switch and `completeSwitch` (Worker+Switch.swift).
    var outgoing: FiberRef? = nil
    var pending: PendingAction = .none
    var loopContext: UnsafeMutableRawPointer? = nil
    var tsanFiber: UnsafeMutableRawPointer? = nil
    /// The owner views of this worker's queues (D4, M3): owner-only state, as all of `Local`.
    let ownDeque: WorkStealingDeque.Owner
    let ownInbox: StickyInbox.Owner
    var stackCache = WorkerStackCache()
  }

  var current: FiberRef? {
    @inline(__always) get { local.pointee.current }
    @inline(__always) set { local.pointee.current = newValue }
  }
  var pending: PendingAction {
    @inline(__always) get { local.pointee.pending }
    @inline(__always) set { local.pointee.pending = newValue }
  }
  var loopContext: UnsafeMutableRawPointer? {
    @inline(__always) get { local.pointee.loopContext }
    @inline(__always) set { local.pointee.loopContext = newValue }
  }
  var tsanFiber: UnsafeMutableRawPointer? {
    @inline(__always) get { local.pointee.tsanFiber }
    set { local.pointee.tsanFiber = newValue }
  }

  /// Owner only (this worker's thread: its loop and the fibers it runs): the owner views of
  /// its deque and inbox (D4, M3).
  var ownDeque: WorkStealingDeque.Owner { @inline(__always) get { local.pointee.ownDeque } }
  var ownInbox: StickyInbox.Owner { @inline(__always) get { local.pointee.ownInbox } }

  enum PendingAction { case none, park, yield, finish }
  enum Status: UInt { case starting = 0, running = 1, searching = 2, parked = 3, stopped = 4 }


  init(index: Int, poolIndex: Int, pool: Pool, scheduler: Scheduler) {
    self.index = index
    self.poolIndex = poolIndex
    self.pool = pool
    poolKind = pool.kind
    injector = pool.injector
    idle = pool.idle
    stacks = scheduler.stacks
    timers = scheduler.timers
    self.scheduler = scheduler
    schedulerRaw = Unmanaged.passUnretained(scheduler).toOpaque()
    schedulerHasInteractive = scheduler.hasInteractive
    nextTimerDeadline = timers.nextDeadlineAtomic
    inlineRunMinimumFreeStack = UInt(stacks.defaultUsable)
    jobsPending = scheduler.jobs.pendingWord(for: pool)
    ownJobs = scheduler.jobs.jobs(of: index)
    runsJobs = pool === scheduler.defaultPool
    let d = WorkStealingDeque(), i = StickyInbox(), y = WorkStealingDeque(capacity: 64)
    dequeStorage = d
    inboxStorage = i
    yieldedStorage = y
    deque = d.stealer
    inbox = i.producer
    yieldedDeque = y.stealer
    local = .allocate(capacity: 1)
    local.initialize(to: Local(yielded: YieldedQueues(migratable: y.owner),
                               stealOrder: StealOrder(seed: UInt64(index &+ 1) &* 0x9E37_79B9_7F4A_7C15),
                               ownDeque: d.owner, ownInbox: i.owner))
  }

  deinit {
    if let f = takeRunNext() { f.dropRunReference() }  // abandoned at shutdown (FiberRef O1)
    local.pointee.yielded.free()
    stacks.giveCached(&local.pointee.stackCache)  // a worker that never ran (`run` gives them back)
    local.pointee.stackCache.deallocate()
    words.deallocate()
    counters.deallocate()
    local.deinitialize(count: 1)
    local.deallocate()
  }

  /// A fiber id from this worker's batch (owner only: relaxed loads and stores of words only
  /// this thread writes), refilled from `AnyFiber.nextID` every `idBatch` fibers.
  @inline(__always) func nextFiberID() -> UInt64 {
    let nextWord = words[1, 2], endWord = words[1, 3]
    var next = nextWord.loadRelaxed()
    if next == endWord.loadRelaxed() {
      next = AnyFiber.nextID.fetchAddRelaxed(AnyFiber.idBatch) &+ 1  // ids next ..< next + idBatch
      endWord.storeRelaxed(next &+ AnyFiber.idBatch)
    }
    nextWord.storeRelaxed(next &+ 1)
    return UInt64(next)
  }

  /// Whether a migratable fiber that asked for pool `kind` runs in this worker's pool
  /// (`Scheduler.pool(for:)`: the interactive pool falls back to the default one).
  @inline(__always) func runsMigratable(_ kind: ThreadPool) -> Bool {
    let effective: ThreadPool = kind == .interactive && schedulerHasInteractive ? .interactive : .default
    return effective == poolKind
  }

  /// Whether a worker of this pool is parked (`Pool.hasIdleWorkers`, one acquire load): for
  /// work this worker would run itself anyway, so a stale answer costs parallelism, never a
  /// wake-up.
  @inline(__always) var poolHasIdleWorkers: Bool { idle.counts.unparked < idle.workerCount }

  /// W1/W2, producer side, for this worker's pool (`Pool.notifyWork` without the pool: a
  /// call through `pool` instead cost 46–52 instructions per spawn, callgrind, 2026-12-02).
  @inline(__always) func notifyWork() {
    fenceFull()  // pairs with the fence in Worker.parkIdle
    if let i = idle.workerToNotify() { pool.workers[i].parker.unpark() }
  }

  /// The worker running on this thread, if any.
  static var current: Worker? {
    guard let p = ThreadLocal.worker else { return nil }
    return Unmanaged<Worker>.fromOpaque(p).takeUnretainedValue()
  }

  /// Borrows the worker running on this thread, counting nothing; the caller knows it is
  /// one. (A `Worker` returned from a getter is a counted copy: a retain and a release per
  /// call, on every switch.)
  @inline(__always) static func withCurrent<R>(_ body: (Worker) throws -> R) rethrows -> R {
    // SAFETY: only called on worker threads; a worker outlives its thread's loop.
    try Unmanaged<Worker>.fromOpaque(ThreadLocal.worker.unsafelyUnwrapped)._withUnsafeGuaranteedRef(body)
  }

  /// The worker running on this thread; the caller knows it is one.
  @inline(__always) static var currentUnchecked: Worker {
    // SAFETY: only called on worker threads (from fiber code or the loop).
    Unmanaged<Worker>.fromOpaque(ThreadLocal.worker.unsafelyUnwrapped).takeUnretainedValue()
  }

  // MARK: Run-next slot

  /// Owner: makes `f` run next; a fiber already there moves to the deque (stealable).
  func pushRunNext(_ f: FiberRef) {
    // Full exchange: pairs with a thief's CAS in `stealRunNext`.
    let old = runNext.exchangeFull(f.bits)
    if let old = FiberRef(bits: old) {
      ownDeque.push(old)
      notifyWork()
    }
  }

  /// Owner: takes the fiber waiting in the run-next slot (internal, not private, so that
  /// Tests/WeftTests/Scheduler/RunNextStressTests.swift can drive the slot directly).
  func takeRunNext() -> FiberRef? {
    if runNext.loadRelaxed() == 0 { return nil }
    // Full exchange: pairs with a thief's CAS in `stealRunNext`.
    return FiberRef(bits: runNext.exchangeFull(0))
  }

  /// Thief: takes the fiber waiting in this worker's run-next slot.
  func stealRunNext() -> FiberRef? {
    // Acquire: pairs with the owner's exchange in `pushRunNext` (the fiber's fields are visible).
    let seen = runNext.loadAcquire()
    // Full CAS: pairs with the owner's exchanges; whoever wins takes the fiber.
    guard seen != 0, runNext.compareExchangeFull(seen, 0) else { return nil }
    return FiberRef(bits: seen)
  }

  var hasRunNext: Bool { runNext.loadAcquire() != 0 }

  // MARK: Finding work

  /// Local work first, then the pool's shared queues. Owner only. The steps, in order:
  /// due timers, the fairness turn, the run-next slot (capped), the local queues, then the
  /// fibers that yielded.
  func findLocalWork() -> FiberRef? {
    fireDueTimers()
    if let f = fairnessTurn() { return f }
    if let f = runNextPick() { return f }
    // Yielded fibers last: yield() goes behind everything runnable, injected work included.
    return ownDeque.pop() ?? ownInbox.pop() ?? injector.pop() ?? local.pointee.yielded.popFirst()
  }

  /// Due timers first, at every switch (T1: one atomic load when none is pending): their
  /// fibers go to run-next or the inbox, ahead of yielded work, so a timer is late by one
  /// slice at most while fibers yield (looking every 61st tick made that 61 slices).
  @inline(__always) private func fireDueTimers() {
    // Acquire: pairs with the release stores of the deadline in Timers.add / removeAt.
    let next = nextTimerDeadline.loadAcquire()
    if next != UInt.max { timers.fireDue(next: UInt64(next)) }
  }

  /// FairnessTick: now and then the shared queues before the local ones.
  @inline(__always) private func fairnessTurn() -> FiberRef? {
    let f: FiberRef?
    switch local.pointee.fairness.next() {
    case .localFirst: return nil
    case .injectorFirst: f = injector.pop() ?? ownInbox.pop()
    case .inboxFirst: f = ownInbox.pop() ?? injector.pop()
    }
    if f != nil { local.pointee.streak.reset() }
    return f
  }

  /// RunNextStreak: the run-next fiber, unless the streak is at its cap; then it waits
  /// behind the others (two fibers handing off to each other must let the rest run).
  @inline(__always) private func runNextPick() -> FiberRef? {
    if let f = takeRunNext() {
      if local.pointee.streak.admitFromLoop() { return f }
      // Behind the rest, stealable (Y1); an idle worker may take it now if there is a rest
      // (no fence and no idle-list lock when none is idle, or when nothing else is queued
      // here: then this worker takes it back at once, and a woken worker would only take it
      // away, with its caches — a fiber waking from `awaitAsync` moved at every cap).
      let sticky = f.with { $0.sticky }
      local.pointee.yielded.append(f, sticky: sticky)
      if !sticky && poolHasIdleWorkers && hasOtherWorkQueued { notifyWork() }
    }
    local.pointee.streak.reset()
    return nil
  }

  /// Steals from the other workers of the pool in StealOrder, then takes from the injector.
  /// `graceIsOver` false (SearchBudget G1): a victim's deque holding a single fiber is left
  /// to its owner.
  func steal(graceIsOver: Bool = true) -> FiberRef? {
    let workers = pool.workers
    if workers.count > 1 {
      counters.increment(.stealAttempts)
      var found: FiberRef? = nil
      var taken = 1
      _ = local.pointee.stealOrder.forEachVisit(count: workers.count, me: poolIndex) { visit in
        let victim = workers[visit.victim]
        if graceIsOver || victim.deque.approximateCount > 1, let f = victim.deque.steal() {
          found = f
          taken += stealHalf(of: victim)
          return true
        }
        found = victim.yieldedDeque.steal() ?? (visit.includingRunNext ? victim.stealRunNext() : nil)
        return found != nil
      }
      if let found {
        counters.increment(.stealBatches)
        counters.add(.steals, taken)
        return found
      }
    }
    return injector.pop()
  }

  /// V1 (steal half, Go's `runqsteal`, Tokio's `steal_into`): after a thief took the oldest
  /// fiber of `victim`'s deque, it moves up to half of what is left into its own deque (at
  /// most `stealHalfLimit`), so that an imbalance is evened out in a few sweeps instead of
  /// one sweep per fiber. One `steal` (one CAS on `top`) per fiber: the owner pops at the
  /// bottom without a CAS while more than one fiber is left, so a single CAS over a range
  /// could race with those pops (crossbeam-deque steals its LIFO flavour one by one too).
  /// The yielded deque and the run-next slot are never batched: their fibers wait behind
  /// others, and moving them to the front of the thief's deque would let them overtake.
  /// Returns how many it moved.
  private func stealHalf(of victim: Worker) -> Int {
    var left = min(victim.deque.approximateCount / 2, Worker.stealHalfLimit)
    var moved = 0
    while left > 0, let f = victim.deque.steal() {
      ownDeque.push(f)  // the thief's own deque: it is the owner here (D4)
      left -= 1
      moved += 1
    }
    return moved
  }

  /// The most fibers one sweep moves besides the one it runs (V1; Go's local queues hold 256,
  /// and a steal takes at most half).
  static let stealHalfLimit = 128

  /// W4 (spawns from Swift jobs): a fiber spawned by a job waits for the batch to end
  /// without a wake, and after the batch, once this worker has taken its next fiber, one
  /// idle worker is woken if fibers are still queued here. (If this worker finds no fiber,
  /// others took them; the flag is cleared at the next fiber found.) `await spawn { … }.value` from a
  /// task on Weft's executor spawns and suspends: its fiber is this worker's next, and the
  /// spawn's wake only brought the other worker to take it away (20,000–27,000 steals per
  /// 200,000 awaits, each a cache-cold fiber). A job that spawns many still gets help.
  private func wakeForSpawnsOfJobs() {
    local.pointee.spawnWakeDeferred = false
    if deque.approximateCount > 0 && poolHasIdleWorkers { notifyWork() }
  }

  /// Whether fibers other than the yielded ones wait here (owner only): the run-next cap's
  /// notify is worth a wake only then (and, with the rest, none is: `hasNothingQueued`).
  private var hasOtherWorkQueued: Bool {
    deque.approximateCount > 0 || inbox.mayHaveWork || !injector.isEmpty
  }

  /// Reactor P5: nothing but the running fiber here, so the loop polls next. Owner only
  /// (`Reactor.callerPollsNext` asks on this worker's thread: `yielded` is owner-only).
  var hasNothingQueued: Bool {
    runNext.loadRelaxed() == 0 && !hasOtherWorkQueued
      && local.pointee.yielded.stickyCount == 0 && yieldedDeque.approximateCount == 0
      && jobsPending.loadRelaxed() == 0 && !ownJobs.pointee.hasWork
  }

  /// W1: anything this worker could run, looked at after registering as parked.
  private func workVisible() -> Bool {
    if inbox.mayHaveWork || !injector.isEmpty || scheduler.isShuttingDown { return true }
    if jobsPending.loadAcquire() != 0 { return true }  // Interop, JobQueue J2
    if timers.nextDeadline <= monotonicNanoseconds() { return true }
    for w in pool.workers where w.deque.approximateCount > 0 || w.yieldedDeque.approximateCount > 0 || w.hasRunNext
      || (runsJobs && scheduler.jobs.hasLocalJobs(w.index)) {  // J8: stealable
      return true
    }
    return false
  }

  // MARK: The loop

  func run() {
    ThreadLocal.setWorker(Unmanaged.passUnretained(self).toOpaque())
    tsanFiber = Context.currentTSanFiber()
    Context.prepareThread()
    LongRunningMonitor.workerThreadStarted(self)
    weft_fiber_objects_set_limit(Worker.fiberObjectCacheLimit)  // FiberObjects.c B3
    status.storeRelease(Status.running.rawValue)
    while true {
      // Interop (Interop/JobQueue.swift): Swift jobs run here, between fibers, in batches.
      if jobsPending.loadRelaxed() != 0 || ownJobs.pointee.hasWork {
        // A worker woken to search (W2) that finds jobs stops searching, as one that finds
        // a fiber does (prepareToRun): else it counted as searching while it ran only jobs,
        // and no producer ever woke another worker (W2 wakes none while one searches).
        if local.pointee.isSearching { endSearching() }
        scheduler.jobs.runBatch(on: self)
      }
      // A worker whose batch left jobs in its slot or own queue has work: it does not search (J6, J8).
      if let f = findLocalWork() ?? readyIO() ?? (ownJobs.pointee.hasWork ? nil : searchForWork()) {
        if local.pointee.spawnWakeDeferred { wakeForSpawnsOfJobs() }  // W4
        // J6: visible to other workers while this one runs a fiber.
        if ownJobs.pointee.hasWork { scheduler.jobs.releaseSlot(self) }
        runFiber(f)
        continue
      }
      // searchForWork stopped for jobs (or stole some), or this worker has its own (J6, J8).
      if jobsPending.loadRelaxed() != 0 || ownJobs.pointee.hasWork { continue }
      if scheduler.isShuttingDown {
        // Work queued before shutdown began is visible now (the flag is read with acquire,
        // after the release that set it): look once more, stealing included, before leaving.
        if let f = findLocalWork() ?? steal() {
          runFiber(f)
          continue
        }
        break
      }
      // I/O hook (IO/SchedulerIO.swift): an idle worker polls the reactor without blocking.
      if scheduler.io.pollBeforeParking(worker: index) { continue }
      parkIdle()
    }
    status.storeRelease(Status.stopped.rawValue)
    stacks.giveCached(&local.pointee.stackCache)
    counters.store(.cachedStacks, 0)
    weft_fiber_objects_set_limit(Int(WEFT_FIBER_OBJECTS_THREAD_LIMIT))
    ThreadLocal.setWorker(nil)
  }

  /// FiberObjects.c B3: fiber object blocks a worker's thread keeps for reuse while it is
  /// busy (1.1 MiB of 288-byte blocks: a fork–join tree or a burst of spawns this wide reuses
  /// every block), and what it keeps when it goes idle.
  static let fiberObjectCacheLimit = 4096
  static let idleFiberObjectCacheLimit = Int(WEFT_FIBER_OBJECTS_THREAD_LIMIT)

  /// I/O hook, before searching (Go's findRunnable polls the network before it steals): the
  /// fibers whose I/O is ready are woken onto this worker's queues and the first runs here.
  /// A worker handing off through sockets (an echo round trip: the peer's bytes are readable
  /// as soon as its write returns) then never enters the searching state, whose end wakes
  /// another worker (W2), which took the poller role and made every round trip a futex wake
  /// and two context switches (echo_rtt: 0.65 context switches per round trip, now ~0).
  @inline(__always) private func readyIO() -> FiberRef? {
    guard scheduler.io.pollBeforeParking(worker: index) else { return nil }
    return findLocalWork()
  }

  /// Searches other workers' queues, spinning for up to `SearchBudget.spinNanoseconds` before the
  /// caller parks (DESIGN.md: bounded spinning, then park). While it searches, producers do
  /// not issue futex wakes (W2), so a worker that finds its next fiber within the spin never
  /// costs a sleep and a wake — in a sequential hand-off (a chain of spawns, a ping-pong
  /// across workers) that was a futex wake per step.
  ///
  /// - W5: each empty round ends with `sched_yield`. When other processes hold the machine's
  ///   other CPUs, the kernel runs a woken searcher on the CPU of the worker that woke it,
  ///   preempting that worker (a thread that slept has the lower virtual runtime): the spin
  ///   then takes its whole budget from the one worker with fibers to run, at every wake.
  ///   Seen with `perf sched` on the 2-core machine: asyncmap work=sleep1ms on 2 workers
  ///   took 13–19 µs per item (1 ms sleeps woken 0.3–0.9 ms late, in bursts) where 1 worker
  ///   took 11.4, the two worker threads time-sliced on one CPU, the working one running
  ///   1.8 ms per batch of 100 wakes. With the yield: 11.1–11.8 (Docs/Benchmarks.md, step 8).
  ///   On a CPU of its own the call returns at once (~0.5 µs per round).
  private func searchForWork() -> FiberRef? {
    if !local.pointee.isSearching { local.pointee.isSearching = idle.transitionToSearching() }
    guard local.pointee.isSearching else { return nil }
    status.storeRelease(Status.searching.rawValue)
    var budget = SearchBudget()
    var polledJustNow = true  // readyIO polled right before the search
    while true {
      if let f = steal(graceIsOver: budget.graceIsOver) ?? findLocalWork() {
        endSearching()
        return f
      }
      // Interop: Swift jobs are work too; the loop runs them (JobQueue), and those queued on
      // another worker are stolen into this one's own queue (J8; default pool only).
      if jobsPending.loadRelaxed() != 0 || (runsJobs && scheduler.jobs.stealJobs(into: self)) {
        endSearching()
        return nil
      }
      if scheduler.isShuttingDown { return nil }
      // I/O hook (Go's findRunnable polls the network while spinning): fibers whose I/O is
      // ready go to this worker's queues, found by the next round.
      if !polledJustNow && scheduler.io.pollBeforeParking(worker: index) { continue }
      polledJustNow = false
      if !budget.keepSearching(now: monotonicNanoseconds()) { return nil }
      for _ in 0..<64 { cpuRelax() }
      // W5: on a CPU it shares with a worker that runs fibers, give that worker the CPU.
      sched_yield()
    }
  }

  func endSearching() {
    guard local.pointee.isSearching else { return }
    local.pointee.isSearching = false
    status.storeRelease(Status.running.rawValue)
    // W2: the last searcher to find work wakes another to keep looking.
    if idle.transitionFromSearching() { notifyWork() }
  }

  @inline(never)
  private func parkIdle() {
    let wasSearching = local.pointee.isSearching
    idle.transitionToParked(poolIndex, searching: local.pointee.isSearching)
    local.pointee.isSearching = false
    fenceFull()  // W1: pairs with the producer's fence in Pool.notifyWork
    let slept = !workVisible()
    var wasTimerSleeper = false
    var ioReady: [AnyFiber] = []
    if slept {
      status.storeRelease(Status.parked.rawValue)
      stacks.trim()  // idle time: give surplus cached stack memory back
      weft_fiber_objects_trim(Worker.idleFiberObjectCacheLimit)  // and fiber object blocks
      let timeout = timers.claimSleeper(self)
      counters.increment(.sleeps)
      // I/O hook: parks on the futex, or, as the reactor's blocking poller, in epoll_wait with
      // the same timeout; returns the fibers that I/O made runnable, woken below.
      ioReady = scheduler.io.park(parker, timeoutNanoseconds: timeout, worker: index)
      wasTimerSleeper = timers.releaseSleeper(self)
    }
    local.pointee.isSearching = idle.transitionFromParked(poolIndex)
    scheduler.io.wake(ioReady)  // I/O hook: now that this worker counts as unparked
    if !slept && wasSearching && !local.pointee.isSearching {
      // W2 (Go's findRunnable): producers skipped waking anyone while this worker searched;
      // its re-check found work, so it searches again, and taking the work (endSearching)
      // wakes another worker for the rest. Without this, two fibers injected at once could
      // leave one in the injector with a worker asleep.
      local.pointee.isSearching = idle.transitionToSearching()
    }
    status.storeRelease(local.pointee.isSearching ? Status.searching.rawValue : Status.running.rawValue)
    timers.fireDue()
    // T2: this worker may now run a fiber that never yields; pending timers need a sleeper.
    if wasTimerSleeper { timers.handOffSleeperRole() }
  }

}

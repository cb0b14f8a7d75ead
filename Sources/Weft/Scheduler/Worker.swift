#if canImport(Glibc)
import Glibc
#endif

/// One worker thread: its queues and its scheduler loop (DESIGN.md, layers 3–4).
///
/// | field                       | written by                                | read by                 |
/// |-----------------------------|-------------------------------------------|-------------------------|
/// | deque                       | owner push/pop, thieves                   | (see WorkStealingDeque) |
/// | runNext (atomic)            | owner, thieves (CAS)                      | owner, thieves          |
/// | inbox                       | any thread push, owner                    | (see StickyInbox)       |
/// | local (yielded, streak, …)  | owner                                     | owner                   |
/// | current, pending            | owner thread (loop and the fiber it runs) | owner thread            |
/// | loopContext                 | the fiber running here (S1)               | the same fiber          |
/// | status, currentFiberID      | owner (atomic)                            | dumps (approximate)     |
/// | counters                    | owner (relaxed stores, M1)                | `metrics`, L1 (M2)      |
final class Worker: @unchecked Sendable {
  /// 0-based position among all the scheduler's workers (Julia's threadid is this + 1).
  let index: Int
  /// Position inside its pool.
  let poolIndex: Int
  unowned(unsafe) let pool: Pool
  unowned(unsafe) let scheduler: Scheduler
  /// The timers' earliest deadline (T1), which `findLocalWork` loads at every switch: a copy
  /// of the word's address, so that the check touches no object (a reference to the Timers
  /// cost a retain and a release per switch).
  // SAFETY: the scheduler holds its timers (and their words) as long as it holds its workers.
  private let nextTimerDeadline: AtomicWord
  /// Interop: the scheduler's pending Swift-job count (JobQueue J1), or an always-zero word
  /// for pools that run no jobs; cached like `nextTimerDeadline`, one relaxed load per loop turn.
  // SAFETY: the scheduler holds its job queue (and its words) as long as it holds its workers.
  private let jobsPending: AtomicWord
  /// Completion I3: the free stack an inline run needs, the scheduler's default stack size.
  let inlineRunMinimumFreeStack: UInt
  let deque = WorkStealingDeque()
  let inbox = StickyInbox()
  let parker = Parker()
  /// Event counters for `Scheduler.metrics` and L1 (WorkerCounters M1–M3).
  let counters = WorkerCounters()
  // SAFETY: owner-only fields (table above).
  private let words = AtomicBlock(count: 3)  // 0: runNext (retained Unmanaged or 0), 1: status for dumps, 2: running fiber's id for dumps (0: none)
  private var runNext: AtomicWord { words[0] }
  var status: AtomicWord { words[1] }
  /// The id of the fiber running here, or 0 (owner stores relaxed; dumps read it racily).
  var currentFiberID: AtomicWord { words[2] }
  /// The owner's mutable state, behind a pointer so that its accesses skip Swift's dynamic
  /// exclusivity checks (see FiberCore).
  private let local: UnsafeMutablePointer<Local>

  struct Local {
    var yielded = LocalQueue()
    var runNextStreak = 0
    var tick: UInt = 0
    var isSearching = false
    /// The fiber running here. A counted reference on purpose: after inline runs (Completion
    /// I1) the fiber that switches out — or finishes — here can differ from the one this loop
    /// switched into, and nothing else may keep it alive (an uncounted slot let a finished
    /// fiber be freed by its waiter before this loop was done with it).
    var current: AnyFiber? = nil
    var pending: PendingAction = .none
    var loopContext: UnsafeMutableRawPointer? = nil
    var tsanFiber: UnsafeMutableRawPointer? = nil
    var stackCache: [FiberStack] = []
    var randomState: UInt64
  }

  var current: AnyFiber? {
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

  enum PendingAction { case none, park, yield, finish }
  enum Status: UInt { case starting = 0, running = 1, searching = 2, parked = 3, stopped = 4 }

  static let runNextCap = 3
  /// How long a searching worker keeps looking before it parks (Go spins a few µs too).
  static let searchSpinNanoseconds: UInt64 = 20_000
  static let fairnessInterval: UInt = 61

  init(index: Int, poolIndex: Int, pool: Pool, scheduler: Scheduler) {
    self.index = index
    self.poolIndex = poolIndex
    self.pool = pool
    self.scheduler = scheduler
    nextTimerDeadline = scheduler.timers.nextDeadlineAtomic
    jobsPending = scheduler.jobs.pendingWord(for: pool)
    inlineRunMinimumFreeStack = UInt(scheduler.stacks.defaultUsable)
    local = .allocate(capacity: 1)
    local.initialize(to: Local(randomState: UInt64(index &+ 1) &* 0x9E37_79B9_7F4A_7C15))
  }

  deinit {
    if let f = takeRunNext() { _ = f }
    words.deallocate()
    counters.deallocate()
    local.deinitialize(count: 1)
    local.deallocate()
  }

  /// The worker running on this thread, if any.
  static var current: Worker? {
    guard let p = ThreadLocal.worker else { return nil }
    return Unmanaged<Worker>.fromOpaque(p).takeUnretainedValue()
  }

  /// The worker running on this thread; the caller knows it is one.
  @inline(__always) static var currentUnchecked: Worker {
    // SAFETY: only called on worker threads (from fiber code or the loop).
    Unmanaged<Worker>.fromOpaque(ThreadLocal.worker.unsafelyUnwrapped).takeUnretainedValue()
  }

  // MARK: Run-next slot

  /// Owner: makes `f` run next; a fiber already there moves to the deque (stealable).
  func pushRunNext(_ f: AnyFiber) {
    let new = UInt(bitPattern: Unmanaged.passRetained(f).toOpaque())
    // Full exchange: pairs with a thief's CAS in `stealRunNext`.
    let old = runNext.exchangeFull(new)
    if old != 0 {
      deque.push(Unmanaged<AnyFiber>.fromOpaque(UnsafeRawPointer(bitPattern: old).unsafelyUnwrapped).takeRetainedValue())
      pool.notifyWork()
    }
  }

  /// Owner: takes the fiber waiting in the run-next slot (internal, not private, so that
  /// Tests/WeftTests/Scheduler/RunNextStressTests.swift can drive the slot directly).
  func takeRunNext() -> AnyFiber? {
    if runNext.loadRelaxed() == 0 { return nil }
    let old = runNext.exchangeFull(0)
    if old == 0 { return nil }
    return Unmanaged<AnyFiber>.fromOpaque(UnsafeRawPointer(bitPattern: old).unsafelyUnwrapped).takeRetainedValue()
  }

  /// Thief: takes the fiber waiting in this worker's run-next slot.
  func stealRunNext() -> AnyFiber? {
    let seen = runNext.loadAcquire()
    guard seen != 0, runNext.compareExchangeFull(seen, 0) else { return nil }
    return Unmanaged<AnyFiber>.fromOpaque(UnsafeRawPointer(bitPattern: seen).unsafelyUnwrapped).takeRetainedValue()
  }

  var hasRunNext: Bool { runNext.loadAcquire() != 0 }

  // MARK: Finding work

  /// Local work first, then the pool's shared queues. Owner only.
  func findLocalWork() -> AnyFiber? {
    // Due timers first, at every switch (T1: one atomic load when none is pending): their
    // fibers go to run-next or the inbox, ahead of yielded work, so a timer is late by one
    // slice at most while fibers yield (looking every 61st tick made that 61 slices).
    // Acquire: pairs with the release stores of the deadline in Timers.add / removeAt.
    let next = nextTimerDeadline.loadAcquire()
    if next != UInt.max { scheduler.timers.fireDue(next: UInt64(next)) }
    local.pointee.tick &+= 1
    if local.pointee.tick % Worker.fairnessInterval == 0 {
      // Go's fairness rule: now and then look at the shared queues first. Which of the two
      // goes first alternates, so that a busy inbox (sticky fibers waking each other) cannot
      // starve the injector, nor a busy injector the inbox.
      let injectorFirst = (local.pointee.tick / Worker.fairnessInterval) & 1 == 0
      if let f = injectorFirst ? pool.injector.pop() ?? inbox.pop() : inbox.pop() ?? pool.injector.pop() {
        local.pointee.runNextStreak = 0
        return f
      }
    }
    if let f = takeRunNext() {
      if local.pointee.runNextStreak < Worker.runNextCap { local.pointee.runNextStreak += 1; return f }
      local.pointee.yielded.append(f)  // two fibers handing off to each other must let the rest run
    }
    local.pointee.runNextStreak = 0
    // Yielded fibers last: yield() goes behind everything runnable, injected work included.
    return deque.pop() ?? inbox.pop() ?? pool.injector.pop() ?? local.pointee.yielded.popFirst()
  }

  /// Steals from the other workers of the pool, starting at a random one.
  func steal() -> AnyFiber? {
    let workers = pool.workers
    let n = workers.count
    if n > 1 {
      var r = local.pointee.randomState  // xorshift64
      r ^= r << 13
      r ^= r >> 7
      r ^= r << 17
      local.pointee.randomState = r
      let start = Int(r % UInt64(n))
      counters.increment(.stealAttempts)
      for round in 0..<2 {
        for k in 0..<n {
          let victim = workers[(start + k) % n]
          if victim === self { continue }
          if let f = victim.deque.steal() { counters.increment(.steals); return f }
          if round == 1, let f = victim.stealRunNext() { counters.increment(.steals); return f }
        }
      }
    }
    return pool.injector.pop()
  }

  /// W1: anything this worker could run, looked at after registering as parked.
  private func workVisible() -> Bool {
    if inbox.mayHaveWork || !pool.injector.isEmpty || scheduler.isShuttingDown { return true }
    if jobsPending.loadAcquire() != 0 { return true }  // Interop, JobQueue J2
    if scheduler.timers.nextDeadline <= monotonicNanoseconds() { return true }
    for w in pool.workers where w.deque.approximateCount > 0 || w.hasRunNext { return true }
    return false
  }

  // MARK: The loop

  func run() {
    ThreadLocal.setWorker(Unmanaged.passUnretained(self).toOpaque())
    tsanFiber = Context.currentTSanFiber()
    Context.prepareThread()
    status.storeRelease(Status.running.rawValue)
    while true {
      // Interop (Interop/JobQueue.swift): Swift jobs run here, between fibers, in batches.
      if jobsPending.loadRelaxed() != 0 { scheduler.jobs.runBatch(on: self) }
      if let f = findLocalWork() ?? searchForWork() {
        runFiber(f)
        continue
      }
      if jobsPending.loadRelaxed() != 0 { continue }  // searchForWork stopped for jobs
      if scheduler.isShuttingDown {
        // Work queued before shutdown began is visible now (the flag is read with acquire,
        // after the release that set it): look once more, stealing included, before leaving.
        if let f = findLocalWork() ?? steal() {
          runFiber(f)
          continue
        }
        break
      }
      parkIdle()
    }
    status.storeRelease(Status.stopped.rawValue)
    scheduler.stacks.giveCached(&local.pointee.stackCache)
    counters.store(.cachedStacks, 0)
    ThreadLocal.setWorker(nil)
  }

  /// Searches other workers' queues, spinning for up to `searchSpinNanoseconds` before the
  /// caller parks (DESIGN.md: bounded spinning, then park). While it searches, producers do
  /// not issue futex wakes (W2), so a worker that finds its next fiber within the spin never
  /// costs a sleep and a wake — in a sequential hand-off (a chain of spawns, a ping-pong
  /// across workers) that was a futex wake per step.
  private func searchForWork() -> AnyFiber? {
    if !local.pointee.isSearching { local.pointee.isSearching = pool.idle.transitionToSearching() }
    guard local.pointee.isSearching else { return nil }
    status.storeRelease(Status.searching.rawValue)
    var deadline: UInt64 = 0
    while true {
      if let f = steal() ?? findLocalWork() {
        endSearching()
        return f
      }
      // Interop: Swift jobs are work too; the loop runs them (JobQueue).
      if jobsPending.loadRelaxed() != 0 { endSearching(); return nil }
      if scheduler.isShuttingDown { return nil }
      let now = monotonicNanoseconds()
      if deadline == 0 { deadline = now &+ Worker.searchSpinNanoseconds } else if now >= deadline { return nil }
      for _ in 0..<64 { cpuRelax() }
    }
  }

  private func endSearching() {
    guard local.pointee.isSearching else { return }
    local.pointee.isSearching = false
    status.storeRelease(Status.running.rawValue)
    // W2: the last searcher to find work wakes another to keep looking.
    if pool.idle.transitionFromSearching() { pool.notifyWork() }
  }

  @inline(never)
  private func parkIdle() {
    let wasSearching = local.pointee.isSearching
    pool.idle.transitionToParked(poolIndex, searching: local.pointee.isSearching)
    local.pointee.isSearching = false
    fenceFull()  // W1: pairs with the producer's fence in Pool.notifyWork
    let slept = !workVisible()
    var wasTimerSleeper = false
    if slept {
      status.storeRelease(Status.parked.rawValue)
      scheduler.stacks.trim()  // idle time: give surplus cached stack memory back
      let timeout = scheduler.timers.claimSleeper(self)
      counters.increment(.sleeps)
      parker.park(timeoutNanoseconds: timeout)
      wasTimerSleeper = scheduler.timers.releaseSleeper(self)
    }
    local.pointee.isSearching = pool.idle.transitionFromParked(poolIndex)
    if !slept && wasSearching && !local.pointee.isSearching {
      // W2 (Go's findRunnable): producers skipped waking anyone while this worker searched;
      // its re-check found work, so it searches again, and taking the work (endSearching)
      // wakes another worker for the rest. Without this, two fibers injected at once could
      // leave one in the injector with a worker asleep.
      local.pointee.isSearching = pool.idle.transitionToSearching()
    }
    status.storeRelease(local.pointee.isSearching ? Status.searching.rawValue : Status.running.rawValue)
    scheduler.timers.fireDue()
    // T2: this worker may now run a fiber that never yields; pending timers need a sleeper.
    if wasTimerSleeper { scheduler.timers.handOffSleeperRole() }
  }

  /// Switches into `f` and, once it has switched out, does what it asked for (F2).
  private func runFiber(_ next: AnyFiber) {
    if local.pointee.isSearching { endSearching() }
    next.state.storeRelease(FiberState.running)  // F1: this worker owns it now
    if next.context == nil { start(next) }
    local.pointee.current = next
    currentFiberID.storeRelaxed(UInt(next.id))  // for dumps only: no ordering needed
    ThreadLocal.setFiber(Unmanaged.passUnretained(next).toOpaque())
    Context.setCurrentStack(next.stack)
    let saved = Context.switchIn(next)
    // The fiber that switched out: `next`, or a fiber it was running inline (Completion I1).
    // Moved out of the slot, so this reference keeps it alive until we are done with it.
    let f = local.pointee.current.take().unsafelyUnwrapped
    Context.setCurrentStack(nil)
    ThreadLocal.setFiber(nil)
    currentFiberID.storeRelaxed(0)
    let action = pending
    pending = .none
    f.context = saved  // S1
    afterSwitch(f, action)
  }

  /// Does what a fiber that just switched out asked for (F2, F3).
  @inline(__always)
  private func afterSwitch(_ f: AnyFiber, _ action: PendingAction) {
    if let s = f.stack, !s.canaryIntact { Context.reportCanary(s) }
    switch action {
    case .park:
      // F2: publish `parked` only now that the switch out is complete.
      if f.state.compareExchangeFull(FiberState.running, FiberState.parked) {
        counters.increment(.parks)
      } else {
        // F3: a wake came while it was parking; it stays runnable (neither a park nor a wake
        // for the metrics: the waker did not enqueue it).
        f.state.storeRelease(FiberState.runnable)
        requeueLocal(f)
      }
    case .yield:
      // No wake can be pending here: every wake pairs with a registered wait, and a fiber
      // parks right after registering (WaitRecord R1); a `schedule` of a running fiber is
      // kept in its signal word, not as a token. A plain store would lose one (issue 8).
      assert(f.state.loadRelaxed() == FiberState.running, "BUG IN Weft: fiber \(f.id) yielded with a wake pending")
      f.state.storeRelease(FiberState.runnable)
      requeueYielded(f)
    case .finish:
      // A chain of completions (child wakes parent, parent finishes, …) always ends; only
      // fibers that hand off and park can ping-pong forever, so only they count (runNextCap).
      local.pointee.runNextStreak = 0
      counters.increment(.finished)
      Context.destroyTSanFiber(f)
      if let s = f.stack {
        scheduler.stacks.give(s, cache: &local.pointee.stackCache)
        counters.store(.cachedStacks, local.pointee.stackCache.count)
      }
      f.stack = nil
      f.context = nil
    case .none:
      fatalError("BUG IN Weft: fiber \(f.id) switched out without saying why")
    }
  }

  private func start(_ f: AnyFiber) {
    let size = f.stackSize > 0 ? f.stackSize : scheduler.defaultStackSize
    let stack = scheduler.stacks.take(size: size, cache: &local.pointee.stackCache)
    counters.store(.cachedStacks, local.pointee.stackCache.count)
    f.stack = stack
    Context.make(f, stack: stack)
    f.flags.fetchOrFull(FiberFlags.started)
    counters.increment(.started)
  }

  /// Started minus finished fibers of this worker (a fiber may finish on another worker than
  /// it started on); only the sum over all workers, taken after they stopped, is the number
  /// of fibers abandoned (Scheduler L1). Inline runs count in neither: the child neither
  /// starts nor finishes a stack of its own.
  var fibersStartedMinusFinished: Int { counters.load(.started) &- counters.load(.finished) }

  /// A fiber woken while parking: back into this worker's queues.
  private func requeueLocal(_ f: AnyFiber) {
    if f.sticky { f.home.unsafelyUnwrapped.inbox.push(f) } else { deque.push(f); pool.notifyWork() }
  }

  /// `yield()`: behind everything runnable here; handed to idle workers when there are any.
  /// A sticky fiber yields on its home worker, so it can wait in the local `yielded` queue too
  /// (in the inbox it would run before injected work).
  private func requeueYielded(_ f: AnyFiber) {
    if f.sticky {
      local.pointee.yielded.append(f)
    } else if pool.hasIdleWorkers {
      pool.injector.push(f)
      pool.notifyWork()
    } else {
      local.pointee.yielded.append(f)
    }
  }
}

#if canImport(Glibc)
import Glibc
#endif

/// A Weft scheduler: worker threads in a default and an interactive pool, running fibers.
///
/// `Scheduler.shared` starts on first use with `WEFT_NUM_THREADS` workers (Julia's
/// `JULIA_NUM_THREADS`: `"4"`, `"4,1"` for four default and one interactive, or `"auto"`;
/// default: the CPU count) and `WEFT_STACK_SIZE` bytes of stack per fiber. Explicit
/// schedulers have their own workers and must be `shutdown()` when done.
///
/// Threads are numbered as in Julia: interactive workers first (1…i), then default ones.
public final class Scheduler: @unchecked Sendable {
  // SAFETY: all stored properties are immutable after init except the atomic `flags`, and
  // `threadHandles` and `abandonedAtShutdown`, written by `shutdown()` (once, CAS on `flags`).
  //
  // Lifetime after shutdown:
  // - L1: a scheduler that abandoned fibers at shutdown (started, not finished, counted by the
  //   workers' owner-only counters and summed after joining them) is never freed: wakes of
  //   those fibers dereference it and their home workers without counting references. With
  //   none abandoned, no fiber can be woken any more, and the last reference frees it.
  // - L2: after shutdown begins, `submit` from anything but the scheduler's own fibers is
  //   `Weft misuse:` (the fiber would never run; accepting it would also abandon it uncounted).
  let pools: [Pool]
  // SAFETY (unowned(unsafe)): `pools` holds both for the scheduler's lifetime; not counting
  // references keeps the spawn path off the shared objects' reference counts.
  unowned(unsafe) let defaultPool: Pool
  unowned(unsafe) let interactivePool: Pool
  let hasInteractive: Bool
  /// Every worker, interactive ones first (written once in init, before any thread starts).
  private(set) var workers: [Worker] = []
  let timers = Timers()
  /// The reactor, started by the first descriptor opened on this scheduler (IO/SchedulerIO.swift).
  let io = SchedulerIO()
  let stacks: StackPool
  /// Usable stack bytes of a fiber that does not ask for a size.
  public let defaultStackSize: Int
  private let flags = AtomicBlock(cacheAlignedCount: 1)  // 0: shutting down (read at every submit: a line of its own)
  /// Spawns and wakes from threads that are not this scheduler's workers (WorkerCounters M3).
  let offWorkerCounters = OffWorkerCounters()
  /// Live fibers, for `snapshot()` / `stateDump()`; nil unless fiber tracking is on (a `let`:
  /// one predictable branch per spawn and per finish when off). See FiberRegistry.
  let registry: FiberRegistry?
  private var threadHandles: [pthread_t] = []
  /// Interop: Swift jobs enqueued on this scheduler as a `TaskExecutor` (Interop/JobQueue.swift).
  /// A `let`: every job hop reads it, and a `var` of class type costs a retain and a release
  /// per read, on a count that all the workers share (Docs/Benchmarks.md, step 7).
  let jobs: JobQueue

  /// The default stack size: 256 KiB in release builds, 1 MiB in debug builds (an unoptimised
  /// Swift frame is several times larger). See Docs/Architecture.md, "Stacks".
  public static let standardStackSize: Int = {
    if let env = getenv("WEFT_STACK_SIZE"), let n = parseByteCount(String(cString: env)), n > 0 { return n }
    #if DEBUG
    return 1024 * 1024
    #else
    return 256 * 1024
    #endif
  }()

  /// The process-wide scheduler, started on first use (`WEFT_NUM_THREADS`, `WEFT_STACK_SIZE`).
  public static let shared: Scheduler = {
    let (d, i) = threadCountsFromEnvironment()
    let s = Scheduler(threads: d, interactiveThreads: i)
    markShared(s)
    return s
  }()

  /// Starts `threads` default workers and `interactiveThreads` interactive ones.
  ///
  /// `trackFibers`: keep a registry of live fibers so that `snapshot()` and `stateDump()`
  /// can list blocked fibers and what they wait on (default: on when the environment has
  /// `WEFT_TRACK_FIBERS=1`). It costs a locked insert per spawn and a locked removal per
  /// finish (Docs/Testing.md, "Reading a state dump").
  /// - Precondition: `threads` ≥ 1, `interactiveThreads` ≥ 0, `stackSize` ≥ 16 KiB if given.
  public convenience init(threads: Int = Scheduler.cpuCount, interactiveThreads: Int = 0, stackSize: Int? = nil,
                          trackFibers: Bool = Scheduler.trackFibersFromEnvironment) {
    self.init(threads: threads, interactiveThreads: interactiveThreads, stackSize: stackSize,
              guardedStackLimit: StackPool.processGuardedLimit, trackFibers: trackFibers)
  }

  /// `guardedStackLimit`: how many stacks get a guard page before slab stacks take over
  /// (tests lower it to exercise the fallback).
  init(threads: Int, interactiveThreads: Int, stackSize: Int?, guardedStackLimit: Int,
       trackFibers: Bool = Scheduler.trackFibersFromEnvironment) {
    precondition(threads >= 1, "Weft misuse: a Scheduler needs at least 1 default thread (got \(threads))")
    precondition(interactiveThreads >= 0, "Weft misuse: negative interactive thread count \(interactiveThreads)")
    if let s = stackSize {
      precondition(s >= 16 * 1024, "Weft misuse: stackSize \(s) is below the 16 KiB minimum")
    }
    defaultStackSize = stackSize ?? Scheduler.standardStackSize
    stacks = StackPool(defaultStackSize: defaultStackSize, guardedLimit: guardedStackLimit)
    let defaultPool = Pool(kind: .default, workerCount: threads)
    let interactivePool = Pool(kind: .interactive, workerCount: interactiveThreads)
    pools = [defaultPool, interactivePool]
    self.defaultPool = defaultPool
    self.interactivePool = interactivePool
    hasInteractive = interactiveThreads > 0
    registry = trackFibers ? FiberRegistry(workerCount: threads + interactiveThreads) : nil
    jobs = JobQueue(workerCount: threads + interactiveThreads)
    jobs.scheduler = self  // before the workers, which read it
    var all: [Worker] = []
    var inter: [Worker] = []
    for i in 0..<interactiveThreads {
      inter.append(Worker(index: all.count, poolIndex: i, pool: interactivePool, scheduler: self))
      all.append(inter.last!)
    }
    var dflt: [Worker] = []
    for i in 0..<threads {
      dflt.append(Worker(index: all.count, poolIndex: i, pool: defaultPool, scheduler: self))
      all.append(dflt.last!)
    }
    interactivePool.setWorkers(inter)
    defaultPool.setWorkers(dflt)
    workers = all
    timers.scheduler = self
    io.scheduler = self
    _ = Context.installOverflowHandler
    Diagnostics.register(self)  // SIGQUIT dump and deadlock report (Diagnostics.swift)
    for w in all { threadHandles.append(Scheduler.startThread(w)) }
  }

  deinit {
    flags.deallocate()
    offWorkerCounters.deallocate()
  }

  /// The number of CPUs online: the default number of workers.
  public static var cpuCount: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

  /// Number of workers in `pool` (Julia's `Threads.nthreads(pool)`).
  public func threadCount(_ pool: ThreadPool = .default) -> Int { pools[pool.rawValue].workers.count }

  var isShuttingDown: Bool { flags[0].loadAcquire() != 0 }

  /// Stops the workers and joins their threads. Runnable fibers are run first, and so is what
  /// they spawn meanwhile; fibers still blocked when the workers stop are abandoned: never
  /// resumed, their stacks not freed.
  ///
  /// Lifetime after shutdown (Docs/Semantics.md, "Shutdown"): if any fiber was abandoned, the
  /// scheduler stays allocated for the rest of the process, so a later wake of such a fiber
  /// (an `Event.notify()` from another thread, say) is safe; it is ignored — the fiber goes
  /// into a queue no worker looks at again — and the fiber stays abandoned. A sticky fiber
  /// woken during shutdown after its home worker exited is abandoned the same way. New work is
  /// misuse: `spawn` or `schedule` of a created fiber on a shut-down scheduler, other than
  /// by its own fibers while they drain, stops the program with a `Weft misuse:` message.
  /// - Precondition: not called from one of this scheduler's own fibers; not the shared one.
  public func shutdown() {
    precondition(Worker.current?.scheduler !== self,
      "Weft misuse: shutdown() called from a fiber of the scheduler being shut down; call it from another thread")
    precondition(self !== Scheduler.sharedIfStarted, "Weft misuse: the shared scheduler cannot be shut down")
    guard flags[0].compareExchangeFull(0, 1) else { return }
    Diagnostics.unregister(self)
    for w in workers {
      _ = w.pool.idle.unparkSpecific(w.poolIndex)
      w.parker.unpark()
    }
    for t in threadHandles { pthread_join(t, nil) }
    threadHandles = []
    io.shutdown()  // the reactor's monitor thread and descriptors, if I/O was used
    // L1: the threads are joined, so their owner-only counters are ours to read, and no fiber
    // runs any more: every fiber started and not finished is parked or queued for good.
    let abandoned = workers.reduce(0) { $0 &+ $1.fibersStartedMinusFinished }
    if abandoned > 0 {
      // Such a fiber's wakers reach this scheduler and its workers through uncounted
      // pointers (Scheduler.enqueueWoken): keep them allocated, for good.
      _ = Unmanaged.passRetained(self)
      abandonedAtShutdown = abandoned
    }
    stacks.releaseAll()
  }

  /// Fibers abandoned by `shutdown()` (for dumps and tests); written once, before `shutdown`
  /// returns, by the thread that called it.
  private(set) var abandonedAtShutdown = 0

  /// The shared scheduler once started, as an unretained pointer (0 before): written once by
  /// `markShared` while `shared` is being initialised, read from any thread (`shutdown()` of
  /// another scheduler, dumps), so it is an atomic word, not a plain static.
  private static let sharedWord = AtomicBlock(count: 1)
  static var sharedIfStarted: Scheduler? {
    // Acquire: pairs with the release in `markShared`.
    let p = sharedWord[0].loadAcquire()
    if p == 0 { return nil }
    // SAFETY: the shared scheduler is never released (the `shared` static holds it).
    return Unmanaged<Scheduler>.fromOpaque(UnsafeRawPointer(bitPattern: p).unsafelyUnwrapped).takeUnretainedValue()
  }

  /// The pool fibers asking for `kind` run in (Julia: an empty interactive pool means default).
  @inline(__always)
  func pool(for kind: ThreadPool) -> Pool {
    kind == .interactive && hasInteractive ? interactivePool : defaultPool
  }

  /// The scheduler of the calling fiber, or the shared one.
  @usableFromInline
  static var current: Scheduler { Worker.current?.scheduler ?? .shared }

  /// `current`, uncounted (for `spawn`): a worker's scheduler outlives its fibers, and the
  /// shared scheduler is never released.
  @usableFromInline
  static var currentUnretained: Unmanaged<Scheduler> {
    if let p = ThreadLocal.worker {
      return Unmanaged<Worker>.fromOpaque(p)._withUnsafeGuaranteedRef { Unmanaged.fromOpaque($0.schedulerRaw) }
    }
    return Unmanaged.passUnretained(.shared)
  }

  // MARK: Placing fibers

  /// Makes a created fiber runnable for the first time (Julia's `schedule` of a new task).
  @usableFromInline
  func submit(_ f: AnyFiber) {
    if isShuttingDown { checkSubmitDuringShutdown(f) }
    let seen = f.state.fetchCompareExchangeFull(FiberState.created, FiberState.runnable)
    precondition(seen == FiberState.created,
      "Weft misuse: schedule(_:) of fiber \(f.id), which was already started (it is \(FiberState.name(seen)))")
    f.scheduler = self
    registry?.insert(f)  // before any worker can run (and finish) it
    let ref = FiberRef.takeRunReference(f)  // FiberRef O1: dropped when it finishes
    // Every reference below is borrowed (the worker from the thread's slot, the pool and the
    // queues from it): this runs on every spawn, and counted references cost more than the
    // rest of it (they were 9 retains and 8 releases per spawn).
    if let raw = ThreadLocal.worker,
       Unmanaged<Worker>.fromOpaque(raw)._withUnsafeGuaranteedRef({ submit(f, ref, on: $0) }) {
      return
    }
    offWorkerCounters.increment(.spawned)
    if f.sticky {
      let home = pool(for: f.pool).nextWorkerForSticky()
      f.home = home
      f.pool = home.pool.kind
      home.inbox.push(ref)  // FiberRef O3: `f` is not touched after this
      home.pool.unparkForInbox(home)
      return
    }
    let p = pool(for: f.pool)
    p.injector.push(ref)
    p.notifyWork()
  }

  /// `submit` from a worker thread: false if `here` belongs to another scheduler.
  @inline(__always)
  private func submit(_ f: AnyFiber, _ ref: FiberRef, on here: Worker) -> Bool {
    guard here.scheduler === self else { return false }
    here.counters.increment(.spawned)
    if f.sticky {
      // Pinned to the calling worker, as Julia's @async — unless the fiber asked for the
      // interactive pool and the caller is a default worker: then to an interactive worker.
      if f.pool == .interactive && hasInteractive && here.pool.kind != .interactive {
        let home = pool(for: .interactive).nextWorkerForSticky()
        f.home = home
        f.pool = .interactive
        home.inbox.push(ref)  // FiberRef O3
        home.pool.unparkForInbox(home)
        return true
      }
      // Julia #41334: a migratable fiber that schedules a sticky one becomes sticky too,
      // so parent and child never run in parallel.
      here.current?.with { parent in
        if !parent.sticky { parent.sticky = true; parent.home = here }
      }
      f.home = here
      f.pool = here.pool.kind
      here.inbox.push(ref)  // FiberRef O3
      return true
    }
    if here.runsMigratable(f.pool) {
      here.ownDeque.push(ref)
      // Worker W4: from a Swift job, the wake waits for the batch's end.
      if here.local.pointee.runningJobs { here.local.pointee.spawnWakeDeferred = true } else { here.notifyWork() }
    } else {
      let p = pool(for: f.pool)
      p.injector.push(ref)
      p.notifyWork()
    }
    return true
  }

  /// L2: once shutdown began, only this scheduler's own fibers (still running while the
  /// workers drain) may start fibers on it; from anywhere else the fiber would never run.
  @inline(never)
  private func checkSubmitDuringShutdown(_ f: AnyFiber) {
    if let w = Worker.current, w.scheduler === self { return }
    preconditionFailure("Weft misuse: spawn or schedule of fiber \(f.id) on a scheduler that was shut down; "
      + "it would never run: start fibers before shutdown(), or on another scheduler")
  }

  /// Queues a fiber that a wake made runnable (FiberState F3): sticky ones to their home
  /// worker's inbox; migratable ones to the waking worker's run-next slot (a direct hand-off)
  /// or, from outside the pool, to its injector.
  static func enqueueWoken(_ f: FiberRef) {
    // Every reference here is borrowed from a raw pointer: this path runs on every wake-up,
    // and counted references cost more than the rest of it (Docs/Architecture.md).
    let here = ThreadLocal.worker
    let placement = f.with { $0.placement }
    countWake(schedulerRaw: placement.pointee.schedulerRaw.unsafelyUnwrapped, here: here)
    if placement.pointee.sticky {
      let homeRaw = placement.pointee.homeRaw.unsafelyUnwrapped
      Unmanaged<Worker>.fromOpaque(homeRaw)._withUnsafeGuaranteedRef { home in
        home.inbox.push(f)
        if homeRaw != here { home.pool.unparkForInbox(home) }
      }
      return
    }
    let kind = placement.pointee.pool
    let schedulerRaw = placement.pointee.schedulerRaw.unsafelyUnwrapped
    if let here {
      let handedOff = Unmanaged<Worker>.fromOpaque(here)._withUnsafeGuaranteedRef { w -> Bool in
        guard w.schedulerRaw == schedulerRaw, w.runsMigratable(kind) else { return false }
        w.pushRunNext(f)
        return true
      }
      if handedOff { return }
    }
    Unmanaged<Scheduler>.fromOpaque(schedulerRaw)._withUnsafeGuaranteedRef { s in
      let p = s.pool(for: kind)
      p.injector.push(f)
      p.notifyWork()
    }
  }

  /// Counts a wake for `metrics`: on the waking worker (M1) if it is one of the woken fiber's
  /// scheduler's, else in that scheduler's shared counters (M3).
  @inline(__always)
  private static func countWake(schedulerRaw: UnsafeMutableRawPointer, here: UnsafeMutableRawPointer?) {
    if let here {
      let counted = Unmanaged<Worker>.fromOpaque(here)._withUnsafeGuaranteedRef { w -> Bool in
        guard w.schedulerRaw == schedulerRaw else { return false }
        w.counters.increment(.wakes)
        return true
      }
      if counted { return }
    }
    Unmanaged<Scheduler>.fromOpaque(schedulerRaw)._withUnsafeGuaranteedRef { $0.offWorkerCounters.increment(.wakes) }
  }

  /// T2: a timer became the earliest and no worker sleeps on the timer heap.
  func wakeParkedWorkerForTimers() {
    for p in pools where !p.workers.isEmpty {
      fenceFull()
      if let i = p.idle.workerToNotify() { p.workers[i].parker.unpark(); return }
    }
  }

  // MARK: Threads

  private static func startThread(_ w: Worker) -> pthread_t {
    var attr = pthread_attr_t()
    pthread_attr_init(&attr)
    pthread_attr_setstacksize(&attr, 8 * 1024 * 1024)
    var t = pthread_t()
    // The thread keeps its worker and its scheduler alive until it exits (see AnyFiber.scheduler).
    let box = Unmanaged.passRetained(w).toOpaque()
    _ = Unmanaged.passRetained(w.scheduler)
    let rc = pthread_create(&t, &attr, { arg in
      let w = Unmanaged<Worker>.fromOpaque(arg!).takeRetainedValue()
      w.run()
      Unmanaged.passUnretained(w.scheduler).release()
      return nil
    }, box)
    pthread_attr_destroy(&attr)
    precondition(rc == 0, "Weft: cannot start worker thread \(w.index + 1): pthread_create returned \(rc)")
    return t
  }

  static func markShared(_ s: Scheduler) {
    // Release: pairs with the acquire in `sharedIfStarted`.
    sharedWord[0].storeRelease(UInt(bitPattern: Unmanaged.passUnretained(s).toOpaque()))
  }

  static func threadCountsFromEnvironment() -> (Int, Int) {
    guard let env = getenv("WEFT_NUM_THREADS") else { return (cpuCount, 0) }
    let text = String(cString: env).trimmingCharacters(in: " ")
    let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { String($0) }
    func parse(_ s: String, _ fallback: Int) -> Int {
      if s == "auto" { return fallback }
      guard let n = Int(s), n >= 0 else {
        fatalError("Weft: WEFT_NUM_THREADS=\(text) is not a thread count: use N, N,M or auto")
      }
      return n
    }
    let d = max(1, parse(parts.first ?? "auto", cpuCount))
    let i = parts.count > 1 ? parse(parts[1], 1) : 0
    return (d, i)
  }

  static func parseByteCount(_ text: String) -> Int? {
    var s = Substring(text)
    var multiplier = 1
    if let last = s.last?.lowercased() {
      if last == "k" { multiplier = 1024; s = s.dropLast() }
      else if last == "m" { multiplier = 1024 * 1024; s = s.dropLast() }
    }
    return Int(s).map { $0 * multiplier }
  }
}

extension String {
  fileprivate func trimmingCharacters(in set: Character) -> String {
    var s = Substring(self)
    while s.first == set { s = s.dropFirst() }
    while s.last == set { s = s.dropLast() }
    return String(s)
  }
}

extension Scheduler {
  /// Stack pool figures: guarded stacks mapped, slabs mapped, stacks cached in the shared list.
  public var stackStatistics: (guarded: Int, slabs: Int, cached: Int) {
    let s = stacks.statistics
    return (s.guarded, s.slabs, s.cachedShared)
  }
}

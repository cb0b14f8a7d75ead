/// A cheap snapshot of a scheduler's counters and queue depths (`Scheduler.metrics`), for
/// dashboards and end-of-run reports (the `WeftMetrics` product exports it to swift-metrics).
///
/// How it is kept (Docs/Architecture.md, "Metrics"): each worker counts its own events in a
/// block only it writes, with plain relaxed stores (no atomic read-modify-write on spawn,
/// switch, park, wake or steal); events off the scheduler's workers (a spawn or a wake from
/// another thread) go to a shared atomic counter. Reading sums the workers' blocks with
/// relaxed loads, while they run, so a snapshot is **approximate**: its fields are not read
/// at one instant, and derived figures (`fibersLive`, `fibersParked`) can be off by the events
/// in flight. Counters (`…Total`-like fields) only grow; depths and gauges are as seen.
/// Taking a snapshot takes a few short internal locks (timers, stack pool, injectors) and
/// never blocks on a fiber, so any thread may call it, a watchdog included.
public struct SchedulerMetrics: Sendable, CustomStringConvertible {
  /// One worker's share (its counters and queue depths).
  public struct Worker: Sendable {
    /// Julia's `threadid()` of the worker (1-based, interactive workers first).
    public let threadid: Int
    /// The thread pool the worker belongs to.
    public let pool: ThreadPool
    /// Fibers spawned (or `schedule`d for the first time) by fibers running on this worker.
    public let fibersSpawned: Int
    /// Fibers that finished here (including those run inline by a waiter here).
    public let fibersFinished: Int
    /// Fibers that parked here, and fibers that a fiber on this worker woke.
    public let parks: Int
    /// Parked fibers that fibers running on this worker woke.
    public let wakes: Int
    /// Switches from one fiber straight to the next on this worker, without the loop.
    public let directSwitches: Int
    /// Sweeps over the other workers' queues, and fibers taken from them.
    public let stealAttempts: Int
    /// Fibers this worker took from other workers.
    public let steals: Int
    /// Times this worker slept on its futex for want of work.
    public let sleeps: Int
    /// Fibers in its work-stealing deque, its sticky inbox and its run-next slot (0 or 1).
    public let dequeDepth: Int
    /// Sticky fibers queued in its inbox.
    public let inboxDepth: Int
    /// 1 when a fiber waits in its run-next slot, else 0.
    public let runNextDepth: Int
  }

  /// Fibers spawned (`spawn`, or `schedule` of a created fiber) since the scheduler started,
  /// from workers and from other threads.
  public let fibersSpawned: Int
  /// Fibers whose body returned or threw.
  public let fibersFinished: Int
  /// Spawned and not finished: queued, running or blocked (abandoned ones after shutdown).
  public let fibersLive: Int
  /// Fibers blocked in a wait now: parks minus wakes (fibers of non-worker threads, which
  /// block their OS thread, are not counted).
  public let fibersParked: Int
  /// Times a fiber parked (blocked in a Weft wait), and times a parked fiber was woken.
  /// A wake that arrives while its fiber is still switching out counts in neither.
  public let parks: Int
  /// Times a parked fiber was woken.
  public let wakes: Int
  /// Switches from a fiber that parked, yielded or finished straight to the fiber it had
  /// just woken (a hand-off), without passing through the worker's loop.
  public let directSwitches: Int
  /// Steal sweeps by idle workers over the other workers of their pool.
  public let stealAttempts: Int
  /// Fibers stolen from one worker by another (a sweep takes up to half of a victim's deque,
  /// so this can exceed `stealAttempts`).
  public let steals: Int
  /// Times a worker went to sleep on its futex for want of work (Tokio's park count).
  public let workerSleeps: Int
  /// Fibers queued now: in the pools' injectors, the workers' sticky inboxes, their deques,
  /// and their run-next slots.
  public let injectorDepth: Int
  /// Fibers queued in the workers' sticky inboxes.
  public let inboxDepth: Int
  /// Fibers queued in the workers' work-stealing deques.
  public let dequeDepth: Int
  /// Fibers waiting in the workers' run-next slots.
  public let runNextDepth: Int
  /// Timers pending (sleeps, timeouts, timed waits) now.
  public let timersPending: Int
  /// Timers fired so far, and how late they fired after their deadline (ns): total and
  /// worst. `timerLatenessTotalNanoseconds / timersFired` is the mean lateness.
  public let timersFired: Int
  /// The sum, over fired timers, of how late each fired after its deadline (ns).
  public let timerLatenessTotalNanoseconds: UInt64
  /// The latest a timer fired after its deadline (ns).
  public let timerLatenessMaxNanoseconds: UInt64
  /// Fiber stacks held by started, unfinished fibers.
  public let stacksInUse: Int
  /// Default-size stacks cached for reuse (in the workers' caches and the shared list), and
  /// the bytes they may still hold: those not yet trimmed, times one stack's mapping (an upper
  /// bound — the kernel commits only the pages a fiber touched).
  public let stacksCached: Int
  /// The bytes the cached stacks may still hold (an upper bound).
  public let stackCachedBytes: Int
  /// Per-worker breakdown, by threadid.
  public let workers: [Worker]

  /// The mean lateness of fired timers, in nanoseconds (0 when none fired).
  public var timerLatenessMeanNanoseconds: UInt64 {
    timersFired == 0 ? 0 : timerLatenessTotalNanoseconds / UInt64(timersFired)
  }

  /// A compact multi-line summary.
  public var description: String {
    func us(_ ns: UInt64) -> String { "\((Double(ns) / 100).rounded() / 10) µs" }
    return """
      Weft metrics: fibers spawned \(fibersSpawned), finished \(fibersFinished), live \(fibersLive), parked \(fibersParked)
        parks \(parks), wakes \(wakes), direct switches \(directSwitches), \(steals) fibers stolen in \(stealAttempts) steal sweeps, worker sleeps \(workerSleeps)
        queued: injector \(injectorDepth), inbox \(inboxDepth), deque \(dequeDepth), run-next \(runNextDepth)
        timers: \(timersPending) pending, \(timersFired) fired, late mean \(us(timerLatenessMeanNanoseconds)), max \(us(timerLatenessMaxNanoseconds))
        stacks: \(stacksInUse) in use, \(stacksCached) cached (\(stackCachedBytes / 1024) KiB mapped)
      """
  }
}

extension Scheduler {
  /// The scheduler's counters and queue depths now (see `SchedulerMetrics`): approximate,
  /// cheap (a few hundred loads and four short locks), from any thread, never blocking on a
  /// fiber.
  public var metrics: SchedulerMetrics {
    var perWorker: [SchedulerMetrics.Worker] = []
    var spawned = offWorkerCounters.load(.spawned)
    var wakes = offWorkerCounters.load(.wakes)
    var finished = 0, started = 0, finishedOwnStack = 0, parks = 0, direct = 0, attempts = 0, steals = 0, sleeps = 0
    var deque = 0, inbox = 0, runNext = 0, workerCached = 0
    for w in workers {
      let c = w.counters  // M2: relaxed loads of owner-written words
      let ownStack = c.load(.finished)
      let done = ownStack &+ c.load(.finishedInline)
      let m = SchedulerMetrics.Worker(
        threadid: w.index + 1, pool: w.pool.kind, fibersSpawned: c.load(.spawned), fibersFinished: done,
        parks: c.load(.parks), wakes: c.load(.wakes), directSwitches: c.load(.directSwitches), stealAttempts: c.load(.stealAttempts), steals: c.load(.steals),
        sleeps: c.load(.sleeps), dequeDepth: w.deque.approximateCount, inboxDepth: w.inbox.approximateCount,
        runNextDepth: w.hasRunNext ? 1 : 0)
      perWorker.append(m)
      spawned &+= m.fibersSpawned; finished &+= done
      started &+= c.load(.started); finishedOwnStack &+= ownStack  // inline runs have no stack of their own
      parks &+= m.parks; wakes &+= m.wakes; direct &+= m.directSwitches; attempts &+= m.stealAttempts; steals &+= m.steals
      sleeps &+= m.sleeps; deque &+= m.dequeDepth; inbox &+= m.inboxDepth; runNext &+= m.runNextDepth
      workerCached &+= c.load(.cachedStacks)
    }
    let injector = pools.reduce(0) { $0 + $1.injector.approximateCount }
    let t = timers.statistics
    let cache = stacks.cacheStatistics
    return SchedulerMetrics(
      fibersSpawned: spawned, fibersFinished: finished, fibersLive: max(0, spawned &- finished),
      fibersParked: max(0, parks &- wakes), parks: parks, wakes: wakes, directSwitches: direct, stealAttempts: attempts, steals: steals,
      workerSleeps: sleeps, injectorDepth: injector, inboxDepth: inbox, dequeDepth: deque, runNextDepth: runNext,
      timersPending: t.pending, timersFired: t.lateness.fired,
      timerLatenessTotalNanoseconds: t.lateness.totalNanoseconds, timerLatenessMaxNanoseconds: t.lateness.maxNanoseconds,
      stacksInUse: max(0, started &- finishedOwnStack), stacksCached: workerCached + cache.warm + cache.cold,
      stackCachedBytes: (workerCached + cache.warm) * stacks.defaultStackMappedBytes,
      workers: perWorker.sorted { $0.threadid < $1.threadid })
  }
}

/// A readable snapshot of a scheduler, for people debugging a hang (and for watchdogs).
///
/// Figures are read without stopping the workers, so they are approximate (each is a single
/// atomic read, or a read under a short internal lock) but never block on a fiber. A dump is
/// safe to take from any thread, including a watchdog thread while the workers are stuck.
///
/// Blocked fibers are listed only when the scheduler tracks fibers
/// (`Scheduler(…, trackFibers: true)` or `WEFT_TRACK_FIBERS=1`); otherwise the dump says so.
/// What a fiber waits on is the name its blocking primitive recorded (`"ReentrantLock"`,
/// `"Channel.take"`, `"sleep"`, `"Fiber.wait"`, `"wait()"`, …). It is read without
/// synchronising with the fiber, so it is exact for a fiber that stays blocked (the case that
/// matters in a deadlock) and may be stale for one woken meanwhile.
public struct SchedulerSnapshot: Sendable, CustomStringConvertible {
  /// One worker thread.
  public struct WorkerInfo: Sendable {
    /// Julia's `threadid()` of the worker (1-based, interactive workers first).
    public let threadid: Int
    /// The thread pool the worker belongs to.
    public let pool: ThreadPool
    /// "starting", "running" (a fiber or its own loop), "searching" (stealing), "parked"
    /// (asleep on its futex) or "stopped".
    public let status: String
    /// Migratable fibers queued in its work-stealing deque.
    public let dequeLength: Int
    /// Sticky fibers queued for it (woken or scheduled from anywhere).
    public let stickyInboxLength: Int
    /// Migratable fibers waiting behind its other work (they yielded, or the run-next cap
    /// moved them on), which other workers may steal.
    public let yieldedLength: Int
    /// True when a fiber waits in its run-next slot (a direct hand-off).
    public let hasRunNext: Bool
    /// The id of the fiber it is running, nil between fibers.
    public let runningFiber: UInt64?
  }

  /// One thread pool.
  public struct PoolInfo: Sendable {
    /// Which pool.
    public let pool: ThreadPool
    /// Its number of workers.
    public let workers: Int
    /// Workers not asleep, and of those, how many are looking for work to steal.
    public let unparked: Int
    /// Of the unparked workers, those looking for work to steal.
    public let searching: Int
    /// Fibers queued from outside the pool's workers.
    public let injectorLength: Int
  }

  /// One live fiber (only when the scheduler tracks fibers).
  public struct FiberInfo: Sendable {
    /// The fiber's id (as in `AnyFiber.id` and the dump).
    public let id: UInt64
    /// "runnable" (queued), "running", "parked" (blocked), "notified" (woken while parking).
    public let state: String
    /// True for a sticky fiber (pinned to one worker).
    public let sticky: Bool
    /// For a sticky fiber, the threadid of the worker it is pinned to.
    public let homeThreadid: Int?
    /// For a parked fiber, what it waits on (empty if its primitive did not say).
    public let waitingOn: String?
    /// For a fiber blocked in `wait()`/`fetch()` of another fiber: that fiber's id.
    public let waitingForFiber: UInt64?
    /// For a parked fiber, its stack, innermost frame first (return into Weft's switch
    /// first; `backtrace.userFrames` starts at the caller's own code). Empty for fibers
    /// that are not parked, for thread fibers, past `snapshot(backtraceLimit:)`, and on
    /// machines other than x86-64. Read while the fiber is held parked (FiberState F5).
    public var backtrace: [BacktraceFrame] = []
    /// True when the fiber is blocked (parked).
    public var isBlocked: Bool { state == "parked" }
  }

  /// True for `Scheduler.shared`.
  public let isShared: Bool
  /// Its two pools, default first.
  public let pools: [PoolInfo]
  /// Every worker, by threadid.
  public let workers: [WorkerInfo]
  /// Swift jobs queued on the scheduler's `TaskExecutor` (async code waiting for a default-pool
  /// worker: tasks preferring Weft, `awaitAsync` bodies), not counting the one job a worker
  /// may keep for itself while it runs jobs (JobQueue J6).
  public let pendingJobs: Int
  /// Timers pending (sleeps, timeouts) and seconds until the earliest is due (negative: overdue).
  public let pendingTimers: Int
  /// Seconds until the earliest timer is due (negative: overdue); nil when none is pending.
  public let nextTimerDue: Double?
  /// Fiber stacks mapped with a guard page.
  public let guardedStacks: Int
  /// Slab stack mappings (64 canary-checked stacks each, past the guard-page budget).
  public let slabStacks: Int
  /// Stacks cached for reuse.
  public let cachedStacks: Int
  /// False when the scheduler does not keep a registry of live fibers.
  public let tracksFibers: Bool
  /// Every live fiber (scheduled, not finished) by id; empty when not tracking.
  public let fibers: [FiberInfo]
  /// Non-worker OS threads blocked in `wait()`/`fetch()` of a live fiber: (the thread's
  /// fiber id, the awaited fiber's id). Only completion waits are visible here.
  public let blockedThreads: [(threadFiber: UInt64, waitingForFiber: UInt64)]
  /// How many fibers a `description` lists one by one before summarising the rest.
  public var listLimit = 50

  /// The fibers blocked in a wait, by id.
  public var blockedFibers: [FiberInfo] { fibers.filter(\.isBlocked) }

  public var description: String {
    var lines: [String] = []
    lines.append("Weft scheduler\(isShared ? " (shared)" : ""): \(workers.count) workers, "
      + "\(pendingTimers) timers pending\(nextTimerDue.map { ", next due in \(Self.seconds($0))" } ?? ""), "
      + "\(pendingJobs) Swift jobs queued, "
      + "stacks: \(guardedStacks) guarded mapped, \(slabStacks) slabs, \(cachedStacks) cached")
    for p in pools {
      lines.append("  pool \(p.pool): \(p.workers) workers, \(p.unparked) unparked, \(p.searching) searching, injector \(p.injectorLength)")
      for w in workers where w.pool == p.pool {
        let running = w.runningFiber.map { ", running fiber \($0)" } ?? ""
        lines.append("    worker \(w.threadid): \(w.status)\(running), deque \(w.dequeLength), "
          + "sticky inbox \(w.stickyInboxLength), yielded \(w.yieldedLength), run-next \(w.hasRunNext ? 1 : 0)")
      }
    }
    guard tracksFibers else {
      lines.append("  fibers: not tracked (create the scheduler with trackFibers: true, or set WEFT_TRACK_FIBERS=1, to list blocked fibers)")
      return lines.joined(separator: "\n")
    }
    var byState: [String: Int] = [:]
    for f in fibers { byState[f.state, default: 0] += 1 }
    let states = ["parked", "runnable", "running", "notified"].compactMap { s in byState[s].map { "\($0) \(s)" } }
    lines.append("  fibers: \(fibers.count) live" + (states.isEmpty ? "" : " (" + states.joined(separator: ", ") + ")"))
    let blocked = blockedFibers
    if !blocked.isEmpty {
      var byWait: [String: Int] = [:]
      for f in blocked { byWait[f.waitingOn ?? "", default: 0] += 1 }
      let summary = byWait.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
        .map { "\($0.value) on \($0.key.isEmpty ? "(unnamed)" : $0.key)" }
      lines.append("  blocked: " + summary.joined(separator: ", "))
      for f in blocked.prefix(listLimit) {
        let pin = f.sticky ? ", sticky on worker \(f.homeThreadid.map(String.init) ?? "?")" : ""
        let on = (f.waitingOn ?? "").isEmpty ? "(unnamed)" : f.waitingOn!
        let target = f.waitingForFiber.map { " of fiber \($0)" } ?? ""
        lines.append("    fiber \(f.id) blocked on \(on)\(target)\(pin)")
        Self.appendBacktrace(f.backtrace, to: &lines)
      }
      if blocked.count > listLimit { lines.append("    … and \(blocked.count - listLimit) more blocked fibers") }
    }
    for t in blockedThreads {
      lines.append("  thread (fiber \(t.threadFiber), not a worker) blocked on Fiber.wait of fiber \(t.waitingForFiber)")
    }
    return lines.joined(separator: "\n")
  }

  /// The user's frames (all frames if none is the user's), one per line, like Go's dumps.
  private static func appendBacktrace(_ frames: [BacktraceFrame], to lines: inout [String]) {
    let user = frames.userFrames
    let shown = user.isEmpty ? frames[...] : user
    for f in shown.prefix(32) { lines.append("        at \(f)") }
    if shown.count > 32 { lines.append("        … \(shown.count - 32) more frames") }
  }

  private static func seconds(_ s: Double) -> String {
    let ms = (s * 1e4).rounded() / 10
    return "\(ms) ms"
  }
}

extension Scheduler {
  /// Reads the scheduler's state now (see `SchedulerSnapshot`). Any thread; never blocks on
  /// a fiber. With fiber tracking, the first `backtraceLimit` parked fibers (by id) get their
  /// `backtrace`; 0 skips the walks. A walk holds its fiber parked for the few microseconds
  /// it copies the return addresses (a wake meanwhile waits for it: FiberState F5).
  public func snapshot(backtraceLimit: Int = 50) -> SchedulerSnapshot {
    var poolInfos: [SchedulerSnapshot.PoolInfo] = []
    var workerInfos: [SchedulerSnapshot.WorkerInfo] = []
    for p in pools where !p.workers.isEmpty {
      let c = p.idle.counts
      poolInfos.append(.init(pool: p.kind, workers: p.workers.count, unparked: c.unparked, searching: c.searching,
                             injectorLength: p.injector.approximateCount))
      for w in p.workers {
        let status = Worker.Status(rawValue: w.status.loadAcquire()).map { "\($0)" } ?? "?"
        let running = w.currentFiberID.loadRelaxed()
        workerInfos.append(.init(threadid: w.index + 1, pool: p.kind, status: status, dequeLength: w.deque.approximateCount,
                                 stickyInboxLength: w.inbox.approximateCount,
                                 yieldedLength: w.yieldedDeque.approximateCount, hasRunNext: w.hasRunNext,
                                 runningFiber: running == 0 ? nil : UInt64(running)))
      }
    }
    workerInfos.sort { $0.threadid < $1.threadid }
    let next = timers.nextDeadline
    let now = monotonicNanoseconds()
    let due: Double? = next == UInt64(UInt.max) ? nil : (Double(next) - Double(now)) / 1e9
    var fiberInfos: [SchedulerSnapshot.FiberInfo] = []
    var threads: [(threadFiber: UInt64, waitingForFiber: UInt64)] = []
    var symbolicator = Symbolicator()
    var walksLeft = backtraceLimit
    if let registry {
      let live = registry.all()
      // Who waits for whom: each live fiber's completion waiters, read under its lock (C2).
      var awaited: [ObjectIdentifier: UInt64] = [:]
      for f in live {
        f.completionLock.lock()
        f.completion.pointee.waiters.forEach { w in
          awaited[ObjectIdentifier(w)] = f.id
          if w.isThreadFiber { threads.append((w.id, f.id)) }
        }
        f.completionLock.unlock()
      }
      for f in live {
        // Acquire: pairs with the worker's CAS running → parked (F2), which follows the
        // fiber's own writes of `waitingOn`, `sticky` and `home` before it parked.
        var s = f.state.loadAcquire()
        if s == FiberState.done { continue }  // finished, not yet removed by its worker
        if s == FiberState.inspected { s = FiberState.parked }  // another snapshot walks it (F5)
        let parked = s == FiberState.parked
        let stable = parked || s == FiberState.runnable || s == FiberState.created
        let sticky = stable ? f.sticky : false
        fiberInfos.append(.init(id: f.id, state: FiberState.name(s), sticky: sticky,
                                homeThreadid: sticky ? f.home.map { $0.index + 1 } : nil,
                                waitingOn: parked ? f.waitingOnDescription : nil,
                                waitingForFiber: parked ? awaited[ObjectIdentifier(f)] : nil))
        if parked && walksLeft > 0, let addresses = f.parkedReturnAddresses() {
          walksLeft -= 1
          fiberInfos[fiberInfos.count - 1].backtrace = symbolicator.frames(addresses)
        }
      }
    }
    let stacks = stackStatistics
    return SchedulerSnapshot(isShared: self === Scheduler.sharedIfStarted, pools: poolInfos, workers: workerInfos,
                             pendingJobs: jobs.pendingCount, pendingTimers: timers.count, nextTimerDue: due, guardedStacks: stacks.guarded,
                             slabStacks: stacks.slabs, cachedStacks: stacks.cached, tracksFibers: registry != nil,
                             fibers: fiberInfos, blockedThreads: threads)
  }

  /// A human-readable dump of `snapshot()`: per pool and worker, status, queue lengths and
  /// the running fiber; with fiber tracking, the blocked fibers and what each waits on (the
  /// first `listLimit` of them one per line, all of them summarised by what they wait on).
  /// `backtraces`: print each listed blocked fiber's stack (its user frames) under it.
  public func stateDump(listLimit: Int = 50, backtraces: Bool = true) -> String {
    var s = snapshot(backtraceLimit: backtraces ? listLimit : 0)
    s.listLimit = listLimit
    return s.description
  }
}

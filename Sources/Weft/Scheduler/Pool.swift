/// Julia's thread pools (1.9+): `.default` for throughput work and `.interactive` for
/// latency-sensitive fibers, so that those never queue behind long-running ones.
public enum ThreadPool: Int, Sendable, CaseIterable, CustomStringConvertible {
  /// The pool `spawn` uses unless asked otherwise (Julia's `:default`).
  case `default` = 0
  /// For latency-sensitive fibers, kept apart from long-running ones (Julia's `:interactive`).
  case interactive = 1

  public var description: String { self == .default ? "default" : "interactive" }
}

/// The workers of one thread pool, with its injector and idle protocol. Fibers move between
/// workers of one pool only (stealing never crosses pools).
final class Pool: @unchecked Sendable {
  let kind: ThreadPool
  // SAFETY: `workers` is written once during Scheduler.init, before any worker starts.
  private(set) var workers: [Worker] = []
  let injector = Injector()
  /// A constant: a `var` of class type costs a retain and a release at every read.
  let idle: Idle
  private let roundRobin = AtomicBlock(count: 1)

  init(kind: ThreadPool, workerCount: Int) {
    self.kind = kind
    self.idle = Idle(workerCount: workerCount)
  }

  deinit { roundRobin.deallocate() }

  func setWorkers(_ ws: [Worker]) { workers = ws }

  /// W1/W2, producer side: call after making work visible in a pool queue.
  @inline(__always)
  func notifyWork() {
    fenceFull()  // pairs with the fence in Worker.parkIdle
    if let i = idle.workerToNotify() { workers[i].parker.unpark() }
  }

  /// Hands sticky work to `w`: wakes it if it sleeps (its inbox was pushed before this call).
  func unparkForInbox(_ w: Worker) {
    fenceFull()  // W1, as in notifyWork
    if idle.unparkSpecific(w.poolIndex) { w.parker.unpark() }
  }

  var hasIdleWorkers: Bool { idle.counts.unparked < workers.count }

  /// The worker a sticky fiber scheduled from outside the pool is pinned to: round-robin.
  func nextWorkerForSticky() -> Worker {
    let n = roundRobin[0].fetchAddRelaxed(1)
    return workers[Int(n % UInt(workers.count))]
  }
}

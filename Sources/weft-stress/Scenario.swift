import Synchronization
import Weft

/// One stress scenario: a name, a line saying what it checks, and a round. The runner calls
/// `round` again and again (each time with a fresh seed derived from the run's seed) until
/// the scenario's duration is spent, then `conclude` for checks over the whole run.
struct Scenario: Sendable {
  let name: String
  /// What it checks, one line (for `--list` and Docs/Testing.md).
  let checks: String
  let round: @Sendable (Round) throws -> Void
  var conclude: (@Sendable (_ notes: Notes, _ failures: Failures, _ workers: Int) -> Void)? = nil
}

/// What one round of a scenario works with. Sizes come from `size(_:)` (scaled by
/// `--scale` / `WEFT_STRESS_SCALE`); random choices from `random` or `random(for:)`.
final class Round: Sendable {
  let scheduler: Scheduler
  let index: Int
  /// The round's seed: every random choice of the round derives from it.
  let seed: UInt64
  let scale: Double
  /// Workers of the default pool, and of the interactive pool (0: `.interactive` fibers run
  /// in the default pool, as in Julia).
  let workers: Int
  let interactive: Int
  let failures: Failures
  /// Operations done (spawns, takes, yields, sleeps, …) and invariants checked.
  let ops: Tally
  let invariants: Tally
  let notes: Notes

  init(scheduler: Scheduler, index: Int, seed: UInt64, scale: Double, workers: Int, interactive: Int, failures: Failures,
       ops: Tally, invariants: Tally, notes: Notes) {
    self.scheduler = scheduler
    self.index = index
    self.seed = seed
    self.scale = scale
    self.workers = workers
    self.interactive = interactive
    self.failures = failures
    self.ops = ops
    self.invariants = invariants
    self.notes = notes
  }

  /// `base` scaled by `--scale`, at least `minimum`.
  func size(_ base: Int, minimum: Int = 1) -> Int { max(minimum, Int((Double(base) * scale).rounded())) }

  /// The round's own random stream (a fresh copy each call: take it once into a `var`).
  var random: StressRandom { StressRandom(seed: seed) }

  /// An independent stream for the thing numbered `i` (a fiber, a chain, a producer).
  func random(for i: Int, _ salt: UInt64 = 0) -> StressRandom {
    StressRandom(seed: StressRandom.derive(seed, UInt64(bitPattern: Int64(i)), salt))
  }

  /// Counts one invariant; records a failure when it does not hold.
  @inline(__always)
  func check(_ ok: Bool, _ message: @autoclosure () -> String) {
    invariants.add()
    if !ok { failures.record(message()) }
    Progress.bump()
  }

  /// A ledger of `count` slots whose failures count against this scenario.
  func ledger(_ name: String, _ count: Int) -> Ledger { Ledger(name, count: count, failures: failures) }

  /// Verifies `ledger` (every slot taken exactly once) and counts its invariants.
  func verify(_ ledger: Ledger) { invariants.add(ledger.verify()) }

  /// The pool a fiber asking for `pool` must run in (Julia: an empty interactive pool means
  /// the default one).
  func expectedPool(_ pool: ThreadPool) -> ThreadPool { pool == .interactive && interactive > 0 ? .interactive : .default }

  /// Checks that the calling fiber runs in the pool it asked for.
  @inline(__always)
  func checkPool(_ asked: ThreadPool, _ what: @autoclosure () -> String) {
    let now = Threads.threadpool()
    check(now == expectedPool(asked), "\(what()) asked for the \(asked) pool but runs in \(now.map { "\($0)" } ?? "no pool")")
  }

  /// Runs `body` on a fiber of the scenario's scheduler and waits for it from this thread.
  func onFiber<R>(_ body: @escaping @Sendable () throws -> R) throws -> R {
    try scheduler.spawn(body).fetch()
  }
}

/// Extra figures a scenario reports (summed or maxed over its rounds), printed after its
/// summary line as key=value.
final class Notes: Sendable {
  private let values = Locked<[(String, Int)]>([])
  init() {}

  func add(_ key: String, _ n: Int) {
    values.withLock { v in
      if let i = v.firstIndex(where: { $0.0 == key }) { v[i].1 += n } else { v.append((key, n)) }
    }
  }

  func max(_ key: String, _ n: Int) {
    values.withLock { v in
      if let i = v.firstIndex(where: { $0.0 == key }) { v[i].1 = Swift.max(v[i].1, n) } else { v.append((key, n)) }
    }
  }

  subscript(_ key: String) -> Int { values.withLock { v in v.first { $0.0 == key }?.1 ?? 0 } }
  var all: [(String, Int)] { values.withLock { $0 } }
}

/// Every scenario, in the order a full run takes them.
let allScenarios: [Scenario] = [
  spawnFlat, spawnTree, spawnChain, stealStorm, stickyMix, yieldStorm, timerStorm, failureStorm,
  lockContention, conditionPingPong, oneWayEventRace, channelTraffic, channelBind, interruptStorm, socketEcho,
]

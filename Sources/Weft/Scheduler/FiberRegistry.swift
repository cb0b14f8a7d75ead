#if canImport(Glibc)
import Glibc
#endif

/// The live fibers of one scheduler, kept only when fiber tracking is on, so that a state
/// dump can list blocked fibers and what they wait on.
///
/// Algorithm: a fixed array of shards, each a dictionary from fiber id to fiber under its own
/// `FutexLock`; a fiber's shard is `id & (shardCount - 1)`. Ids are handed out in sequence, so
/// consecutive spawns land on different shards and workers rarely contend.
/// - R1: a fiber is inserted by `Scheduler.submit` before it is queued, and removed by the
///   worker that switched it out for the last time (`.finish`), so insert happens before
///   remove and a finished fiber is never listed once its worker has freed its stack.
/// - R2: the registry holds a strong reference to each fiber, so a snapshot that copied a
///   fiber out under a shard lock may read its atomic state afterwards.
/// - R3: fibers abandoned by `shutdown()` (blocked forever) stay listed, as they stay alive.
///
/// | field            | written by                       | read by                 |
/// |------------------|----------------------------------|-------------------------|
/// | shard.fibers     | submit (insert), finish (remove) | snapshots, `count`      |
///
/// Cost: one lock round-trip and one dictionary insert per spawn, and the same per finish
/// (tens of nanoseconds uncontended); nothing at all when tracking is off (`registry` is nil).
final class FiberRegistry: @unchecked Sendable {
  // SAFETY: each shard's dictionary is guarded by that shard's lock.
  private let shards: [Shard]
  private let mask: UInt64

  final class Shard: @unchecked Sendable {
    // SAFETY: `fibers` is guarded by `lock`. Eight words so that two shards' lock words do
    // not share a cache line.
    private let words = AtomicBlock(count: 8)
    var lock: FutexLock { FutexLock(words[0]) }
    var fibers: [UInt64: AnyFiber] = [:]
    deinit { words.deallocate() }
  }

  init(workerCount: Int) {
    var n = 8
    while n < 4 * workerCount { n *= 2 }
    shards = (0..<n).map { _ in Shard() }
    mask = UInt64(n - 1)
  }

  @inline(__always)
  private func shard(_ f: AnyFiber) -> Shard { shards[Int(f.id & mask)] }

  /// R1: called by `submit` before the fiber is queued.
  func insert(_ f: AnyFiber) {
    let s = shard(f)
    s.lock.lock()
    s.fibers[f.id] = f
    s.lock.unlock()
  }

  /// R1: called by the worker that finished `f`.
  func remove(_ f: AnyFiber) {
    let s = shard(f)
    s.lock.lock()
    let removed = s.fibers.removeValue(forKey: f.id)
    s.lock.unlock()
    _ = removed  // released outside the lock
  }

  /// Number of live (scheduled, unfinished) fibers.
  var count: Int {
    var n = 0
    for s in shards { s.lock.lock(); n += s.fibers.count; s.lock.unlock() }
    return n
  }

  /// Every live fiber, sorted by id (R2: the array keeps them alive while the caller reads).
  func all() -> [AnyFiber] {
    var out: [AnyFiber] = []
    for s in shards {
      s.lock.lock()
      out.append(contentsOf: s.fibers.values)
      s.lock.unlock()
    }
    out.sort { $0.id < $1.id }
    return out
  }
}

extension Scheduler {
  /// True when the environment has `WEFT_TRACK_FIBERS=1` (or `true`/`yes`): the default of
  /// `Scheduler(…, trackFibers:)` and the setting of `Scheduler.shared`.
  public static let trackFibersFromEnvironment: Bool = {
    guard let env = getenv("WEFT_TRACK_FIBERS") else { return false }
    let v = String(cString: env).lowercased()
    return v == "1" || v == "true" || v == "yes"
  }()

  /// Whether this scheduler keeps a registry of live fibers (`trackFibers`).
  public var tracksFibers: Bool { registry != nil }

  /// The number of live fibers (scheduled and not finished), or nil when not tracking.
  /// A fiber leaves the count just after its waiters were woken, so right after `fetch()`
  /// returns the fiber may still be counted for a moment.
  public var liveFiberCount: Int? { registry?.count }
}

#if canImport(Glibc)
import Glibc
#endif

/// The live fibers of one scheduler, kept only when fiber tracking is on, so that a state
/// dump can list blocked fibers and what they wait on.
///
/// Algorithm: a fixed array of shards, each an open-addressing hash table (linear probing,
/// backward-shift deletion; Knuth, TAOCP vol. 3, 6.4, Algorithm R) from fiber id to fiber,
/// under its own `FutexLock`. A fiber's shard is the low bits of its id and its home slot the
/// next bits: ids are handed out in sequence, so consecutive spawns land on different shards
/// (workers rarely contend) and, within a shard, on neighbouring slots (few cache misses).
/// - R1: a fiber is inserted by `Scheduler.submit` before it is queued, and removed when it
///   completes (`AnyFiber.complete`, on its own stack or run inline by a waiter), after
///   `done` is published and before its waiters are woken; so insert happens before remove,
///   and snapshots skip a fiber already `done` but not yet removed.
/// - R2: the table holds one retain per fiber (`Unmanaged.passRetained`), so a snapshot that
///   copied a fiber out under a shard lock may read its atomic state afterwards.
/// - R3: fibers abandoned by `shutdown()` (blocked forever) stay listed, as they stay alive.
/// - R4: in each table, every key sits between its home slot and the first empty slot after
///   it (the linear-probing invariant that backward-shift deletion preserves); 0 is "empty"
///   (fiber ids start at 1).
///
/// | field             | written by                       | read by                 |
/// |-------------------|----------------------------------|-------------------------|
/// | shard.table       | submit (insert), finish (remove) | snapshots, `count`      |
///
/// Cost (measured in Docs/Testing.md): a lock round-trip and a probe per spawn, the same per
/// finish; nothing at all when tracking is off (`Scheduler.registry` is nil).
final class FiberRegistry: @unchecked Sendable {
  private let shards: [Shard]
  private let shardBits: Int

  final class Shard: @unchecked Sendable {
    // SAFETY: `table` points to memory owned by the shard and is only used under `lock`.
    // Behind a pointer so that its accesses skip dynamic exclusivity checks (as FiberCore).
    // Eight lock words, so that two shards' locks do not share a cache line.
    private let words = AtomicBlock(count: 8)
    var lock: FutexLock { FutexLock(words[0]) }
    let table: UnsafeMutablePointer<IDTable>
    init(shift: Int) {
      table = .allocate(capacity: 1)
      table.initialize(to: IDTable(shift: shift))
    }
    deinit {
      table.pointee.forEach { Unmanaged<AnyFiber>.fromOpaque($0).release() }  // R2
      table.pointee.deallocate()
      table.deinitialize(count: 1)
      table.deallocate()
      words.deallocate()
    }
  }

  init(workerCount: Int) {
    var bits = 3
    while (1 << bits) < 4 * workerCount { bits += 1 }
    shardBits = bits
    shards = (0..<(1 << bits)).map { _ in Shard(shift: bits) }
  }

  @inline(__always)
  private func shard(_ id: UInt64) -> Shard { shards[Int(id & UInt64((1 << shardBits) - 1))] }

  /// R1: called by `submit` before the fiber is queued.
  func insert(_ f: AnyFiber) {
    let s = shard(f.id)
    let p = Unmanaged.passRetained(f).toOpaque()  // R2
    s.lock.lock()
    s.table.pointee.insert(f.id, p)
    s.lock.unlock()
  }

  /// R1: called by `f` itself as it completes.
  func remove(_ f: AnyFiber) {
    let s = shard(f.id)
    s.lock.lock()
    let p = s.table.pointee.remove(f.id)
    s.lock.unlock()
    if let p { Unmanaged<AnyFiber>.fromOpaque(p).release() }  // outside the lock
  }

  /// Number of live (scheduled, unfinished) fibers.
  var count: Int {
    var n = 0
    for s in shards { s.lock.lock(); n += s.table.pointee.count; s.lock.unlock() }
    return n
  }

  /// Every live fiber, sorted by id (R2: the array keeps them alive while the caller reads).
  func all() -> [AnyFiber] {
    var out: [AnyFiber] = []
    for s in shards {
      s.lock.lock()
      s.table.pointee.forEach { out.append(Unmanaged<AnyFiber>.fromOpaque($0).takeUnretainedValue()) }
      s.lock.unlock()
    }
    out.sort { $0.id < $1.id }
    return out
  }
}

/// An open-addressing table from nonzero ids to pointers (see FiberRegistry, R4). Not
/// thread-safe: its shard's lock guards it.
struct IDTable {
  private var keys: UnsafeMutablePointer<UInt64>
  private var values: UnsafeMutablePointer<UnsafeMutableRawPointer?>
  private var capacity: Int
  private(set) var count = 0
  /// Ids are spread over shards by their low `shift` bits; the rest pick the home slot.
  private let shift: Int
  private static let minimumCapacity = 64

  init(shift: Int) {
    self.shift = shift
    capacity = IDTable.minimumCapacity
    keys = .allocate(capacity: capacity)
    keys.initialize(repeating: 0, count: capacity)
    values = .allocate(capacity: capacity)
    values.initialize(repeating: nil, count: capacity)
  }

  func deallocate() { keys.deallocate(); values.deallocate() }

  @inline(__always) private func home(_ id: UInt64) -> Int { Int(truncatingIfNeeded: id >> UInt64(shift)) & (capacity - 1) }

  mutating func insert(_ id: UInt64, _ value: UnsafeMutableRawPointer) {
    if (count + 1) * 10 > capacity * 7 { resize(capacity * 2) }
    var i = home(id)
    while keys[i] != 0 { i = (i + 1) & (capacity - 1) }
    keys[i] = id
    values[i] = value
    count += 1
  }

  mutating func remove(_ id: UInt64) -> UnsafeMutableRawPointer? {
    var i = home(id)
    while keys[i] != id {
      if keys[i] == 0 { return nil }
      i = (i + 1) & (capacity - 1)
    }
    let value = values[i]
    // Backward shift (R4): pull later keys of the probe run into the hole.
    var j = i
    while true {
      j = (j + 1) & (capacity - 1)
      if keys[j] == 0 { break }
      let h = home(keys[j])
      // Move keys[j] into the hole at i unless its home lies cyclically in (i, j].
      let homeInRange = i <= j ? (h > i && h <= j) : (h > i || h <= j)
      if !homeInRange {
        keys[i] = keys[j]
        values[i] = values[j]
        i = j
      }
    }
    keys[i] = 0
    values[i] = nil
    count -= 1
    if capacity > IDTable.minimumCapacity && count * 8 < capacity { resize(capacity / 2) }
    return value
  }

  func forEach(_ body: (UnsafeMutableRawPointer) -> Void) {
    for i in 0..<capacity where keys[i] != 0 { body(values[i]!) }
  }

  @inline(never)
  private mutating func resize(_ newCapacity: Int) {
    let oldKeys = keys, oldValues = values, oldCapacity = capacity
    capacity = newCapacity
    keys = .allocate(capacity: capacity)
    keys.initialize(repeating: 0, count: capacity)
    values = .allocate(capacity: capacity)
    values.initialize(repeating: nil, count: capacity)
    count = 0
    for i in 0..<oldCapacity where oldKeys[i] != 0 {
      var k = home(oldKeys[i])
      while keys[k] != 0 { k = (k + 1) & (capacity - 1) }
      keys[k] = oldKeys[i]
      values[k] = oldValues[i]
      count += 1
    }
    oldKeys.deallocate()
    oldValues.deallocate()
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
  /// A fiber leaves the count as it completes, just after it is `done` and before its
  /// waiters wake, so right after a `fetch()` that saw it done it may be counted a moment.
  public var liveFiberCount: Int? { registry?.count }
}

import CWeft
#if canImport(Glibc)
import Glibc
#endif

/// A fiber's stack: memory from `mmap`, committed lazily by the kernel as it is touched.
///
/// Layout (addresses grow upwards):
///
///     mapping base ─┬─ guard page (PROT_NONE), guarded stacks only
///                   ├─ lowest 64 usable bytes: canary (all zero), unguarded stacks only
///                   │  … usable stack …
///     top ──────────┴─ weft_stack_info (read by the SIGSEGV handler), then the mapping end
///
/// Guarded stacks cost two kernel mappings each (the guard splits the mapping), so at most
/// `StackPool.guardedLimit` are guarded; past that, stacks are carved from slabs (one
/// mapping per `slabStacks` stacks) and protected by a canary checked at every switch.
struct FiberStack {
  /// Lowest address of the stack's memory (the guard page for guarded stacks).
  let base: UnsafeMutableRawPointer
  /// Bytes from `base` to the end of the stack's memory.
  let length: Int
  /// Usable bytes (what `stackSize` asked for, rounded up to pages).
  let usable: Int
  let guarded: Bool
  /// True when this stack is one slot of a slab (never unmapped on its own).
  let fromSlab: Bool

  /// The canary of an unguarded stack is its lowest `canaryWords` words, all zero: a fresh
  /// (or trimmed) mapping reads as zero without being committed, so the canary costs no
  /// resident page — a nonzero pattern written at creation made every slab stack's lowest
  /// page resident, 4 KiB per fiber past the guarded budget (`many_waiters_memory`). An
  /// overflow runs frames through all eight words, and a frame's saved return address and
  /// frame pointer are never zero, so it cannot leave them all zero.
  static let canaryWords = 8

  /// The stack info block at the top; the usable stack ends just below it.
  var info: UnsafeMutablePointer<weft_stack_info> {
    (base + length - FiberStack.infoBytes).assumingMemoryBound(to: weft_stack_info.self)
  }
  /// Highest usable address (16-byte aligned), where the first frame starts.
  var top: UnsafeMutableRawPointer { base + length - FiberStack.infoBytes }
  var lowestUsable: UnsafeMutableRawPointer { guarded ? base + pageSize : base }

  static let infoBytes = 64

  /// Writes the info block. (The canary of an unguarded stack is the mapping's own zeros.)
  func prepare() {
    info.pointee = weft_stack_info(
      guard_lo: guarded ? UInt(bitPattern: base) : 0,
      guard_hi: guarded ? UInt(bitPattern: base + pageSize) : 0,
      stack_size: UInt(usable))
  }

  /// True while the canary of an unguarded stack is intact (guarded stacks always pass).
  @inline(__always) var canaryIntact: Bool {
    if guarded { return true }
    let words = lowestUsable.assumingMemoryBound(to: UInt.self)
    var any: UInt = 0
    for i in 0..<FiberStack.canaryWords { any |= words[i] }
    return any == 0
  }
}

let pageSize: Int = Int(sysconf(Int32(_SC_PAGESIZE)))

@inline(__always) func roundUpToPage(_ n: Int) -> Int { (n + pageSize - 1) & ~(pageSize - 1) }

/// Where fiber stacks come from and go back to.
///
/// - Stacks of the scheduler's default size are cached: first in the releasing worker's
///   own cache (no lock), then in this pool's shared free list (lock). When a worker is
///   about to park, stacks beyond `sharedCacheLimit` in that list give their memory back
///   with `madvise(MADV_DONTNEED)` (off the hot path) and move to the `cold` list; they keep
///   their mapping (mappings are the scarce resource) and are reused after the warm ones.
/// - Stacks of other sizes are mapped for the spawn that asks and unmapped when it ends.
/// - I1: `guardedCount` counts this pool's live guarded mappings; it never exceeds
///   `guardedLimit`, and the process-wide count (all schedulers) never exceeds
///   `processGuardedLimit`.
/// - I2: `releaseAll` (shutdown, deinit) unmaps every cached stack and every slab whose
///   stacks are all free; stacks of fibers abandoned at shutdown stay mapped.
final class StackPool: @unchecked Sendable {
  /// The usable size a fiber that does not ask for one is promised (the scheduler's default).
  let defaultUsable: Int
  /// The usable size a default stack is actually mapped with: twice `defaultUsable`, so that a
  /// default-stack waiter has room to run a default-size child inline (Completion I3). The
  /// mapping is `MAP_NORESERVE` and committed as touched, so the headroom costs address
  /// space, not memory, until a fiber uses it.
  let defaultMapped: Int
  private let lock = OwnedFutexLock()
  // SAFETY: the fields below are guarded by `lock`.
  private var free: [FiberStack] = []
  private var cold: [FiberStack] = []
  private var guardedCount = 0
  private var slabFree: [FiberStack] = []
  private var slabs: [(base: UnsafeMutableRawPointer, length: Int)] = []
  /// Live guarded stacks of every pool in the process (I1).
  private static let processGuarded = AtomicBlock(count: 1)

  static let slabStacks = 64
  static let sharedCacheLimit = 1024
  static var workerCacheLimit: Int { WorkerStackCache.capacity }
  static let trimBatch = 256

  /// How many guarded stacks the process may have: half of what `vm.max_map_count` leaves
  /// after a reserve for everything else (threads, malloc arenas, libraries).
  static let processGuardedLimit: Int = {
    if let env = getenv("WEFT_GUARDED_STACK_LIMIT"), let n = Int(String(cString: env)) { return max(0, n) }
    var maxMaps = 65530
    if let f = fopen("/proc/sys/vm/max_map_count", "r") {
      var buffer = [CChar](repeating: 0, count: 32)
      if fgets(&buffer, 32, f) != nil, let v = Int(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self).filter(\.isNumber)) { maxMaps = v }
      fclose(f)
    }
    // ThreadSanitizer maps memory of its own for every fiber: leave it most of the budget.
    let share = weft_tsan_enabled() ? 4 : 1
    return max(0, (maxMaps - 12_000) / 2 / share)
  }()

  /// Most guarded stacks this pool maps (I1); the rest come from slabs.
  let guardedLimit: Int

  init(defaultStackSize: Int, guardedLimit: Int = StackPool.processGuardedLimit) {
    defaultUsable = roundUpToPage(max(defaultStackSize, 16 * 1024))
    defaultMapped = 2 * defaultUsable
    self.guardedLimit = guardedLimit
  }

  deinit { releaseAll() }

  /// I2: gives every cached stack and every wholly free slab back to the kernel.
  func releaseAll() {
    lock.lock.lock()
    let cached = free + cold + slabFree
    free = []; cold = []; slabFree = []
    var slabList = slabs
    lock.lock.unlock()
    var freePerSlab = [Int](repeating: 0, count: slabList.count)
    for s in cached {
      if s.fromSlab {
        if let i = slabList.firstIndex(where: { s.base >= $0.base && s.base < $0.base + $0.length }) { freePerSlab[i] += 1 }
      } else {
        munmap(s.base, s.length)
        if s.guarded { releaseGuardedBudget() }
      }
    }
    for i in slabList.indices.reversed() where freePerSlab[i] == StackPool.slabStacks {
      munmap(slabList[i].base, slabList[i].length)
      slabList.remove(at: i)
    }
    lock.lock.withLock { slabs = slabList }
  }

  private func releaseGuardedBudget() {
    lock.lock.withLock { guardedCount -= 1 }
    StackPool.processGuarded[0].fetchSubFull(1)
  }

  /// A stack with at least `size` usable bytes, or of the default size for nil (first from
  /// the worker's cache, without any size arithmetic: the start of every default fiber).
  @inline(__always)
  func take(size: Int?, cache: inout WorkerStackCache) -> FiberStack {
    if size == nil, let s = cache.pop() { return s }
    return takeSlow(size: size ?? defaultUsable, cache: &cache)
  }

  private func takeSlow(size: Int, cache: inout WorkerStackCache) -> FiberStack {
    var usable = roundUpToPage(max(size, 16 * 1024))
    if usable == defaultUsable { usable = defaultMapped }
    if usable == defaultMapped {
      if let s = cache.pop() { return s }
      lock.lock.lock()
      if let s = free.popLast() ?? cold.popLast() { lock.lock.unlock(); return s }
      lock.lock.unlock()
    }
    return map(usable: usable)
  }

  /// Returns a stack after its fiber finished (called on the worker, off that stack).
  func give(_ stack: FiberStack, cache: inout WorkerStackCache) {
    guard stack.usable == defaultMapped else { return unmap(stack) }
    if cache.push(stack) { return }
    lock.lock.withLock { free.append(stack) }
  }

  /// Moves a stopping worker's whole cache to the shared list.
  func giveCached(_ cache: inout WorkerStackCache) {
    var all: [FiberStack] = []
    while let s = cache.pop() { all.append(s) }
    lock.lock.withLock { free.append(contentsOf: all) }
  }

  /// Releases the memory of at most `trimBatch` cached stacks beyond `sharedCacheLimit`;
  /// called by a worker about to park, so a large surplus (after 100,000 fibers ended, say) is
  /// given back a batch per idle moment instead of stalling newly submitted work.
  func trim() {
    lock.lock.lock()
    guard free.count > StackPool.sharedCacheLimit else { lock.lock.unlock(); return }
    let batch = free.suffix(min(StackPool.trimBatch, free.count - StackPool.sharedCacheLimit))
    free.removeLast(batch.count)
    lock.lock.unlock()
    for stack in batch {
      // The lowest page (the canary) and the highest (the info block) stay valid.
      let from = stack.lowestUsable + pageSize
      let to = UnsafeMutableRawPointer(bitPattern: UInt(bitPattern: stack.top) & ~UInt(pageSize - 1))!
      if to > from { madvise(from, to - from, MADV_DONTNEED) }
    }
    lock.lock.withLock { cold.append(contentsOf: batch) }
  }

  private func map(usable: Int) -> FiberStack {
    var useGuard = lock.lock.withLock { () -> Bool in
      if guardedCount < guardedLimit { guardedCount += 1; return true }
      return false
    }
    if useGuard && Int(StackPool.processGuarded[0].fetchAddFull(1)) >= StackPool.processGuardedLimit {
      StackPool.processGuarded[0].fetchSubFull(1)
      lock.lock.withLock { guardedCount -= 1 }
      useGuard = false
    }
    if useGuard {
      let length = usable + pageSize + roundUpToPage(FiberStack.infoBytes)
      if let base = mapAnonymous(length) {
        if mprotect(base, pageSize, PROT_NONE) == 0 {
          let s = FiberStack(base: base, length: length, usable: usable, guarded: true, fromSlab: false)
          s.prepare()
          return s
        }
        munmap(base, length)
      }
      releaseGuardedBudget()
      // Fall through to an unguarded stack: the mapping budget or memory ran short.
    }
    if usable == defaultMapped { return takeFromSlab() }
    let length = usable + roundUpToPage(FiberStack.infoBytes)
    guard let base = mapAnonymous(length) else { outOfMemory(length) }
    let s = FiberStack(base: base, length: length, usable: usable, guarded: false, fromSlab: false)
    s.prepare()
    return s
  }

  private func takeFromSlab() -> FiberStack {
    lock.lock.lock()
    if let s = slabFree.popLast() { lock.lock.unlock(); return s }
    lock.lock.unlock()
    let stride = defaultMapped + roundUpToPage(FiberStack.infoBytes)
    let total = stride * StackPool.slabStacks
    guard let slab = mapAnonymous(total) else { outOfMemory(total) }
    var carved: [FiberStack] = []
    carved.reserveCapacity(StackPool.slabStacks)
    for i in 0..<StackPool.slabStacks {
      let s = FiberStack(base: slab + i * stride, length: stride, usable: defaultMapped, guarded: false, fromSlab: true)
      s.prepare()
      carved.append(s)
    }
    let first = carved.removeLast()
    lock.lock.withLock {
      slabs.append((slab, total))
      slabFree.append(contentsOf: carved)
    }
    return first
  }

  private func unmap(_ stack: FiberStack) {
    if stack.fromSlab { lock.lock.withLock { slabFree.append(stack) }; return }
    munmap(stack.base, stack.length)
    if stack.guarded { releaseGuardedBudget() }
  }

  private func mapAnonymous(_ length: Int) -> UnsafeMutableRawPointer? {
    let p = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
    if p == MAP_FAILED || p == nil { return nil }
    return p
  }

  private func outOfMemory(_ length: Int) -> Never {
    fatalError("Weft: out of memory: cannot map \(length) bytes for a fiber stack (errno \(errno)); "
      + "lower the number of live fibers or their stack size")
  }

  /// Stacks cached in the shared lists: `warm` ones still hold whatever memory their last
  /// fiber touched; `cold` ones gave it back (`trim`). For `Scheduler.metrics`.
  var cacheStatistics: (warm: Int, cold: Int) { lock.lock.withLock { (free.count, cold.count) } }
  /// Bytes mapped for one default-size stack (what a cached stack can hold at most).
  var defaultStackMappedBytes: Int { defaultMapped + roundUpToPage(FiberStack.infoBytes) + pageSize }

  /// Counts for the state dump and tests.
  var statistics: (guarded: Int, slabs: Int, cachedShared: Int) {
    lock.lock.withLock { (guardedCount, slabs.count, free.count + cold.count) }
  }
}

/// A worker's own cache of default-size stacks, last in first out (the warmest first), in a
/// fixed raw buffer: taking and giving back a stack cost a few instructions, where a Swift
/// array's `popLast`/`append` cost ~70 per spawn in uniqueness and capacity checks. Owner
/// only (the worker's thread: its loop and the fibers it runs); `deallocate` frees the buffer,
/// which must be empty by then (`StackPool.giveCached`).
struct WorkerStackCache {
  static let capacity = 32
  private let slots: UnsafeMutablePointer<FiberStack>
  private(set) var count = 0

  init() { slots = .allocate(capacity: WorkerStackCache.capacity) }

  @inline(__always) mutating func pop() -> FiberStack? {
    guard count > 0 else { return nil }
    count -= 1
    return (slots + count).move()
  }

  /// False when full (the caller gives the stack to the shared list instead).
  @inline(__always) mutating func push(_ stack: FiberStack) -> Bool {
    guard count < WorkerStackCache.capacity else { return false }
    (slots + count).initialize(to: stack)
    count += 1
    return true
  }

  func deallocate() {
    precondition(count == 0, "BUG IN Weft: a worker's stack cache was freed holding \(count) stacks")
    slots.deallocate()
  }
}

import CWeft

/// One machine word that is only ever accessed atomically, through libatomic_ops.
///
/// The word lives in manually allocated memory (never in a Swift stored property), so its
/// address is stable and Swift's exclusivity checking never sees the concurrent accesses.
/// Each method's name states its memory ordering; callers name the partner operation on the
/// other thread in a comment (shared/STYLE.md, habit 2).

struct AtomicWord: @unchecked Sendable {
  // SAFETY: `pointer` is owned by whoever allocated it (see `AtomicBlock`) and is only
  // read and written through the atomic operations below.
  let pointer: UnsafeMutablePointer<UInt>

  init(_ pointer: UnsafeMutablePointer<UInt>) { self.pointer = pointer }

  @inline(__always) func loadRelaxed() -> UInt { weft_load_relaxed(pointer) }
  @inline(__always) func loadAcquire() -> UInt { weft_load_acquire(pointer) }
  @inline(__always) func storeRelaxed(_ v: UInt) { weft_store_relaxed(pointer, v) }
  @inline(__always) func storeRelease(_ v: UInt) { weft_store_release(pointer, v) }

  /// Sequentially consistent CAS; true when the word held `expected` and now holds `desired`.
  @inline(__always)
  func compareExchangeFull(_ expected: UInt, _ desired: UInt) -> Bool {
    weft_cas_full(pointer, expected, desired)
  }
  @inline(__always)
  func compareExchangeAcquire(_ expected: UInt, _ desired: UInt) -> Bool {
    weft_cas_acquire(pointer, expected, desired)
  }
  @inline(__always)
  func compareExchangeRelease(_ expected: UInt, _ desired: UInt) -> Bool {
    weft_cas_release(pointer, expected, desired)
  }
  /// Sequentially consistent CAS returning the value found (== expected on success).
  @inline(__always)
  func fetchCompareExchangeFull(_ expected: UInt, _ desired: UInt) -> UInt {
    weft_fetch_cas_full(pointer, expected, desired)
  }
  /// Sequentially consistent exchange.
  @inline(__always)
  func exchangeFull(_ desired: UInt) -> UInt {
    var seen = loadRelaxed()
    while true {
      let found = weft_fetch_cas_full(pointer, seen, desired)
      if found == seen { return found }
      seen = found
    }
  }
  @inline(__always) @discardableResult
  func fetchAddFull(_ delta: UInt) -> UInt { weft_fetch_add_full(pointer, delta) }
  @inline(__always) @discardableResult
  func fetchSubFull(_ delta: UInt) -> UInt { weft_fetch_add_full(pointer, 0 &- delta) }
  /// Sequentially consistent bitwise OR (sets `bits`; setting a set bit changes nothing).
  @inline(__always) @discardableResult
  func fetchOrFull(_ bits: UInt) -> UInt {
    var seen = loadRelaxed()
    while true {
      let found = weft_fetch_cas_full(pointer, seen, seen | bits)
      if found == seen { return found }
      seen = found
    }
  }
  @inline(__always) @discardableResult
  func fetchAddRelaxed(_ delta: UInt) -> UInt { weft_fetch_add_relaxed(pointer, delta) }

  /// Sleeps while the word's low 32 bits equal `expected` (values stay below 2^32).
  /// Returns false on timeout. `timeoutNanoseconds` < 0 waits forever.
  @discardableResult
  func futexWait(expected: UInt, timeoutNanoseconds: Int64 = -1) -> Bool {
    weft_futex_wait(pointer, expected, timeoutNanoseconds) == 0
  }
  func futexWake(_ count: Int32 = 1) { weft_futex_wake(pointer, count) }
}

/// A small block of atomic words allocated together; freed by its owner's `deinit`.

struct AtomicBlock: @unchecked Sendable {
  // SAFETY: allocated in `init`, released exactly once by `deallocate()` from the owning
  // object's deinit, when no other thread can reach the owner any more.
  let base: UnsafeMutablePointer<UInt>

  init(count: Int) {
    base = .allocate(capacity: count)
    base.initialize(repeating: 0, count: count)
  }
  /// `count` words (rounded up to whole cache lines) starting on a 128-byte boundary, so that
  /// words one thread writes often share no cache line with another allocation's (two lines:
  /// adjacent-line prefetch pairs them on x86).
  init(cacheAlignedCount count: Int) {
    let words = (count + 15) & ~15
    let raw = UnsafeMutableRawPointer.allocate(byteCount: words * MemoryLayout<UInt>.stride, alignment: 128)
    base = raw.bindMemory(to: UInt.self, capacity: words)
    base.initialize(repeating: 0, count: words)
  }
  @inline(__always) subscript(index: Int) -> AtomicWord { AtomicWord(base + index) }
  func deallocate() { base.deallocate() }
}

/// Atomic words each on its own pair of cache lines (128 bytes, 128-byte aligned), for words
/// that different threads write: a deque's `top` (thieves) and `bottom` (owner), a worker's
/// run-next slot (thieves' CAS) and its owner-written words, a lock beside a word every
/// worker reads. Sharing a line makes every write by one side a cache miss for the other.
struct PaddedAtomicBlock: @unchecked Sendable {
  // SAFETY: as AtomicBlock.
  static let strideWords = 16  // 128 bytes
  let base: UnsafeMutablePointer<UInt>

  init(count: Int) {
    let words = count * PaddedAtomicBlock.strideWords
    let raw = UnsafeMutableRawPointer.allocate(byteCount: words * MemoryLayout<UInt>.stride, alignment: 128)
    base = raw.bindMemory(to: UInt.self, capacity: words)
    base.initialize(repeating: 0, count: words)
  }
  /// Word `index`'s line; `offset` picks a word inside it (words that share a writer).
  @inline(__always) subscript(index: Int, offset: Int = 0) -> AtomicWord {
    AtomicWord(base + index * PaddedAtomicBlock.strideWords + offset)
  }
  func deallocate() { base.deallocate() }
}

/// Full (sequentially consistent) fence: orders every earlier load and store before every
/// later one. Used by the idle protocol (Docs/Architecture.md, "Idle and wake").
@inline(__always) func fenceFull() { weft_fence_full() }

/// Spin-wait hint to the CPU.
@inline(__always) func cpuRelax() { weft_cpu_relax() }

/// Monotonic clock in nanoseconds.
@inline(__always) func monotonicNanoseconds() -> UInt64 { weft_now_ns() }

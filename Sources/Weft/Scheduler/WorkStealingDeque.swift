/// A worker's deque of migratable fibers: the Chase–Lev work-stealing deque with the C11
/// memory orderings of Lê, Pop, Cohen and Zappa Nardelli, "Correct and Efficient
/// Work-Stealing for Weak Memory Models", PPoPP 2013 (their Fig. 1), on libatomic_ops.
///
/// The owner pushes and pops at `bottom` (LIFO: depth-first for fork–join); thieves take one
/// fiber at `top` (FIFO: the oldest, usually the biggest piece of work).
///
/// | field    | written by                         | read by            |
/// |----------|------------------------------------|--------------------|
/// | bottom   | owner                              | owner, thieves     |
/// | top      | thieves (CAS), owner (CAS on last) | owner, thieves     |
/// | buffer   | owner (grow)                       | owner, thieves     |
/// | slots    | owner (push)                       | owner, thieves     |
///
/// Indices are unbounded counters kept in words and compared as signed integers.
/// - D1: the elements live at indices top..<bottom; an element is taken exactly once, by
///   whoever wins the CAS on `top` (or by the owner popping above `top`).
/// - D2: a buffer that was replaced by `grow` stays allocated until the deque is deinitialised,
///   so a thief that loaded the old buffer can still read it (its CAS on `top` then decides).
/// - D3: slots hold uncounted `FiberRef`s (FiberRef O2): pushing and taking touch no count.
/// - D4: the owner's operations are reachable only through the `Owner` view, which is not
///   `Sendable` and lives in the owning worker's owner-only state (`Worker.Local`); other
///   threads get the `Stealer` view (crossbeam-deque's `Worker` / `Stealer`).
/// - D5: an owner may use the deque as a FIFO instead (`takeOldest`, at the top with the
///   thieves' CAS, and never `pop`): a worker's yielded fibers (`YieldedQueues`). Then
///   `bottom` counts every push and `top` every take, which `YieldedQueues` orders by.
final class WorkStealingDeque: @unchecked Sendable {
  // SAFETY: fields are only touched through atomics (words, slots) or by the owner (retired).
  // `top` (written by thieves) and `bottom` (written by the owner at every push and pop) on
  // lines of their own; the buffer word, written by the owner only when it grows, shares
  // `bottom`'s line (thieves read both).
  private let words = PaddedAtomicBlock(count: 2)  // [0]: top; [1]: bottom, [1, 1]: buffer (Unmanaged<Buffer>)
  fileprivate var top: AtomicWord { words[0] }
  fileprivate var bottom: AtomicWord { words[1] }
  private var bufferWord: AtomicWord { words[1, 1] }
  private var retired: [Buffer] = []  // owner only (D2)
  private var current: Buffer          // owner only: keeps the live buffer allocated
  /// Owner's copies of `current`'s slots and capacity − 1, so that push and pop read no
  /// object (a `Buffer` read is a retain and a release).
  private var ownerSlots: UnsafeMutablePointer<UInt>
  private var ownerMask: Int

  final class Buffer {
    let capacity: Int  // a power of two
    let slots: UnsafeMutablePointer<UInt>
    init(capacity: Int) {
      self.capacity = capacity
      slots = .allocate(capacity: capacity)
      slots.initialize(repeating: 0, count: capacity)
    }
    deinit { slots.deallocate() }
    @inline(__always) func slot(_ i: Int) -> AtomicWord { AtomicWord(slots + (i & (capacity - 1))) }
  }

  init(capacity: Int = 256) {
    current = Buffer(capacity: capacity)
    ownerSlots = current.slots
    ownerMask = capacity - 1
    bufferWord.storeRelaxed(UInt(bitPattern: Unmanaged.passUnretained(current).toOpaque()))
  }

  deinit {
    while let f = ownerPop() { f.dropRunReference() }  // fibers abandoned at shutdown (FiberRef O1)
    words.deallocate()
  }

  /// The owner's side (D4): `push` and `pop` at the bottom, last in first out. Made once, by
  /// whoever owns the deque; not `Sendable`, so the compiler keeps it from being handed to
  /// another thread's closure.
  struct Owner {
    // SAFETY: uncounted and borrowed at each use, so that the hot path touches no count (an
    // `unowned(unsafe)` reference was still retained around each call); the owner of this
    // view keeps the deque alive (the worker holds `Worker.dequeStorage`, a test its local).
    let deque: Unmanaged<WorkStealingDeque>
    @inline(__always) func push(_ fiber: FiberRef) { deque._withUnsafeGuaranteedRef { $0.ownerPush(fiber) } }
    @inline(__always) func pop() -> FiberRef? { deque._withUnsafeGuaranteedRef { $0.ownerPop() } }
    /// D5: the oldest fiber, taken at the top as a thief takes it: for a deque its owner uses
    /// as a FIFO (a worker's yielded fibers, which other workers may still steal).
    @inline(__always) func takeOldest() -> FiberRef? { deque._withUnsafeGuaranteedRef { $0.ownerTakeOldest() } }
    /// Fibers ever pushed (`bottom`) and ever taken at the top (`top`, by thieves or
    /// `takeOldest`): for a deque used only as a FIFO, the element pushed as the n-th is
    /// still there exactly while `takenAtTop < n` (`YieldedQueues` orders by it).
    // Relaxed: `bottom` is written by its owner only, the caller.
    @inline(__always) var pushedCount: Int { deque._withUnsafeGuaranteedRef { Int(bitPattern: $0.bottom.loadRelaxed()) } }
    // Acquire: pairs with the thieves' CAS on top (a steal still in flight may raise it
    // right after: the order is exact up to the steals racing with the owner).
    @inline(__always) var takenAtTop: Int { deque._withUnsafeGuaranteedRef { Int(bitPattern: $0.top.loadAcquire()) } }
  }

  /// The thieves' side (D4): `steal` at the top and a size estimate, from any thread.
  struct Stealer: @unchecked Sendable {
    // SAFETY: as `Owner.deque`; whoever hands out a stealer outlives its users (a worker
    // lives as long as its scheduler's other workers). The deque itself is Sendable.
    let deque: Unmanaged<WorkStealingDeque>
    /// Nil when empty or when it lost a race (the caller may retry).
    @inline(__always) func steal() -> FiberRef? { deque._withUnsafeGuaranteedRef { $0.thiefSteal() } }
    var approximateCount: Int { deque._withUnsafeGuaranteedRef { $0.approximateCount } }
  }

  /// D4: the owner's view; call once, from the owner.
  var owner: Owner { Owner(deque: .passUnretained(self)) }
  var stealer: Stealer { Stealer(deque: .passUnretained(self)) }

  @inline(__always)
  fileprivate func ownerPush(_ fiber: FiberRef) {
    let b = Int(bitPattern: bottom.loadRelaxed())
    // Acquire: pairs with the thieves' CAS on top, so slots they emptied may be reused.
    let t = Int(bitPattern: top.loadAcquire())
    if b - t > ownerMask { grow(top: t, bottom: b) }
    AtomicWord(ownerSlots + (b & ownerMask)).storeRelaxed(fiber.bits)  // D3
    // Release: publishes the slot to thieves that acquire-load bottom (Lê: fence(release)
    // then relaxed store).
    bottom.storeRelease(UInt(bitPattern: b + 1))
  }

  @inline(__always)
  fileprivate func ownerPop() -> FiberRef? {
    // Empty at a glance: thieves only ever raise `top`, so a stale (relaxed) `top` at or
    // above `bottom` means the deque is empty now; skip the store and the full fence below
    // (one per loop turn with nothing queued: every yield, every switch through the loop).
    let b0 = Int(bitPattern: bottom.loadRelaxed())
    if b0 <= Int(bitPattern: top.loadRelaxed()) { return nil }
    let b = b0 - 1
    bottom.storeRelaxed(UInt(bitPattern: b))
    // Full fence: orders the bottom store before the top load against a thief's
    // top load / fence / bottom load (Lê: fence(seq_cst) in take).
    fenceFull()
    let t = Int(bitPattern: top.loadRelaxed())
    if t > b {  // empty
      bottom.storeRelaxed(UInt(bitPattern: b + 1))
      return nil
    }
    let raw = AtomicWord(ownerSlots + (b & ownerMask)).loadRelaxed()
    if t == b {
      // Last element: race the thieves for it with a full CAS on top (D1).
      let won = top.compareExchangeFull(UInt(bitPattern: t), UInt(bitPattern: t + 1))
      bottom.storeRelaxed(UInt(bitPattern: b + 1))
      if !won { return nil }
    }
    return FiberRef(bits: raw)
  }

  @inline(__always)
  fileprivate func ownerTakeOldest() -> FiberRef? {
    let b = Int(bitPattern: bottom.loadRelaxed())  // the owner's own word
    while true {
      // Acquire: pairs with the CAS of thieves on top (a slot they took is not read again).
      let t = Int(bitPattern: top.loadAcquire())
      guard t < b else { return nil }
      // No fence, unlike thiefSteal: `bottom` is this thread's own, so no pop can race.
      let raw = AtomicWord(ownerSlots + (t & ownerMask)).loadRelaxed()
      // Full CAS on top: pairs with the thieves' CAS; whoever wins owns element t (D1). A
      // loss means a thief took t; look again at the next one.
      if top.compareExchangeFull(UInt(bitPattern: t), UInt(bitPattern: t + 1)) { return FiberRef(bits: raw) }
    }
  }

  fileprivate func thiefSteal() -> FiberRef? {
    // Acquire: pairs with the CAS of other thieves and the owner on top.
    let t = Int(bitPattern: top.loadAcquire())
    // Full fence: pairs with the owner's fence in pop (Lê: fence(seq_cst) in steal).
    fenceFull()
    // Acquire: pairs with the release store of bottom in push.
    let b = Int(bitPattern: bottom.loadAcquire())
    guard t < b else { return nil }
    // Acquire (Lê: consume): pairs with the release publication of the buffer in grow (D2).
    let bufferPtr = UnsafeRawPointer(bitPattern: bufferWord.loadAcquire()).unsafelyUnwrapped
    let raw = Unmanaged<Buffer>.fromOpaque(bufferPtr)._withUnsafeGuaranteedRef { $0.slot(t).loadRelaxed() }  // D2
    // Full CAS on top decides who owns element t (D1).
    guard top.compareExchangeFull(UInt(bitPattern: t), UInt(bitPattern: t + 1)) else { return nil }
    return FiberRef(bits: raw)
  }

  @inline(never)
  private func grow(top t: Int, bottom b: Int) {
    let old = current
    let bigger = Buffer(capacity: old.capacity * 2)
    var i = t
    while i < b { bigger.slot(i).storeRelaxed(old.slot(i).loadRelaxed()); i += 1 }
    retired.append(old)  // D2
    current = bigger
    ownerSlots = bigger.slots
    ownerMask = bigger.capacity - 1
    // Release: publishes the copied slots before thieves can load the new buffer.
    bufferWord.storeRelease(UInt(bitPattern: Unmanaged.passUnretained(bigger).toOpaque()))
  }

  /// Approximate number of fibers (for idle checks and dumps; any thread).
  var approximateCount: Int {
    let b = Int(bitPattern: bottom.loadAcquire())
    let t = Int(bitPattern: top.loadAcquire())
    return max(0, b - t)
  }
}

@available(*, unavailable, message: "a deque's owner view stays on the owning thread (D4)")
extension WorkStealingDeque.Owner: Sendable {}

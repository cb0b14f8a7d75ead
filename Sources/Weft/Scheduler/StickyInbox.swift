/// A worker's inbox of sticky fibers (pinned to it, never stolen): many producers, one
/// consumer (the owning worker).
///
/// Producers push onto a lock-free LIFO stack linked through `AnyFiber.inboxNext` (Treiber);
/// the owner takes the whole stack at once and reverses it into its private FIFO, so fibers
/// come out in the order they were pushed.
///
/// | field   | written by                          | read by         |
/// |---------|-------------------------------------|-----------------|
/// | head    | producers (CAS), owner (exchange)   | producers, owner|
/// | local   | owner                               | owner           |
///
/// - M1: a fiber is in at most one inbox at a time (F1: only runnable fibers are queued), so
///   its single `inboxNext` link is free while it is pushed.
/// - M2: the stack and the FIFO hold uncounted `FiberRef`s (FiberRef O2).
final class StickyInbox: @unchecked Sendable {
  // SAFETY: `head` is atomic; `local` belongs to the owning worker (M1, M2).
  private let words = AtomicBlock(cacheAlignedCount: 2)  // 0: head of the pushed stack; 1: pending count
  private var head: AtomicWord { words[0] }
  private var pending: AtomicWord { words[1] }
  private var local = LocalQueue()

  deinit {
    while let f = pop() { f.dropRunReference() }  // abandoned at shutdown (FiberRef O1)
    local.free()
    words.deallocate()
  }

  /// Any thread.
  func push(_ ref: FiberRef) {
    let node = ref.bits  // M2
    pending.fetchAddFull(1)
    var old = head.loadRelaxed()
    while true {
      ref.with { $0.inboxNext = old }
      // Full CAS (release side): publishes `inboxNext` and the fiber to the owner's exchange.
      let seen = head.fetchCompareExchangeFull(old, node)
      if seen == old { return }
      old = seen
    }
  }

  /// Owner only.
  func pop() -> FiberRef? {
    if let f = local.popFirst() { pending.fetchSubFull(1); return f }
    if head.loadRelaxed() == 0 { return nil }
    // Full exchange (acquire side): pairs with the producers' CAS in push.
    var node = head.exchangeFull(0)
    // The stack is newest first: relink it in place into oldest-first order, then append.
    var reversed: UInt = 0
    while let f = FiberRef(bits: node) {
      node = f.with { f in
        let next = f.inboxNext
        f.inboxNext = reversed
        return next
      }
      reversed = f.bits
    }
    while let f = FiberRef(bits: reversed) {
      reversed = f.with { f in
        let next = f.inboxNext
        f.inboxNext = 0
        return next
      }
      local.append(f)
    }
    pending.fetchSubFull(1)
    return local.popFirst()
  }

  /// True when something may be waiting (any thread): `pending` counts fibers pushed and
  /// not yet popped, whether still on the stack or in the owner's FIFO.
  var mayHaveWork: Bool { pending.loadAcquire() != 0 }
  /// Approximate number of fibers waiting (any thread; for dumps).
  var approximateCount: Int { Int(bitPattern: pending.loadRelaxed()) }
}

/// A FIFO ring of uncounted fiber references (FiberRef O2) used by one thread only (or
/// under a lock). Its buffer is a raw allocation, so appending and popping touch neither a
/// reference count nor Swift's array uniqueness checks; `free()` releases it.
struct LocalQueue {
  private var storage: UnsafeMutablePointer<UInt>? = nil
  private var capacity = 0
  private var headIndex = 0
  private(set) var count = 0

  @inline(__always) mutating func append(_ f: FiberRef) {
    if count == capacity { grow() }
    storage.unsafelyUnwrapped[(headIndex + count) & (capacity - 1)] = f.bits
    count += 1
  }

  @inline(__always) mutating func popFirst() -> FiberRef? {
    guard count > 0 else { return nil }
    let f = storage.unsafelyUnwrapped[headIndex]
    headIndex = (headIndex + 1) & (capacity - 1)
    count -= 1
    return FiberRef(bits: f)
  }

  @inline(never)
  private mutating func grow() {
    let newCapacity = max(16, capacity * 2)
    let bigger = UnsafeMutablePointer<UInt>.allocate(capacity: newCapacity)
    for i in 0..<count { bigger[i] = storage.unsafelyUnwrapped[(headIndex + i) & (capacity - 1)] }
    storage?.deallocate()
    storage = bigger
    capacity = newCapacity
    headIndex = 0
  }

  /// Releases the buffer (the owner's deinit); the queue must not be used afterwards.
  mutating func free() {
    storage?.deallocate()
    storage = nil
    capacity = 0
    count = 0
  }
}

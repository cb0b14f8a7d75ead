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
/// - M2: the stack holds one retain per fiber (`Unmanaged.passRetained`), handed to the owner.
final class StickyInbox: @unchecked Sendable {
  // SAFETY: `head` is atomic; `local` belongs to the owning worker (M1, M2).
  private let words = AtomicBlock(count: 2)  // 0: head of the pushed stack; 1: pending count
  private var head: AtomicWord { words[0] }
  private var pending: AtomicWord { words[1] }
  private var local = LocalQueue()

  deinit {
    while let f = pop() { _ = f }
    words.deallocate()
  }

  /// Any thread.
  func push(_ fiber: AnyFiber) {
    let node = UInt(bitPattern: Unmanaged.passRetained(fiber).toOpaque())  // M2
    pending.fetchAddFull(1)
    var old = head.loadRelaxed()
    while true {
      fiber.inboxNext = old
      // Full CAS (release side): publishes `inboxNext` and the fiber to the owner's exchange.
      let seen = head.fetchCompareExchangeFull(old, node)
      if seen == old { return }
      old = seen
    }
  }

  /// Owner only.
  func pop() -> AnyFiber? {
    if let f = local.popFirst() { pending.fetchSubFull(1); return f }
    if head.loadRelaxed() == 0 { return nil }
    // Full exchange (acquire side): pairs with the producers' CAS in push.
    var node = head.exchangeFull(0)
    var reversed: [AnyFiber] = []
    while node != 0 {
      let f = Unmanaged<AnyFiber>.fromOpaque(UnsafeRawPointer(bitPattern: node).unsafelyUnwrapped).takeRetainedValue()
      node = f.inboxNext
      f.inboxNext = 0
      reversed.append(f)
    }
    for f in reversed.reversed() { local.append(f) }
    pending.fetchSubFull(1)
    return local.popFirst()
  }

  /// True when something may be waiting (any thread): `pending` counts fibers pushed and
  /// not yet popped, whether still on the stack or in the owner's FIFO.
  var mayHaveWork: Bool { pending.loadAcquire() != 0 }
  /// Approximate number of fibers waiting (any thread; for dumps).
  var approximateCount: Int { Int(bitPattern: pending.loadRelaxed()) }
}

/// A FIFO ring of fibers used by one thread only (or under a lock).
struct LocalQueue {
  private var storage: [AnyFiber?] = []
  private var headIndex = 0
  private(set) var count = 0

  mutating func append(_ f: AnyFiber) {
    if count == storage.count { grow() }
    storage[(headIndex + count) & (storage.count - 1)] = f
    count += 1
  }

  mutating func popFirst() -> AnyFiber? {
    guard count > 0 else { return nil }
    let f = storage[headIndex]
    storage[headIndex] = nil
    headIndex = (headIndex + 1) & (storage.count - 1)
    count -= 1
    return f
  }

  private mutating func grow() {
    let newCapacity = max(16, storage.count * 2)
    var bigger = [AnyFiber?](repeating: nil, count: newCapacity)
    for i in 0..<count { bigger[i] = storage[(headIndex + i) & (storage.count - 1)] }
    storage = bigger
    headIndex = 0
  }
}

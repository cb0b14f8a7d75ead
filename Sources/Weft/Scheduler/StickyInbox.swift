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
/// - M3: `pop` is reachable only through the `Owner` view, which is not `Sendable` and lives in
///   the owning worker's owner-only state (`Worker.Local`); producers get the `Producer` view.
final class StickyInbox: @unchecked Sendable {
  // SAFETY: `head` is atomic; `local` belongs to the owning worker (M1, M2).
  private let words = AtomicBlock(cacheAlignedCount: 2)  // 0: head of the pushed stack; 1: pending count
  private var head: AtomicWord { words[0] }
  private var pending: AtomicWord { words[1] }
  /// The owner's FIFO, behind a pointer: as a stored `var` of this class, every `pop` paid a
  /// dynamic exclusivity check (`swift_beginAccess`, ~75 instructions per loop turn).
  private let local = LocalQueue.boxed()

  deinit {
    while let f = ownerPop() { f.dropRunReference() }  // abandoned at shutdown (FiberRef O1)
    LocalQueue.freeBoxed(local)
    words.deallocate()
  }

  /// The owner's side (M3): takes fibers in push order. Made once, by the owner; not
  /// `Sendable`.
  struct Owner {
    // SAFETY: uncounted and borrowed at each use (as WorkStealingDeque.Owner); the owner of
    // this view keeps the inbox alive (the worker holds `Worker.inboxStorage`, a test its local).
    let inbox: Unmanaged<StickyInbox>
    @inline(__always) func pop() -> FiberRef? { inbox._withUnsafeGuaranteedRef { $0.ownerPop() } }
  }

  /// The producers' side (M3): push from any thread, and the counts.
  struct Producer: @unchecked Sendable {
    // SAFETY: as `Owner.inbox`; a worker lives as long as its scheduler's other workers. The
    // inbox itself is Sendable.
    let inbox: Unmanaged<StickyInbox>
    @inline(__always) func push(_ ref: FiberRef) { inbox._withUnsafeGuaranteedRef { $0.producerPush(ref) } }
    var mayHaveWork: Bool { inbox._withUnsafeGuaranteedRef { $0.mayHaveWork } }
    var approximateCount: Int { inbox._withUnsafeGuaranteedRef { $0.approximateCount } }
  }

  /// M3: the owner's view; call once, from the owner.
  var owner: Owner { Owner(inbox: .passUnretained(self)) }
  var producer: Producer { Producer(inbox: .passUnretained(self)) }

  fileprivate func producerPush(_ ref: FiberRef) {
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

  fileprivate func ownerPop() -> FiberRef? {
    if let f = local.pointee.popFirst() { pending.fetchSubFull(1); return f }
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
      local.pointee.append(f)
    }
    pending.fetchSubFull(1)
    return local.pointee.popFirst()
  }

  /// True when something may be waiting (any thread): `pending` counts fibers pushed and
  /// not yet popped, whether still on the stack or in the owner's FIFO.
  var mayHaveWork: Bool { pending.loadAcquire() != 0 }
  /// Approximate number of fibers waiting (any thread; for dumps).
  var approximateCount: Int { Int(bitPattern: pending.loadRelaxed()) }
}

@available(*, unavailable, message: "an inbox's owner view stays on the owning thread (M3)")
extension StickyInbox.Owner: Sendable {}

/// A FIFO ring of uncounted fiber references (FiberRef O2) used by one thread only (or
/// under a lock). Its buffer is a raw allocation, so appending and popping touch neither a
/// reference count nor Swift's array uniqueness checks; `free()` releases it.
struct LocalQueue {
  private var storage: UnsafeMutablePointer<UInt>? = nil
  private var capacity = 0
  private var headIndex = 0
  private(set) var count = 0

  @inline(__always) mutating func append(_ f: FiberRef) { appendWord(f.bits) }

  @inline(__always) mutating func popFirst() -> FiberRef? {
    guard count > 0 else { return nil }
    return FiberRef(bits: popFirstWord())
  }

  /// Raw words, for queues that keep something beside each fiber (`YieldedQueues`).
  @inline(__always) mutating func appendWord(_ w: UInt) {
    if count == capacity { grow() }
    storage.unsafelyUnwrapped[(headIndex + count) & (capacity - 1)] = w
    count += 1
  }

  /// The first word (the queue must not be empty).
  @inline(__always) var firstWord: UInt { storage.unsafelyUnwrapped[headIndex] }

  @inline(__always) mutating func popFirstWord() -> UInt {
    let w = storage.unsafelyUnwrapped[headIndex]
    headIndex = (headIndex + 1) & (capacity - 1)
    count -= 1
    return w
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

  /// A queue behind a pointer, for a class to hold: as a stored `var` of a class, every
  /// access pays a dynamic exclusivity check (`swift_beginAccess`, ~75 instructions).
  static func boxed() -> UnsafeMutablePointer<LocalQueue> {
    let p = UnsafeMutablePointer<LocalQueue>.allocate(capacity: 1)
    p.initialize(to: LocalQueue())
    return p
  }

  /// Frees a `boxed()` queue and its buffer.
  static func freeBoxed(_ p: UnsafeMutablePointer<LocalQueue>) {
    p.pointee.free()
    p.deinitialize(count: 1)
    p.deallocate()
  }
}

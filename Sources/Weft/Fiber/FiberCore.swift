/// The state of one fiber, in the tail bytes of its object: a fiber is one allocation.
///
/// - A1: `AnyFiber.make` makes the object in one block of `objectSize` bytes: the two-word
///   object header, then this block at `AnyFiber.core`. `AnyFiber` and `Fiber<Result>` have
///   no stored properties, so no class initialiser is needed and nothing else lives in the
///   object. `FiberObjectLayoutTests` checks that the classes stay without stored properties.
///   (`ManagedBuffer` cannot be the base: its `Sendable` conformance is unavailable, and
///   fibers cross threads.)
/// - A2: the block comes from the making thread's cache of freed fiber blocks, or from malloc
///   (Sources/CWeft/FiberObjects.c): the header is set with the runtime's
///   `swift_initStackObject`, so that the last release runs `AnyFiber.deinit` but frees
///   nothing, and the deinit's last statement gives the block to the freeing thread's cache.
///   `FiberObjectCacheTests` checks reuse, weak and unowned references, nested frees.
///
/// Accesses through pointers skip Swift's dynamic exclusivity checks (~1,000 instructions
/// per spawn when these were stored properties). The state is split into groups by who
/// writes it, each group at its own fixed offset, because ThreadSanitizer reports a Swift
/// access through `pointer.pointee` at the pointee's address: fields that different threads
/// write under different synchronisation must not share one.
///
/// | group (offset)  | fields                                   | written by                           | read by                   |
/// |-----------------|------------------------------------------|--------------------------------------|---------------------------|
/// | words (0)       | state, lock, exclusivity×2, flags, cold, waitingOn, signal | atomically (FiberState F1–F4; WaitRecord R1–R6) | any thread |
/// | run             | context, stack, tsanFiber                | the worker running / switching it    | that worker               |
/// | placement       | sticky, home, pool, scheduler; stack size, thread fiber (init only) | first schedule; the fiber itself | wakers (after F1 release) |
/// | links           | waitNext, inboxNext                      | wait-list owner (lock); inbox pusher | the same / inbox owner    |
/// | outcome         | invoker, body then result, error         | the fiber itself                     | readers after `done` (C1) |
/// | completion      | waiters of fetch/wait, the first awaiting task | under completionLock           | under completionLock      |
@usableFromInline
enum FiberCore {
  /// Atomic words (indices into the first group).
  enum Word {
    static let state = 0
    static let lock = 1
    static let exclusivity = 2  // two words: 2 and 3
    static let flags = 4
    static let cold = 5
    static let waitingOn = 6
    /// Wait record, pending signals, cancellation (WaitRecord.swift).
    static let signal = 7
  }
  static let wordCount = 8

  struct Run {
    var context: UnsafeMutableRawPointer? = nil
    var stack: FiberStack? = nil
    var tsanFiber: UnsafeMutableRawPointer? = nil
  }

  struct Placement {
    // SAFETY (raw, uncounted references): a scheduler and its workers outlive every use of
    // their fibers: worker threads keep their scheduler alive until shutdown, and a fiber is
    // only queued or woken while its scheduler runs. Raw pointers let the wake path borrow
    // them (`_withUnsafeGuaranteedRef`) with no reference counting at all.
    var homeRaw: UnsafeMutableRawPointer? = nil
    var schedulerRaw: UnsafeMutableRawPointer? = nil
    /// A number unique in this process (`AnyFiber.id`; set at init only).
    let id: UInt64
    /// Requested usable stack bytes, 0 for the scheduler's default (set at init only). 32
    /// bits, so that the flags below share its word and `Outcome.storage` has five words
    /// within the 272-byte object (Docs/Architecture.md, "Hot-path layout").
    let stackSize: UInt32
    var sticky: Bool
    var pool: ThreadPool
    /// The fiber object of a non-worker thread (set at init only).
    let isThreadFiber: Bool
  }

  struct Links {
    var waitNext: UInt = 0
    var inboxNext: UInt = 0
  }

  struct Outcome {
    /// Runs, or destroys, what `storage` holds, knowing its types (`BodyInvoker`). Made in
    /// the caller's specialised code, so it captures nothing: the user's closure is stored
    /// here as is, with no wrapper closure (and its allocation). Taken out to run the body,
    /// and put back only if the result must be destroyed with the fiber (O1). Nil for thread
    /// fibers.
    var invoker: BodyInvoker?
    /// The user's closure (a thick function: two words), moved in by `Fiber.init`, and the
    /// argument it is to be called with, if it was spawned with one (O2); once the body has
    /// run, its typed result (O1).
    var storage: (UInt, UInt, UInt, UInt, UInt) = (0, 0, 0, 0, 0)
    var error: (any Error)? = nil
  }

  /// O1: the body is moved out of `Outcome.storage` before its result is written there, so
  /// the two share it: a result that fits (`resultFitsInline`) is stored in place, a bigger
  /// one in a heap slot whose address is the first word. Which applies is known from the
  /// result's type alone, so `fetch` reads it with no stored layout.
  @inlinable @inline(__always)
  static func resultFitsInline<R>(_: R.Type) -> Bool {
    fits(R.self, inBytes: storageWords * MemoryLayout<UInt>.size)
  }

  /// Words in `Outcome.storage`.
  @inlinable static var storageWords: Int { 5 }

  @inlinable @inline(__always)
  static func fits<T>(_: T.Type, inBytes bytes: Int) -> Bool {
    MemoryLayout<T>.size <= bytes && MemoryLayout<T>.alignment <= MemoryLayout<UInt>.alignment
  }

  /// O2: a body spawned with an argument (`spawn(with:)`, Go's `go f(x)`) is stored as a
  /// closure that captures nothing (so the compiler allocates no context for it) followed by
  /// the argument, in the words after the closure's two when it fits there, otherwise in a
  /// heap slot whose address is the third word. Which applies is known from the types alone.
  @inlinable @inline(__always)
  static func argumentFitsInline<A>(_: A.Type) -> Bool {
    fits(A.self, inBytes: (storageWords - 2) * MemoryLayout<UInt>.size)
  }

  /// O1: stores a body's result in `storage` (the body was moved out first); returns whether
  /// it must be destroyed with the fiber (it is not plain bytes, or it is in a heap slot).
  @inlinable @inline(__always)
  static func storeResult<R>(_ result: consuming R, in storage: UnsafeMutableRawPointer) -> Bool {
    let inline = resultFitsInline(R.self)
    if inline {
      storage.initializeMemory(as: R.self, to: result)
    } else {
      let slot = UnsafeMutablePointer<R>.allocate(capacity: 1)
      slot.initialize(to: result)
      storage.storeBytes(of: UnsafeMutableRawPointer(slot), as: UnsafeMutableRawPointer.self)
    }
    return !inline || !_isPOD(R.self)
  }

  /// O1: destroys a stored result (and frees its heap slot).
  @inlinable @inline(__always)
  static func destroyResult<R>(_: R.Type, in storage: UnsafeMutableRawPointer) {
    let slot = result(R.self, in: storage)
    slot.deinitialize(count: 1)
    if !resultFitsInline(R.self) { slot.deallocate() }
  }

  /// O2: where the argument of type `A` lives, given `Outcome.storage`.
  @inlinable @inline(__always)
  static func argument<A>(_: A.Type, in storage: UnsafeMutableRawPointer) -> UnsafeMutablePointer<A> {
    let at = storage + 2 * MemoryLayout<UInt>.size
    if argumentFitsInline(A.self) { return at.assumingMemoryBound(to: A.self) }
    return at.load(as: UnsafeMutableRawPointer.self).assumingMemoryBound(to: A.self)
  }

  /// O1: where a stored result of type `R` lives, given `Outcome.storage`.
  @inlinable @inline(__always)
  static func result<R>(_: R.Type, in storage: UnsafeMutableRawPointer) -> UnsafeMutablePointer<R> {
    if resultFitsInline(R.self) { return storage.assumingMemoryBound(to: R.self) }
    return storage.load(as: UnsafeMutableRawPointer.self).assumingMemoryBound(to: R.self)
  }

  struct Completion {
    var waiters = WaiterList()
    /// The first Swift task awaiting the fiber (`await fiber.value`; Completion C5): its
    /// continuation, resumed by `complete` with no hook, closure or cold state allocated.
    var awaiter: UnsafeContinuation<Void, Never>? = nil
  }

  // Fixed offsets: each group starts on its own 8-byte boundary (constant-folded), so that
  // no two groups share a word (ThreadSanitizer's shadow granularity is 8 bytes).
  @inline(__always) static func align(_ n: Int) -> Int { (n + 7) & ~7 }
  @inline(__always) static var runOffset: Int { align(wordCount * 8) }
  @inline(__always) static var placementOffset: Int { runOffset + align(MemoryLayout<Run>.size) }
  @inline(__always) static var linksOffset: Int { placementOffset + align(MemoryLayout<Placement>.size) }
  @inline(__always) static var outcomeOffset: Int { linksOffset + align(MemoryLayout<Links>.size) }
  @inline(__always) static var completionOffset: Int { outcomeOffset + align(MemoryLayout<Outcome>.size) }
  @inline(__always) static var totalSize: Int { completionOffset + align(MemoryLayout<Completion>.size) }
  /// The Swift object header (metadata pointer and reference counts) before the block (A1).
  static let objectHeaderSize = 2 * MemoryLayout<UInt>.size
  /// Bytes to allocate for a fiber object: its header and the block (A1).
  @inline(__always) static var objectSize: Int { objectHeaderSize + totalSize }

  /// Initialises the groups in a fresh fiber object's tail bytes (A1).
  @inline(__always)
  static func initialize(_ base: UnsafeMutableRawPointer, id: UInt64, sticky: Bool, pool: ThreadPool,
                         stackSize: UInt32, isThreadFiber: Bool, invoker: BodyInvoker?) {
    base.initializeMemory(as: UInt.self, repeating: 0, count: wordCount)
    (base + runOffset).initializeMemory(as: Run.self, to: Run())
    (base + placementOffset).initializeMemory(as: Placement.self, to: Placement(id: id, stackSize: stackSize, sticky: sticky, pool: pool, isThreadFiber: isThreadFiber))
    (base + linksOffset).initializeMemory(as: Links.self, to: Links())
    (base + outcomeOffset).initializeMemory(as: Outcome.self, to: Outcome(invoker: invoker))
    (base + completionOffset).initializeMemory(as: Completion.self, to: Completion())
  }

  /// Deinitialises the groups (the fiber's deinit; the Swift runtime then frees the object
  /// and its tail with it, A1).
  static func deinitialize(_ base: UnsafeMutableRawPointer) {
    (base + runOffset).assumingMemoryBound(to: Run.self).deinitialize(count: 1)
    (base + placementOffset).assumingMemoryBound(to: Placement.self).deinitialize(count: 1)
    (base + linksOffset).assumingMemoryBound(to: Links.self).deinitialize(count: 1)
    // Most fibers end with nothing left here: skipping the value witnesses of an all-nil
    // group saves ~40 instructions per fiber (chained_spawn, callgrind).
    let outcome = (base + outcomeOffset).assumingMemoryBound(to: Outcome.self)
    if outcome.pointee.invoker != nil || outcome.pointee.error != nil {
      outcome.deinitialize(count: 1)  // `storage` is plain words: AnyFiber.deinit emptied it
    }
    (base + completionOffset).assumingMemoryBound(to: Completion.self).deinitialize(count: 1)
  }
}

/// See `FiberCore.Outcome.invoker`: called with `Outcome.storage` and what to do with it;
/// for `.run`, returns whether the stored result must be destroyed with the fiber (it is not
/// plain bytes, or it is in a heap slot); otherwise false.
@usableFromInline
typealias BodyInvoker = @Sendable (UnsafeMutableRawPointer, BodyOperation) throws -> Bool

/// What a `BodyInvoker` does with the storage it is given (FiberCore O1).
@usableFromInline
enum BodyOperation {
  /// Move the body out, run it, store its result (in place or in a heap slot).
  case run
  /// Destroy the body: the fiber is freed without having run.
  case destroyBody
  /// Destroy the stored result (and free its heap slot).
  case destroyResult
}

/// The parts of a fiber most fibers never use, allocated on first use.
final class FiberCold: @unchecked Sendable {
  // SAFETY: `completionHooks` is guarded by the fiber's completionLock; `pendingError` and
  // `pendingValue` by its signal word's LOCKED bit (WaitRecord R5); `localStorage` and
  // `syncScopes` are touched only by the fiber itself; `wakeValue` and `wakeError` are
  // written by a waker before its wake and read by the fiber after it resumes.
  var completionHooks: [@Sendable (AnyFiber) -> Void] = []
  /// A `schedule(t, error:)` that came while the fiber was not waiting (INTERRUPT_PENDING).
  var pendingError: (any Error)?
  /// A `schedule(t, value:)` that came while the fiber was not in `wait()` (SCHEDULE_PENDING).
  var pendingValue: (any Sendable)?
  var localStorage: [AnyHashable: Any] = [:]
  /// The wake payload (`AnyFiber.wakeValue`, `wakeError`).
  var wakeValue: (any Sendable)?
  var wakeError: (any Error)?
  var syncScopes: [SyncScope] = []
}

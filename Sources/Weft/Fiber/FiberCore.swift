/// The mutable state of one fiber, in one allocation that the fiber object points to.
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
/// | placement       | sticky, home, pool, scheduler            | first schedule; the fiber itself     | wakers (after F1 release) |
/// | links           | waitNext, inboxNext                      | wait-list owner (lock); inbox pusher | the same / inbox owner    |
/// | wake            | wakeValue, wakeError                     | the waker, before its wake           | the fiber, after resuming |
/// | outcome         | body, result slot, error                 | the fiber itself                     | readers after `done` (C1) |
/// | completion      | waiters of fetch/wait                    | under completionLock                 | under completionLock      |
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
    var sticky: Bool
    // SAFETY (raw, uncounted references): a scheduler and its workers outlive every use of
    // their fibers: worker threads keep their scheduler alive until shutdown, and a fiber is
    // only queued or woken while its scheduler runs. Raw pointers let the wake path borrow
    // them (`_withUnsafeGuaranteedRef`) with no reference counting at all.
    var homeRaw: UnsafeMutableRawPointer? = nil
    var pool: ThreadPool
    var schedulerRaw: UnsafeMutableRawPointer? = nil
  }

  struct Links {
    var waitNext: UInt = 0
    var inboxNext: UInt = 0
  }

  struct Wake {
    var value: (any Sendable)? = nil
    var error: (any Error)? = nil
  }

  struct Outcome {
    /// Runs the typed closure held in `bodyStorage` (moving it out) and writes its result
    /// into the slot it is given; given no slot, only destroys the closure (a fiber freed
    /// without running). Made in the caller's specialised code, so it captures nothing: the
    /// user's closure is stored here as is, with no wrapper closure (and its allocation).
    var invoker: BodyInvoker?
    /// The user's closure (a thick function: two words), moved in by `Fiber.init`.
    var bodyStorage: (UInt, UInt) = (0, 0)
    /// The typed result: inline here when it fits, else in `resultHeap`.
    var resultInline: (UInt, UInt, UInt, UInt) = (0, 0, 0, 0)
    var resultHeap: UnsafeMutableRawPointer? = nil
    var resultLayout: ResultLayout
    var error: (any Error)? = nil
  }

  struct Completion {
    var waiters = WaiterList()
  }

  // Fixed offsets: each group starts on its own 16-byte boundary (constant-folded).
  @inline(__always) static func align(_ n: Int) -> Int { (n + 15) & ~15 }
  @inline(__always) static var runOffset: Int { align(wordCount * 8) }
  @inline(__always) static var placementOffset: Int { runOffset + align(MemoryLayout<Run>.size) }
  @inline(__always) static var linksOffset: Int { placementOffset + align(MemoryLayout<Placement>.size) }
  @inline(__always) static var wakeOffset: Int { linksOffset + align(MemoryLayout<Links>.size) }
  @inline(__always) static var outcomeOffset: Int { wakeOffset + align(MemoryLayout<Wake>.size) }
  @inline(__always) static var completionOffset: Int { outcomeOffset + align(MemoryLayout<Outcome>.size) }
  @inline(__always) static var totalSize: Int { completionOffset + align(MemoryLayout<Completion>.size) }

  /// Allocates and initialises the groups.
  static func allocate(sticky: Bool, pool: ThreadPool,
                       invoker: BodyInvoker?,
                       resultLayout: ResultLayout) -> UnsafeMutableRawPointer {
    // Word alignment: a larger one sends swift_slowAlloc to posix_memalign (~200 instructions more).
    let base = UnsafeMutableRawPointer.allocate(byteCount: totalSize, alignment: MemoryLayout<UInt>.alignment)
    base.initializeMemory(as: UInt.self, repeating: 0, count: wordCount)
    (base + runOffset).initializeMemory(as: Run.self, to: Run())
    (base + placementOffset).initializeMemory(as: Placement.self, to: Placement(sticky: sticky, pool: pool))
    (base + linksOffset).initializeMemory(as: Links.self, to: Links())
    (base + wakeOffset).initializeMemory(as: Wake.self, to: Wake())
    (base + outcomeOffset).initializeMemory(as: Outcome.self, to: Outcome(invoker: invoker, resultLayout: resultLayout))
    (base + completionOffset).initializeMemory(as: Completion.self, to: Completion())
    return base
  }

  static func deallocate(_ base: UnsafeMutableRawPointer) {
    (base + runOffset).assumingMemoryBound(to: Run.self).deinitialize(count: 1)
    (base + placementOffset).assumingMemoryBound(to: Placement.self).deinitialize(count: 1)
    (base + linksOffset).assumingMemoryBound(to: Links.self).deinitialize(count: 1)
    (base + wakeOffset).assumingMemoryBound(to: Wake.self).deinitialize(count: 1)
    (base + outcomeOffset).assumingMemoryBound(to: Outcome.self).deinitialize(count: 1)
    (base + completionOffset).assumingMemoryBound(to: Completion.self).deinitialize(count: 1)
    base.deallocate()
  }
}

/// See `FiberCore.Outcome.invoker`: (body storage, result slot or nil to destroy only).
@usableFromInline
typealias BodyInvoker = @Sendable (UnsafeMutableRawPointer, UnsafeMutableRawPointer?) throws -> Void

/// The parts of a fiber most fibers never use, allocated on first use.
final class FiberCold: @unchecked Sendable {
  // SAFETY: `completionHooks` is guarded by the fiber's completionLock; `pendingError` and
  // `pendingValue` by its signal word's LOCKED bit (WaitRecord R5); `localStorage` and
  // `syncScopes` are touched only by the fiber itself.
  var completionHooks: [@Sendable (AnyFiber) -> Void] = []
  /// A `schedule(t, error:)` that came while the fiber was not waiting (INTERRUPT_PENDING).
  var pendingError: (any Error)?
  /// A `schedule(t, value:)` that came while the fiber was not in `wait()` (SCHEDULE_PENDING).
  var pendingValue: (any Sendable)?
  var localStorage: [AnyHashable: Any] = [:]
  var syncScopes: [SyncScope] = []
}

/// How to store and destroy a fiber's typed result without knowing its type at run time:
/// made in the caller's specialised code (`Fiber.init`), so no generic metadata is looked up
/// per fiber.
@usableFromInline
struct ResultLayout: @unchecked Sendable {
  // SAFETY: immutable; `destroy` captures nothing.
  @usableFromInline let size: Int
  @usableFromInline let alignment: Int
  /// Deinitialises a stored result; nil for trivial types.
  @usableFromInline let destroy: ((UnsafeMutableRawPointer) -> Void)?

  @inlinable
  init(size: Int, alignment: Int, destroy: ((UnsafeMutableRawPointer) -> Void)?) {
    self.size = size
    self.alignment = alignment
    self.destroy = destroy
  }

  @inlinable
  static func of<R>(_: R.Type) -> ResultLayout {
    ResultLayout(size: MemoryLayout<R>.size, alignment: MemoryLayout<R>.alignment,
                 destroy: _isPOD(R.self) ? nil : { $0.assumingMemoryBound(to: R.self).deinitialize(count: 1) })
  }

  static let none = ResultLayout(size: 0, alignment: 1, destroy: nil)
  var fitsInline: Bool { size <= 32 && alignment <= 8 }
}

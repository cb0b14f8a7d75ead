#if canImport(Glibc)
import Glibc
#endif

/// A fiber: Julia's `Task`, a stackful coroutine run by a Weft scheduler.
///
/// `AnyFiber` is the untyped base (what `Fiber.current`, `schedule` and wait lists see);
/// `Fiber<Result>` adds the body and its typed result. An OS thread that is not a worker also
/// has a fiber object ("thread fiber", like Julia's root task) so that it can wait on the
/// same primitives: it parks by sleeping on a futex instead of switching stacks.
public class AnyFiber: @unchecked Sendable {
  // SAFETY (for @unchecked Sendable): the atomic words are accessed only atomically; the
  // other mutable fields are owned as documented beside each one, and ownership passes
  // between threads only through the release/acquire of `state` or of a run queue.

  /// words[0]: run state (FiberState, F1–F4); [1]: completion lock; [2], [3]: Swift
  /// exclusivity state (S2); [4]: flags (FiberFlags).
  let words = AtomicBlock(count: 5)
  @inline(__always) var state: AtomicWord { words[0] }
  @inline(__always) var completionLock: FutexLock { FutexLock(words[1]) }
  @inline(__always) var exclusivityState: UnsafeMutablePointer<CChar> {
    UnsafeMutableRawPointer(words.raw(2)).assumingMemoryBound(to: CChar.self)
  }
  @inline(__always) var flags: AtomicWord { words[4] }

  /// A number unique in this process, for messages and dumps.
  public let id: UInt64
  /// True for the fiber object that stands for a non-worker OS thread.
  public let isThreadFiber: Bool

  // Owned by the worker that runs the fiber or has just switched it out:
  var context: UnsafeMutableRawPointer?
  var stack: FiberStack?
  var tsanFiber: UnsafeMutableRawPointer?
  /// Requested usable stack bytes; 0 means the scheduler's default.
  let stackSize: Int

  // Placement, fixed once the fiber is first scheduled (the sticky bit can only turn on,
  // by the fiber itself, while it runs).
  /// Sticky fibers (Julia's `@async`) run only on `home`; migratable ones on any worker of `pool`.
  public internal(set) var sticky: Bool
  var home: Worker?
  var pool: ThreadPool
  var scheduler: Scheduler?

  /// Link for a worker's sticky inbox (a retained `Unmanaged` pointer, or 0).
  var inboxNext: UInt = 0
  /// Link for waiter lists (guarded by the list owner's lock).
  var waitNext: AnyFiber?
  /// What the thing the fiber waits on is, for the state dump (written by the fiber itself).
  var waitingOn: StaticString = ""

  // Wake payload: written by the waker before its wake, read by the fiber after it resumes.
  var wakeValue: (any Sendable)?
  var wakeError: (any Error)?

  // Completion (guarded by `completionLock` until `done` is published).
  var completionWaiters = WaiterList()
  var completionHooks: [@Sendable (AnyFiber) -> Void] = []
  /// The error the body threw, if it failed.
  public internal(set) var error: (any Error)?

  /// Julia's task-local storage: a dictionary that belongs to this fiber only. Read and
  /// write it only from the fiber itself (`Fiber.current.localStorage`).
  public var localStorage: [AnyHashable: Any] = [:]
  /// Innermost-last stack of `sync` scopes this fiber has open.
  var syncScopes: [SyncScope] = []

  init(sticky: Bool, stackSize: Int, pool: ThreadPool, isThreadFiber: Bool = false) {
    self.id = UInt64(AnyFiber.nextID.fetchAddRelaxed(1) &+ 1)
    self.sticky = sticky
    self.stackSize = stackSize
    self.pool = pool
    self.isThreadFiber = isThreadFiber
    if isThreadFiber {
      state.storeRelaxed(FiberState.running)
      flags.storeRelaxed(FiberFlags.started)
    }
  }

  deinit { words.deallocate() }

  private static let idBlock = AtomicBlock(count: 1)
  static var nextID: AtomicWord { idBlock[0] }

  /// Runs the body; returns the error it threw. Overridden by `Fiber<Result>`.
  func invoke() -> (any Error)? { nil }

  // MARK: Public state

  /// Julia's `istaskdone`: the fiber has exited (normally or by an error).
  public var isDone: Bool { state.loadAcquire() == FiberState.done }
  /// Julia's `istaskstarted`: the fiber has begun running.
  public var isStarted: Bool { flags.loadAcquire() & FiberFlags.started != 0 }
  /// Julia's `istaskfailed`: the fiber has exited because its body threw.
  public var isFailed: Bool { isDone && flags.loadAcquire() & FiberFlags.failed != 0 }

  /// The run state's name ("created", "runnable", "running", "parked", "done"), for dumps.
  public var stateDescription: String { FiberState.name(state.loadAcquire()) }
}

extension AnyFiber: CustomStringConvertible {
  public var description: String {
    isThreadFiber ? "Fiber(thread \(id))" : "Fiber(\(id), \(stateDescription)\(sticky ? ", sticky" : ""))"
  }
}

extension AnyFiber: Hashable {
  public static func == (a: AnyFiber, b: AnyFiber) -> Bool { a === b }
  public func hash(into h: inout Hasher) { h.combine(ObjectIdentifier(self)) }
}

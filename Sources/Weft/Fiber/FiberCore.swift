/// The mutable state of one fiber, kept in memory the fiber object points to.
///
/// | field group                          | written by                         | read by                  |
/// |--------------------------------------|------------------------------------|--------------------------|
/// | state, flags (atomic)                | see FiberState F1–F4               | any thread               |
/// | completionLockWord (atomic)          | FutexLock                          | FutexLock                |
/// | exclusivity (two words)              | the Swift runtime, at switches (S2)| the Swift runtime        |
/// | context, stack, tsanFiber            | the worker running / switching it  | the same worker          |
/// | sticky, home, pool, scheduler        | first schedule; the fiber itself   | wakers (after F1 release)|
/// | inboxNext                            | the pusher, then the inbox owner   | the inbox owner          |
/// | waitNext                             | the owner of the waiter list (lock)| the same                 |
/// | wakeValue, wakeError                 | the waker, before its wake         | the fiber, after resuming|
/// | body, result, error, completion*     | the fiber / under completionLock   | after `done` (C1)        |
/// | waitingOn, localStorage, syncScopes  | the fiber itself                   | the fiber, dumps (racy)  |
struct FiberCore {
  // Atomic words first: they are reached by offset (see `word`).
  var state: UInt = FiberState.created
  var completionLockWord: UInt = 0
  var exclusivity: (UInt, UInt) = (0, 0)
  var flags: UInt = 0

  var context: UnsafeMutableRawPointer? = nil
  var stack: FiberStack? = nil
  var tsanFiber: UnsafeMutableRawPointer? = nil
  var sticky: Bool
  // SAFETY (unowned(unsafe)): a scheduler and its workers outlive every use of their fibers:
  // worker threads keep their scheduler alive until shutdown, and a fiber is only queued or
  // woken while its scheduler runs. Not counting references here keeps the shared
  // scheduler's reference count off the spawn and wake paths.
  unowned(unsafe) var home: Worker? = nil
  var pool: ThreadPool
  unowned(unsafe) var scheduler: Scheduler? = nil
  var inboxNext: UInt = 0
  var waitNext: AnyFiber? = nil
  var waitingOn: StaticString = ""
  var wakeValue: (any Sendable)? = nil
  var wakeError: (any Error)? = nil
  /// Runs the fiber's closure and writes its typed result into the slot it is given.
  var body: (@Sendable (UnsafeMutableRawPointer) throws -> Void)?
  /// The typed result: inline here when it fits (`resultInline`), else in `resultHeap`.
  var resultInline: (UInt, UInt, UInt, UInt) = (0, 0, 0, 0)
  var resultHeap: UnsafeMutableRawPointer? = nil
  var resultLayout: ResultLayout
  var error: (any Error)? = nil
  var completionWaiters = WaiterList()
  /// Rarely used state (`FiberCold`), allocated on first use: a retained `Unmanaged` pointer
  /// published with a CAS (atomic word), so freeing an ordinary fiber touches none of it.
  var coldWord: UInt = 0

  init(sticky: Bool, pool: ThreadPool, body: (@Sendable (UnsafeMutableRawPointer) throws -> Void)?,
       resultLayout: ResultLayout) {
    self.sticky = sticky
    self.pool = pool
    self.body = body
    self.resultLayout = resultLayout
  }

  // The atomic words are the first fields, in this order (checked by a test against
  // MemoryLayout.offset(of:)); constants, so that reaching them costs nothing.
  static let stateOffset = 0
  static let lockOffset = 8
  static let exclusivityOffset = 16
  static let flagsOffset = 32

  /// The word at `offset` inside `core`.
  @inline(__always)
  static func word(_ core: UnsafeMutablePointer<FiberCore>, _ offset: Int) -> UnsafeMutablePointer<UInt> {
    // SAFETY: the offsets are of `UInt` (or two-`UInt` tuple) fields of FiberCore, so the
    // address is aligned and typed `UInt`; the memory lives as long as the fiber object.
    (UnsafeMutableRawPointer(core) + offset).assumingMemoryBound(to: UInt.self)
  }
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

/// The parts of a fiber most fibers never use.
final class FiberCold: @unchecked Sendable {
  // SAFETY: `completionHooks` is guarded by the fiber's completionLock; `localStorage` and
  // `syncScopes` are touched only by the fiber itself.
  var completionHooks: [@Sendable (AnyFiber) -> Void] = []
  var localStorage: [AnyHashable: Any] = [:]
  var syncScopes: [SyncScope] = []
}

/// A fiber with a typed result: Julia's `Task`.
///
/// `Fiber { … }` creates a fiber without starting it (Julia's `Task(f)` / `@task`); it is
/// sticky by default, as Julia's tasks are. `schedule(_:)` starts it; `spawn { … }` creates
/// and starts a migratable one. `fetch()` waits and returns the result, or throws
/// `TaskFailedError` if the body threw.
///
/// The closure must be `@Sendable`: it runs on a worker thread, and a non-`Sendable` closure
/// written in top-level code would be inferred main-actor isolated and trap there.
///
/// `Fiber` stores nothing of its own: a fiber is one allocation, the object and its state
/// block together (FiberCore A1), and the body and result live type-erased in that block,
/// so that creating and freeing a `Fiber<Result>` needs no generic metadata at run time; the
/// body closure is moved into the block as it is, with no wrapper around it.
public final class Fiber<Result>: AnyFiber, @unchecked Sendable, _FiberAllocating {
  /// Not for use: `Fiber { … }` (`_FiberAllocating`'s initialiser) calls it. Allocates the
  /// fiber (FiberCore A1) and moves `body` into its block.
  @inlinable
  public static func _allocate(sticky: Bool, pool: ThreadPool, stackSize: Int?,
                               body: @escaping @Sendable () throws -> Result) -> Fiber<Result> {
    typealias Body = @Sendable () throws -> Result
    precondition(MemoryLayout<Body>.size <= MemoryLayout<(UInt, UInt)>.size, "BUG IN Weft: a closure is two words")
    // Captures nothing once specialised (the caller's code), so it allocates nothing.
    // The body and then its result share the storage (FiberCore O1).
    let invoker: BodyInvoker = { storage, operation in
      switch operation {
      case .run:
        let body = storage.assumingMemoryBound(to: Body.self).move()
        return FiberCore.storeResult(try body(), in: storage)
      case .destroyBody:
        storage.assumingMemoryBound(to: Body.self).deinitialize(count: 1)
      case .destroyResult:
        FiberCore.destroyResult(Result.self, in: storage)
      }
      return false
    }
    let fiber = allocate(invoker: invoker, sticky: sticky, pool: pool, stackSize: stackSize)
    fiber.outcomeStorage.initializeMemory(as: Body.self, to: body)  // run by `invoker` (or destroyed)
    return fiber
  }

  /// Not for use: `Fiber(with:) { … }` calls it. Allocates the fiber (FiberCore A1) and
  /// moves `body` and `argument` into its block (O2).
  @inlinable
  public static func _allocate<Argument: Sendable>(
    sticky: Bool, pool: ThreadPool, stackSize: Int?, argument: Argument,
    body: @escaping @Sendable (Argument) throws -> Result
  ) -> Fiber<Result> {
    typealias Body = @Sendable (Argument) throws -> Result
    precondition(MemoryLayout<Body>.size <= MemoryLayout<(UInt, UInt)>.size, "BUG IN Weft: a closure is two words")
    let inline = FiberCore.argumentFitsInline(Argument.self)
    // As above, captures nothing. Body and argument are moved out before the result is
    // stored over them (FiberCore O1, O2).
    let invoker: BodyInvoker = { storage, operation in
      switch operation {
      case .run:
        let body = storage.assumingMemoryBound(to: Body.self).move()
        let slot = FiberCore.argument(Argument.self, in: storage)
        let argument = slot.move()
        if !inline { slot.deallocate() }
        return FiberCore.storeResult(try body(argument), in: storage)
      case .destroyBody:
        storage.assumingMemoryBound(to: Body.self).deinitialize(count: 1)
        let slot = FiberCore.argument(Argument.self, in: storage)
        slot.deinitialize(count: 1)
        if !inline { slot.deallocate() }
      case .destroyResult:
        FiberCore.destroyResult(Result.self, in: storage)
      }
      return false
    }
    let fiber = allocate(invoker: invoker, sticky: sticky, pool: pool, stackSize: stackSize)
    let storage = fiber.outcomeStorage
    storage.initializeMemory(as: Body.self, to: body)  // run by `invoker` (or destroyed)
    if inline {
      (storage + 2 * MemoryLayout<UInt>.size).initializeMemory(as: Argument.self, to: argument)
    } else {
      let slot = UnsafeMutablePointer<Argument>.allocate(capacity: 1)
      slot.initialize(to: argument)
      (storage + 2 * MemoryLayout<UInt>.size).storeBytes(of: UnsafeMutableRawPointer(slot), as: UnsafeMutableRawPointer.self)
    }
    return fiber
  }

  @usableFromInline
  static func allocate(invoker: @escaping BodyInvoker, sticky: Bool, pool: ThreadPool, stackSize: Int?) -> Fiber<Result> {
    if let s = stackSize {
      precondition(s >= 16 * 1024, "Weft misuse: stackSize \(s) is below the 16 KiB minimum")
      precondition(s <= Int(UInt32.max), "Weft misuse: stackSize \(s) is above the 4 GiB maximum")
    }
    let fiber = AnyFiber.make(Fiber<Result>.self, sticky: sticky, stackSize: UInt32(stackSize ?? 0), pool: pool, invoker: invoker)
    return unsafeDowncast(fiber, to: Fiber<Result>.self)
  }

  /// Julia's `fetch(t)`: waits for the fiber to finish and returns its result.
  /// - Parameter timeout: give up after this long (nil: wait for ever); the fiber goes on.
  /// - Throws: `TaskFailedError` wrapping this fiber if its body threw; what `wait(timeout:)`
  ///   throws when the wait is interrupted, cancelled or times out.
  @inlinable
  public func fetch(timeout: Duration? = nil) throws -> Result {
    try wait(timeout: timeout)
    // SAFETY: done and not failed, so the body stored a `Result` before `done` was
    // published (C1), where FiberCore O1 says for this type.
    return FiberCore.result(Result.self, in: outcomeStorage).pointee
  }
}

/// How `Fiber { … }` is made. A class initialiser cannot allocate its object with tail bytes
/// (a fiber and its state block are one allocation, FiberCore A1); a protocol extension's
/// initialiser can, by assigning `self`. Only `Fiber` conforms: not for use outside Weft.
public protocol _FiberAllocating {
  /// The value the fiber's body returns.
  associatedtype Result
  /// Not for use: allocates the fiber, with `body` moved into its block (FiberCore A1).
  static func _allocate(sticky: Bool, pool: ThreadPool, stackSize: Int?,
                        body: @escaping @Sendable () throws -> Result) -> Self
  /// Not for use: allocates the fiber, with `body` and `argument` moved into its block (O2).
  static func _allocate<Argument: Sendable>(sticky: Bool, pool: ThreadPool, stackSize: Int?, argument: Argument,
                                            body: @escaping @Sendable (Argument) throws -> Result) -> Self
}

extension _FiberAllocating {
  /// Creates a fiber that will run `body` once scheduled (Julia's `Task(body)`).
  /// - Parameters:
  ///   - sticky: true (Julia's default for `Task`): pinned to the worker it is first
  ///     scheduled on. false: may run on, and move between, any worker of its pool.
  ///   - pool: the thread pool it runs in.
  ///   - stackSize: usable stack bytes (≥ 16 KiB); nil for the scheduler's default.
  ///   - body: what the fiber runs; its result (or error) is the fiber's.
  @inlinable
  public init(sticky: Bool = true, pool: ThreadPool = .default, stackSize: Int? = nil,
              _ body: @escaping @Sendable () throws -> Result) {
    self = Self._allocate(sticky: sticky, pool: pool, stackSize: stackSize, body: body)
  }

  /// Creates a fiber that will call `body(argument)` once scheduled: Go's `go f(x)`. The
  /// argument is stored in the fiber's own block (up to three words; a heap slot if larger),
  /// so a `body` that captures nothing (a function, or a closure that uses only its
  /// parameter) makes a fiber with one allocation, where a capturing closure makes two (the
  /// compiler allocates its context).
  /// - Parameters: as `init(sticky:pool:stackSize:_:)`; `argument` is moved into the fiber
  ///   and passed to `body` when it runs (destroyed with the fiber if it never runs).
  @inlinable
  public init<Argument: Sendable>(sticky: Bool = true, pool: ThreadPool = .default, stackSize: Int? = nil,
                                  with argument: Argument,
                                  _ body: @escaping @Sendable (Argument) throws -> Result) {
    self = Self._allocate(sticky: sticky, pool: pool, stackSize: stackSize, argument: argument, body: body)
  }
}

extension Fiber where Result == Never {
  /// The fiber running on the calling thread (Julia's `current_task()`). On a thread that is
  /// not a Weft worker this is the thread's own fiber object, which can wait and be woken.
  public static var current: AnyFiber { AnyFiber.currentContext }

  /// Whether the calling fiber (or thread) has been cancelled (`cancel()`).
  public static var isCancelled: Bool { AnyFiber.currentContext.isCancelled }

  /// Throws `CancellationError` if the calling fiber has been cancelled (Swift's
  /// `Task.checkCancellation()`), for long computations that do not wait.
  public static func checkCancellation() throws {
    if isCancelled { throw CancellationError() }
  }
}

extension AnyFiber {
  /// Cancels the fiber (Swift's `Task.cancel()`; Julia has none): if it is blocked in an
  /// interruptible wait, that wait throws `CancellationError` now; otherwise its next one
  /// does, and so does every later one (cancellation is sticky). `isCancelled` turns true.
  /// Waits that cannot be interrupted (`ReentrantLock.lock()`) are not affected. A fiber that
  /// has not started yet runs, and its first interruptible wait throws.
  public func cancel() { interrupt(.cancelled) }
}

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
/// `Fiber` stores nothing of its own: the body and result live type-erased in `AnyFiber`,
/// so that creating and freeing a `Fiber<Result>` needs no generic metadata at run time.
public final class Fiber<Result>: AnyFiber, @unchecked Sendable {
  /// Creates a fiber that will run `body` once scheduled (Julia's `Task(body)`).
  /// - Parameters:
  ///   - sticky: true (Julia's default for `Task`): pinned to the worker it is first
  ///     scheduled on. false: may run on, and move between, any worker of its pool.
  ///   - pool: the thread pool it runs in.
  ///   - stackSize: usable stack bytes (≥ 16 KiB); nil for the scheduler's default.
  @inlinable
  public convenience init(sticky: Bool = true, pool: ThreadPool = .default, stackSize: Int? = nil,
                          _ body: @escaping @Sendable () throws -> Result) {
    self.init(erasedBody: { slot in slot.assumingMemoryBound(to: Result.self).initialize(to: try body()) },
              resultLayout: .of(Result.self), sticky: sticky, pool: pool, stackSize: stackSize)
  }

  @usableFromInline
  init(erasedBody: @escaping @Sendable (UnsafeMutableRawPointer) throws -> Void, resultLayout: ResultLayout,
       sticky: Bool, pool: ThreadPool, stackSize: Int?) {
    if let s = stackSize {
      precondition(s >= 16 * 1024, "Weft misuse: stackSize \(s) is below the 16 KiB minimum")
    }
    super.init(sticky: sticky, stackSize: stackSize ?? 0, pool: pool, body: erasedBody, resultLayout: resultLayout)
  }

  /// Julia's `fetch(t)`: waits for the fiber to finish and returns its result.
  /// - Throws: `TaskFailedError` wrapping this fiber if its body threw.
  @inlinable
  public func fetch() throws -> Result {
    try wait()
    // SAFETY: done and not failed, so the body stored a `Result` in the slot before `done`
    // was published (C1); the slot was laid out for `Result` by this class's init.
    return resultSlot.assumingMemoryBound(to: Result.self).pointee
  }
}

extension Fiber where Result == Never {
  /// The fiber running on the calling thread (Julia's `current_task()`). On a thread that is
  /// not a Weft worker this is the thread's own fiber object, which can wait and be woken.
  public static var current: AnyFiber { AnyFiber.currentContext }
}

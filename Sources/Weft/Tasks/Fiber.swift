/// A fiber with a typed result: Julia's `Task`.
///
/// `Fiber { … }` creates a fiber without starting it (Julia's `Task(f)` / `@task`); it is
/// sticky by default, as Julia's tasks are. `schedule(_:)` starts it; `spawn { … }` creates
/// and starts a migratable one. `fetch()` waits and returns the result, or throws
/// `TaskFailedError` if the body threw.
///
/// The closure must be `@Sendable`: it runs on a worker thread, and a non-`Sendable` closure
/// written in top-level code would be inferred main-actor isolated and trap there.
public final class Fiber<Result>: AnyFiber, @unchecked Sendable {
  // SAFETY: `body` is read once by the fiber itself; `result` is written by the fiber before
  // `done` is published and read only after (Completion C1).
  private var body: (@Sendable () throws -> Result)?
  private var result: Result?

  /// Creates a fiber that will run `body` once scheduled (Julia's `Task(body)`).
  /// - Parameters:
  ///   - sticky: true (Julia's default for `Task`): pinned to the worker it is first
  ///     scheduled on. false: may run on, and move between, any worker of its pool.
  ///   - pool: the thread pool it runs in.
  ///   - stackSize: usable stack bytes (≥ 16 KiB); nil for the scheduler's default.
  public init(sticky: Bool = true, pool: ThreadPool = .default, stackSize: Int? = nil,
              _ body: @escaping @Sendable () throws -> Result) {
    if let s = stackSize {
      precondition(s >= 16 * 1024, "Weft misuse: stackSize \(s) is below the 16 KiB minimum")
    }
    self.body = body
    super.init(sticky: sticky, stackSize: stackSize ?? 0, pool: pool)
  }

  override func invoke() -> (any Error)? {
    let b = body.unsafelyUnwrapped
    body = nil
    do {
      result = try b()
      return nil
    } catch {
      return error
    }
  }

  /// Julia's `fetch(t)`: waits for the fiber to finish and returns its result.
  /// - Throws: `TaskFailedError` wrapping this fiber if its body threw.
  public func fetch() throws -> Result {
    try wait()
    // SAFETY: done and not failed, so `result` was set before `done` was published (C1).
    return result.unsafelyUnwrapped
  }
}

extension Fiber where Result == Never {
  /// The fiber running on the calling thread (Julia's `current_task()`). On a thread that is
  /// not a Weft worker this is the thread's own fiber object, which can wait and be woken.
  public static var current: AnyFiber { AnyFiber.currentContext }
}

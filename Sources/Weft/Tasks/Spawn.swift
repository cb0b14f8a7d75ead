// Starting fibers: Julia's `Threads.@spawn`, `@async` and `schedule`.

/// Creates and starts a fiber running `body` (Julia's `Threads.@spawn`, or `@async` with
/// `sticky: true`), on the calling fiber's scheduler or, from other threads, the shared one.
///
/// - Parameters:
///   - pool: `.interactive` for latency-sensitive work (falls back to `.default` when that
///     pool has no threads, as Julia does).
///   - sticky: false (default): migratable, may run on and move between any worker of the
///     pool. true: Julia's `@async`: pinned to the current worker, and the calling fiber
///     becomes sticky too (Julia #41334) — prefer the default.
///   - stackSize: usable stack bytes for this fiber; nil for the scheduler's default.
///   - body: what the fiber runs; its result (or error) is the fiber's.
/// - Returns: the started fiber; `fetch()` it for the result.
@discardableResult @inlinable
public func spawn<Result>(pool: ThreadPool = .default, sticky: Bool = false, stackSize: Int? = nil,
                          _ body: @escaping @Sendable () throws -> Result) -> Fiber<Result> {
  // Borrowed: a Scheduler returned by a getter is counted (a retain and a release per spawn).
  Scheduler.currentUnretained._withUnsafeGuaranteedRef { $0.spawn(pool: pool, sticky: sticky, stackSize: stackSize, body) }
}

/// Creates and starts a fiber that calls `body(argument)`: Go's `go f(x)`, `spawn` with the
/// argument stored in the fiber's own block instead of in a closure's context, so a `body`
/// that captures nothing starts a fiber with one allocation (`Fiber.init(with:_:)`):
///
///     let child = spawn(with: (n - 1, depth)) { (n, depth) in try walk(n, depth) }
///
/// - Parameters: as `spawn(pool:sticky:stackSize:_:)`; `argument` is passed to `body`.
/// - Returns: the started fiber; `fetch()` it for the result.
@discardableResult @inlinable
public func spawn<Argument: Sendable, Result>(pool: ThreadPool = .default, sticky: Bool = false, stackSize: Int? = nil,
                                              with argument: Argument,
                                              _ body: @escaping @Sendable (Argument) throws -> Result) -> Fiber<Result> {
  Scheduler.currentUnretained._withUnsafeGuaranteedRef {
    $0.spawn(pool: pool, sticky: sticky, stackSize: stackSize, with: argument, body)
  }
}

extension Scheduler {
  /// Creates and starts a fiber on this scheduler that calls `body(argument)`; see the free
  /// function `spawn(with:_:)`.
  @discardableResult @inlinable
  public func spawn<Argument: Sendable, Result>(pool: ThreadPool = .default, sticky: Bool = false, stackSize: Int? = nil,
                                                with argument: Argument,
                                                _ body: @escaping @Sendable (Argument) throws -> Result) -> Fiber<Result> {
    let f = Fiber(sticky: sticky, pool: pool, stackSize: stackSize, with: argument, body)
    SyncScope.register(f)
    submit(f)
    return f
  }

  /// Creates and starts a fiber on this scheduler; see the free function `spawn`.
  @discardableResult @inlinable
  public func spawn<Result>(pool: ThreadPool = .default, sticky: Bool = false, stackSize: Int? = nil,
                            _ body: @escaping @Sendable () throws -> Result) -> Fiber<Result> {
    let f = Fiber(sticky: sticky, pool: pool, stackSize: stackSize, body)
    SyncScope.register(f)
    submit(f)
    return f
  }

  /// Starts a created fiber on this scheduler (see the free function `schedule`).
  /// - Returns: `fiber`.
  @discardableResult
  public func schedule(_ fiber: AnyFiber) -> AnyFiber { submit(fiber); return fiber }
}

/// Julia's `schedule(t)`: starts a created fiber, or wakes a fiber blocked in `wait()`.
///
/// A created fiber starts on the calling fiber's scheduler (or the shared one); a sticky one
/// is pinned to the calling worker (from a non-worker thread: to the pool's workers in
/// round-robin order). A started fiber blocked in a bare `wait()` (or `yield(to:)`) is woken;
/// one that is running or runnable keeps the schedule for its next `wait()`, which then
/// returns at once. Scheduling a fiber that is blocked in anything else (an `Event`, a
/// `Channel`, …), that was scheduled already and has not waited since, or that is done, is
/// misuse (Julia: "schedule: Task not runnable"); to abandon such a wait use
/// `schedule(_:error:)` or `cancel()`.
/// - Returns: `fiber`.
@discardableResult
public func schedule(_ fiber: AnyFiber) -> AnyFiber { schedule(fiber, value: nil) }

/// Julia's `schedule(t, val)`: like `schedule(_:)`, and the fiber's `wait()` (or
/// `yield(to:value:)`) returns `value`. A created fiber ignores the value (its body takes none).
/// - Returns: `fiber`.
@discardableResult
public func schedule(_ fiber: AnyFiber, value: (any Sendable)?) -> AnyFiber {
  if fiber.state.loadAcquire() == FiberState.created {
    Scheduler.current.submit(fiber)
  } else {
    fiber.scheduleWake(value: value)
  }
  return fiber
}

/// Julia's `schedule(t, err; error=true)`: interrupts the fiber. If it is blocked in an
/// interruptible wait (every wait but `ReentrantLock.lock()`), it is taken out of that wait
/// at once and the wait throws `error`; if it is running, its next interruptible wait throws
/// it. A created fiber fails with `error` without running its body. A fiber that is done is
/// not affected (like cancelling a finished Go context or aborting a finished Tokio task;
/// Julia throws "schedule: Task not runnable"): an interrupt may race the fiber's end.
/// - Precondition: the fiber is not blocked in `ReentrantLock.lock()`.
/// - Returns: `fiber`.
@discardableResult
public func schedule(_ fiber: AnyFiber, error: any Error) -> AnyFiber {
  if fiber.state.loadAcquire() == FiberState.created {
    fiber.wakeError = error
    Scheduler.current.submit(fiber)
  } else {
    fiber.interrupt(.error(error))  // done: kept as pending, never delivered
  }
  return fiber
}

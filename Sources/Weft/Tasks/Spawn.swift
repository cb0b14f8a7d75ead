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
/// - Returns: the started fiber; `fetch()` it for the result.
@discardableResult @inlinable
public func spawn<Result>(pool: ThreadPool = .default, sticky: Bool = false, stackSize: Int? = nil,
                          _ body: @escaping @Sendable () throws -> Result) -> Fiber<Result> {
  Scheduler.current.spawn(pool: pool, sticky: sticky, stackSize: stackSize, body)
}

extension Scheduler {
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
  public func schedule(_ fiber: AnyFiber) { submit(fiber) }
}

/// Julia's `schedule(t)`: starts a created fiber, or wakes a fiber blocked in `wait()`.
///
/// A created fiber starts on the calling fiber's scheduler (or the shared one); a sticky one
/// is pinned to the calling worker (from a non-worker thread: to the pool's workers in
/// round-robin order). Waking is for a fiber whose wait the caller owns (Julia's "the
/// caller must own the task"); waking a fiber that is already runnable or done is misuse.
public func schedule(_ fiber: AnyFiber) {
  if fiber.state.loadAcquire() == FiberState.created {
    Scheduler.current.submit(fiber)
  } else {
    fiber.wake()
  }
}

/// Julia's `schedule(t, val)`: like `schedule(_:)`, and the fiber's `wait()` (or
/// `yield(to:value:)`) returns `value`.
public func schedule(_ fiber: AnyFiber, value: (any Sendable)?) {
  fiber.wakeValue = value
  schedule(fiber)
}

/// Julia's `schedule(t, err; error=true)`: the fiber's `wait()` throws `error`. A created
/// fiber fails with `error` without running its body.
public func schedule(_ fiber: AnyFiber, error: any Error) {
  fiber.wakeError = error
  schedule(fiber)
}

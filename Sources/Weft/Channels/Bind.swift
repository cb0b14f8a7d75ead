// Tying a channel's lifetime to fibers: Julia's `bind(c, task)` and `Channel(f; spawn, ...)`.

extension Channel {
  /// Julia's `bind(chnl, task)`: closes the channel when `fiber` ends. If the fiber fails, the
  /// channel is closed with `TaskFailedError(fiber:)`, which every blocked and later `put`,
  /// and every `take`/`fetch`/`wait` that finds the channel drained, then throws.
  ///
  /// A channel can be bound to several fibers (the first to end closes it) and a fiber can
  /// have several channels bound (its end closes all of them). Ending has no effect on a
  /// channel that is already closed. Binding to a fiber that has already ended closes the
  /// channel at once. The fiber keeps the channel alive until it ends.
  /// - Returns: the channel.
  @discardableResult
  public func bind(to fiber: AnyFiber) -> Channel<T> {
    fiber.onCompletion { [self] f in
      if f.isFailed {
        close(error: TaskFailedError(fiber: f))
      } else {
        close()
      }
    }
    return self
  }

  /// Julia's `Channel{T}(func, size; spawn, threadpool, taskref)`: creates a channel, runs
  /// `body(channel)` on a new fiber bound to it (`bind(to:)`: the channel closes when `body`
  /// returns, or closes with `TaskFailedError` when it throws), and starts that fiber. The
  /// fiber is `boundFiber` (Julia's `taskref`).
  ///
  /// - Parameters:
  ///   - capacity: as in `init(capacity:)`.
  ///   - spawn: false (default, Julia's `@async`): the fiber is sticky, pinned to the calling
  ///     worker (which makes a migratable caller sticky too, as in Julia), and the caller
  ///     yields so it starts at once. true (Julia's `Threads.@spawn`): migratable.
  ///   - pool: the thread pool of the fiber; giving one implies `spawn: true` (Julia's
  ///     `threadpool=`). Default: `.default`.
  ///   - body: receives the channel; usually puts items into it. Must be `@Sendable`: it runs
  ///     on a worker thread.
  /// - Precondition: `capacity` ≥ 0.
  public convenience init(capacity: Int = 0, spawn: Bool = false, pool: ThreadPool? = nil,
                          _ body: @escaping @Sendable (Channel<T>) throws -> Void) {
    self.init(capacity: capacity)
    let migratable = spawn || pool != nil
    // The fiber holds the channel; the channel holds the fiber: the cycle ends when the fiber
    // is done and the channel is dropped (the completion hook list is cleared).
    let fiber = Fiber<Void>(sticky: !migratable, pool: pool ?? .default) { [self] in try body(self) }
    boundFiber = fiber
    bind(to: fiber)
    if migratable {
      schedule(fiber)
    } else {
      Weft.yield(fiber)  // Julia's `yield(task)`: start it right away
    }
  }
}

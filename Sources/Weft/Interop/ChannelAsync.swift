// A channel used from async Swift: `try await put(_:)`, `try await take()`, and
// `for try await x in channel` (AsyncSequence), alongside fibers on the same channel.
//
// Algorithm: the operation first tries the non-blocking half of the fiber operation under
// the channel's lock (ChannelCore's `put`/`take` decisions: hand-off, buffer, closed). Only
// when that decides `.mustWait` does it unlock and hand the whole blocking operation to a
// helper fiber (`spawn { try self.take() }`), whose result the task awaits without blocking
// a thread (AwaitFiber.swift). So async and fiber callers share one state machine, one set
// of queues and one close protocol: nothing is duplicated and the fiber-side put/take are
// untouched (the same code, the same cost).
//
// Invariants:
// - H1: an item is taken exactly once: either the fast path takes it under the lock, or the
//   helper's `take()` does (ChannelCore I4); the helper's result is always awaited, even when
//   the awaiting task is cancelled (AwaitFiber A1), so a taken item is never dropped.
// - H2: cancelling the awaiting task cancels the helper (A1): a helper still queued on the
//   channel is unlinked (Channel.tryUnlink) and throws `CancellationError`, and a put's item
//   is then not delivered — exactly what a cancelled fiber's put does.
// - H3: an async waiter takes its place in the channel's FIFO when its helper arrives (a few
//   hundred nanoseconds after the fast path failed), not at the call.

extension Channel {
  /// Julia's `put!(c, v)` from async code: appends `value`, suspending the calling task (no
  /// thread blocks) while the buffer is full; on an unbuffered channel until a taker — fiber
  /// or task — receives it.
  /// - Throws: as the blocking `put(_:timeout:)`: `ChannelClosedError` or the close error,
  ///   `TimeoutError`, `CancellationError` when the task is cancelled while waiting (the item
  ///   is then not delivered).
  public func put(_ value: T, timeout: Duration? = nil) async throws {
    if let timeout { try ChannelGuts.check(timeout, "Channel.put") }
    guts.lock()
    switch core.pointee.put(value) {
    case .handedOff(let taker):
      guts.unlock()
      ChannelGuts.wake(taker)
      return
    case .buffered(let wakeReadyWaiters):
      if wakeReadyWaiters { guts.unlockWakingReadyWaiters() } else { guts.unlock() }
      return
    case .closed(let error):
      guts.unlock()
      throw error ?? ChannelClosedError()
    case .mustWait:
      guts.unlock()
    }
    try await Channel.helper { try self.put(value, timeout: timeout) }
  }

  /// Julia's `take!(c)` from async code: removes and returns the oldest item, suspending the
  /// calling task (no thread blocks) until there is one.
  /// - Throws: as the blocking `take(timeout:)`; `CancellationError` when the task is
  ///   cancelled while waiting (no item was taken then).
  public func take(timeout: Duration? = nil) async throws -> T {
    if let timeout { try ChannelGuts.check(timeout, "Channel.take") }
    switch try await takeOutcomeAsync(timeout) {
    case .item(let v): return v
    case .closed(let e), .interrupted(let e): throw e
    }
  }

  /// The fast path under the lock, else a helper fiber's blocking take (H1).
  func takeOutcomeAsync(_ timeout: Duration?) async throws -> TakeOutcome {
    guts.lock()
    switch core.pointee.take() {
    case .item(let v, let putter):
      guts.unlock()
      if let putter { ChannelGuts.wake(putter) }
      return .item(v)
    case .closed(let error):
      guts.unlock()
      return .closed(error ?? ChannelClosedError())
    case .mustWait:
      guts.unlock()
    }
    return try await Channel.helper { self.takeOutcome(timeout) }
  }

  /// Runs a blocking operation in a helper fiber and awaits it; its own error is rethrown
  /// unwrapped (not as the helper's `TaskFailedError`).
  static func helper<R>(_ operation: @escaping @Sendable () throws -> R) async throws -> R {
    let f = Scheduler.current.spawn(operation)
    switch await f.result {
    case .success(let v): return v
    case .failure(let e as TaskFailedError) where e.fiber === f: throw e.underlying
    case .failure(let e): throw e
    }
  }
}

extension Channel: AsyncSequence {
  /// Takes items until the channel is closed and drained, suspending (not blocking) while it
  /// is empty: `for try await x in channel`.
  ///
  /// Unlike the synchronous iterator, this one can throw: after the last item of a channel
  /// closed with an error (`close(error:)`, a failed bound fiber) `next()` throws that error;
  /// a plain `close()` ends the loop. Cancelling the task makes a waiting `next()` throw
  /// `CancellationError` (no item is lost: one taken is returned first, H1).
  public struct AsyncIterator: AsyncIteratorProtocol {
    let channel: Channel<T>

    public mutating func next() async throws -> T? {
      switch try await channel.takeOutcomeAsync(nil) {
      case .item(let v): return v
      case .interrupted(let e): throw e
      case .closed(let e):
        if channel.closeErrorIfAny != nil { throw e }
        return nil
      }
    }
  }

  public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(channel: self) }
}

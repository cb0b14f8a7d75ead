// Iterating a channel: Julia's `for x in c`, plus throwing forms that report a close error.

extension Channel: Sequence {
  /// Takes items until the channel is closed and drained (Julia's `iterate(c::Channel)`).
  ///
  /// Each `next()` is a `take()`: it blocks while the channel is open and empty. A Swift
  /// iterator cannot throw, so iteration simply ends when the channel is closed — also when
  /// it was closed with an error (for example by a failed bound fiber). To receive that
  /// error, iterate with `drain(_:)` or `collect()` instead (Julia's iteration rethrows it).
  /// An interrupted or cancelled `next()` ends the iteration too; the interruption is kept
  /// for the fiber's next interruptible wait (cancellation is sticky), so it is not lost.
  public struct Iterator: IteratorProtocol {
    @usableFromInline let channel: Channel<T>

    @inlinable init(channel: Channel<T>) { self.channel = channel }

    /// The next item (a `take()`), or nil once the channel is closed and drained.
    @inlinable
    public mutating func next() -> T? {
      switch channel.takeOutcome(nil) {
      case .item(let v): return v
      case .closed: return nil
      case .interrupted(let e):
        ChannelGuts.rearm(e)
        return nil
      }
    }
  }

  @inlinable
  public func makeIterator() -> Iterator { Iterator(channel: self) }

  /// Julia's `for x in c … end` when the loop must see a close error: calls `body` with each
  /// item taken until the channel is closed and drained.
  /// - Throws: the error the channel was closed with (`close(error:)`, or the
  ///   `TaskFailedError` of a failed bound fiber), once it is drained; whatever `body` throws
  ///   (then no further item is taken). A plain `close()` ends the loop without an error.
  @inlinable
  public func drain(_ body: (T) throws -> Void) throws {
    while true {
      let v: T
      switch takeOutcome(nil) {
      case .item(let item): v = item
      case .interrupted(let e): throw e
      case .closed:
        if let e = closeErrorIfAny { throw e }
        return
      }
      try body(v)
    }
  }

  /// Julia's `collect(c)`: takes every item until the channel is closed and drained.
  /// - Throws: the error the channel was closed with, as `drain(_:)` does (the items taken
  ///   so far are then lost to the caller).
  @inlinable
  public func collect() throws -> [T] {
    var items: [T] = []
    try drain { items.append($0) }
    return items
  }
}

// Iterating a channel: Julia's `for x in c`, plus throwing forms that report a close error.

extension Channel: Sequence {
  /// Takes items until the channel is closed and drained (Julia's `iterate(c::Channel)`).
  ///
  /// Each `next()` is a `take()`: it blocks while the channel is open and empty. A Swift
  /// iterator cannot throw, so iteration simply ends when the channel is closed — also when
  /// it was closed with an error (for example by a failed bound fiber). To receive that
  /// error, iterate with `drain(_:)` or `collect()` instead (Julia's iteration rethrows it).
  public struct Iterator: IteratorProtocol {
    let channel: Channel<T>

    public mutating func next() -> T? {
      switch channel.takeOrEnd() {
      case .success(let v): return v
      case .failure: return nil
      }
    }
  }

  public func makeIterator() -> Iterator { Iterator(channel: self) }

  /// Julia's `for x in c … end` when the loop must see a close error: calls `body` with each
  /// item taken until the channel is closed and drained.
  /// - Throws: the error the channel was closed with (`close(error:)`, or the
  ///   `TaskFailedError` of a failed bound fiber), once it is drained; whatever `body` throws
  ///   (then no further item is taken). A plain `close()` ends the loop without an error.
  public func drain(_ body: (T) throws -> Void) throws {
    while true {
      switch takeOrEnd() {
      case .success(let v): try body(v)
      case .failure(let end):
        if let e = end.error { throw e }
        return
      }
    }
  }

  /// Julia's `collect(c)`: takes every item until the channel is closed and drained.
  /// - Throws: the error the channel was closed with, as `drain(_:)` does (the items taken
  ///   so far are then lost to the caller).
  public func collect() throws -> [T] {
    var items: [T] = []
    try drain { items.append($0) }
    return items
  }

  /// The end of a channel's items: the close error, or nil for a plain close.
  struct End: Error {
    let error: (any Error)?
  }

  /// `take()`, reporting a close as `.failure` (with its error, if any) instead of throwing.
  func takeOrEnd() -> Result<T, End> {
    do {
      return .success(try take())
    } catch {
      // `take` throws only once the channel is closed and drained.
      return .failure(End(error: closeErrorIfAny))
    }
  }
}

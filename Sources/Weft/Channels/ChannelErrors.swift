/// Thrown by `put` on a closed channel, and by `take`, `fetch` and `wait` on a closed channel
/// that has no item left, when it was closed with a plain `close()` (Julia's
/// `InvalidStateException("Channel is closed.", :closed)`). A channel closed with
/// `close(error:)` throws that error instead.
public struct ChannelClosedError: Error, CustomStringConvertible, Sendable, Equatable {
  /// The error of a channel closed without one.
  public init() {}
  public var description: String { "ChannelClosedError: Channel is closed." }
}

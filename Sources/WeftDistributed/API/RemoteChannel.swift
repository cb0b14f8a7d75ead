// `RemoteChannel`: a channel owned by one process and usable from any (Distributed.jl's
// `RemoteChannel`), with the same semantics as `Channel`.
//
// Nothing lost (C1): a blocking operation from another process runs on the owner with the
// caller's timeout, under an operation id. If the calling fiber is interrupted (cancelled,
// `schedule(_:error:)`) it asks the owner to cancel that operation and then waits —
// uninterruptibly — for the operation's own answer: an item the owner had already taken is
// returned, an item it had already put is reported put, and only an operation that did not
// happen throws the interruption.

import Foundation
@_spi(WeftDistributed) import Weft

/// A channel that lives on process `owner` and can be used, and passed along, from every
/// process of the cluster (Distributed.jl's `RemoteChannel(() -> Channel{T}(n), pid)`).
///
/// `put`, `take`, `fetch`, `wait`, `isReady`, `close`, `close(error:)` and iteration behave as
/// on a `Channel` (Docs/Semantics.md): items in order, none lost or duplicated. Every wait parks
/// the calling fiber, never its worker, and takes a `timeout:`; cancellation and interruption
/// follow rule C1. The channel is freed on its owner once no process refers to it.
public final class RemoteChannel<Element: Codable & Sendable>: Codable, @unchecked Sendable, CustomStringConvertible {
  // SAFETY: immutable after init.
  /// The process that holds the items.
  public let owner: Int
  let rrid: RRID

  /// A new channel held by process `owner` with room for `capacity` items (0: unbuffered,
  /// each `put` waits for its `take`, as `Channel(capacity: 0)`).
  /// - Throws: `ArgumentError` for a negative capacity; `DistributedError.noSuchWorker`,
  ///   `ProcessExitedError` if `owner` cannot be reached.
  public init(on owner: Int = myID(), capacity: Int = 0) throws {
    guard capacity >= 0 else { throw ArgumentError("RemoteChannel: capacity must be at least 0, got \(capacity)") }
    let cluster = Cluster.shared
    let me = cluster.myID
    rrid = cluster.nextRRID()
    self.owner = owner
    let request = ChannelCreateRequest(rrid: rrid, client: me, capacity: capacity)
    if owner == me { _ = cluster.handleChannelCreate(request) } else { _ = try cluster.rpc(Methods.channelCreate, to: owner, request) }
  }

  deinit { Cluster.shared.releaser.release(rrid, owner: owner, after: nil) }

  public var description: String { "RemoteChannel(owner: \(owner), id: \(rrid))" }

  /// Appends `value`, waiting while the channel is full (Julia's `put!`).
  /// - Throws: `ChannelClosedError` (or the close error) if it is closed, `TimeoutError`,
  ///   `CancellationError`, `ProcessExitedError` if the owner is gone.
  public func put(_ value: Element, timeout: Duration? = nil) throws {
    _ = try blockingOp(.put, value: try Payload.encode(value, to: owner), timeout: timeout, "RemoteChannel.put")
  }

  /// Removes and returns the oldest item, waiting for one (Julia's `take!`).
  /// - Throws: as `Channel.take`: `ChannelClosedError` (or the close error) once closed and
  ///   empty, `TimeoutError`, `CancellationError`; `ProcessExitedError` if the owner is gone.
  public func take(timeout: Duration? = nil) throws -> Element {
    try Payload.decode(Element.self, from: try blockingOp(.take, timeout: timeout, "RemoteChannel.take"))
  }

  /// Returns the oldest item without removing it, waiting for one (Julia's `fetch(::RemoteChannel)`).
  public func fetch(timeout: Duration? = nil) throws -> Element {
    try Payload.decode(Element.self, from: try blockingOp(.fetch, timeout: timeout, "RemoteChannel.fetch"))
  }

  /// Waits until an item is available (Julia's `wait(::RemoteChannel)`).
  public func wait(timeout: Duration? = nil) throws {
    _ = try blockingOp(.wait, timeout: timeout, "RemoteChannel.wait")
  }

  /// Whether an item is available now (one round trip to the owner).
  public var isReady: Bool { get throws { try flag(.isReady) } }

  /// Whether the channel is still open (one round trip to the owner).
  public var isOpen: Bool { get throws { try flag(.isOpen) } }

  /// Closes the channel: puts fail, takes drain what is left (Julia's `close`).
  public func close() throws { _ = try op(ChannelOpRequest(rrid: rrid, op: .close)) }

  /// Closes the channel with `error`: once drained, takes throw it — as a `RemoteError` in
  /// every process (Julia's `close(c, excp)`).
  public func close(error: any Error) throws {
    let e = WireError(error, on: Cluster.shared.myID)
    _ = try op(ChannelOpRequest(rrid: rrid, op: .close, error: e))
  }

  // MARK: The operations

  private func flag(_ o: ChannelOpRequest.Op) throws -> Bool {
    String(decoding: try op(ChannelOpRequest(rrid: rrid, op: o)), as: UTF8.self) == "true"
  }

  /// A non-blocking operation: run here, or one round trip to the owner.
  private func op(_ r: ChannelOpRequest) throws -> Data {
    let cluster = Cluster.shared
    if owner == cluster.myID { return try localOp(r) }
    return try cluster.rpc(Methods.channelOp, to: owner, r).get()
  }

  /// An operation on the local channel, synchronously (this fiber is the one that waits).
  private func localOp(_ r: ChannelOpRequest) throws -> Data {
    try Cluster.perform(r, on: try Cluster.shared.refs.channel(rrid))
  }

  /// A blocking operation under rule C1.
  private func blockingOp(_ o: ChannelOpRequest.Op, value: Data? = nil, timeout: Duration?, _ what: String) throws -> Data {
    try checkRemoteTimeout(timeout, what)
    let cluster = Cluster.shared
    let opID = cluster.nextRRID()
    let request = ChannelOpRequest(rrid: rrid, op: o, value: value, opID: opID, timeoutNanoseconds: timeout?.nanoseconds)
    if owner == cluster.myID { return try localOp(request) }
    let peer = try cluster.peer(owner)
    let limit = cluster.options.maxMessageBytes
    // Unstructured, so that an interrupted wait below does not cancel the operation itself.
    let call = Task { try await peer.call(Methods.channelOp, request, maxMessageBytes: limit) }
    let outcome: Result<ValueReply, any Error>
    do {
      outcome = try awaitAsync { await call.result }  // throws only when this fiber is interrupted
    } catch {
      // C1: cancel the operation on the owner, then take its own answer as it is.
      awaitAsyncUninterruptibly { _ = try? await peer.call(Methods.cancel, CancelRequest(opID: opID), maxMessageBytes: limit) }
      guard case .success(let reply) = awaitAsyncUninterruptibly({ await call.result }) else { throw error }
      if reply.error?.kind == .cancelled { throw error }  // it did not happen
      return try reply.get()
    }
    return try outcome.get().get()
  }

  // MARK: Codable (sending a RemoteChannel to another process)

  private enum Key: String, CodingKey { case owner, whence, id }

  /// Encodes this reference for the process the bytes go to, counting it on the owner (R1).
  public func encode(to encoder: any Encoder) throws {
    guard let destination = Payload.destination(of: encoder) else {
      throw DistributedError.unencodable("a RemoteChannel outside a remote call's arguments, result or channel item")
    }
    try Cluster.shared.addClient(rrid, owner: owner, client: destination)
    var c = encoder.container(keyedBy: Key.self)
    try c.encode(owner, forKey: .owner)
    try c.encode(rrid.whence, forKey: .whence)
    try c.encode(rrid.id, forKey: .id)
  }

  /// Decodes a reference sent by another process (already counted for this one, R1).
  public required init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: Key.self)
    owner = try c.decode(Int.self, forKey: .owner)
    rrid = RRID(whence: try c.decode(Int.self, forKey: .whence), id: try c.decode(Int.self, forKey: .id))
  }
}

extension RemoteChannel: Sequence {
  /// Takes items until the channel is closed and drained (Julia's `for x in c`). As for
  /// `Channel`, iteration ends quietly on a close error or another failure; use `drain(_:)`
  /// to see it.
  public struct Iterator: IteratorProtocol {
    let channel: RemoteChannel<Element>
    /// The next item, or nil once the channel is closed and drained (or a take failed).
    public mutating func next() -> Element? { try? channel.take() }
  }

  public func makeIterator() -> Iterator { Iterator(channel: self) }

  /// Calls `body` with each item taken until the channel is closed and drained.
  /// - Throws: the close error (`close(error:)`), once drained; a failed take's error;
  ///   whatever `body` throws. A plain `close()` ends the loop without an error.
  public func drain(_ body: (Element) throws -> Void) throws {
    while true {
      let v: Element
      do { v = try take() } catch is ChannelClosedError { return }
      try body(v)
    }
  }
}

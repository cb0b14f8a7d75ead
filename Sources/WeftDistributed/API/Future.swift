// `Future`: the result of a remote call, owned by the process that computes it
// (Distributed.jl's `Future`), fetched once and then cached here.
//
// Ownership of the owner's entry (Refs.swift R1–R3): this object counts once in its owner's
// entry from its creation (the `Call` that stores the result) or its decoding (the sender's
// `addClient`) until `fetch` caches the value or the object is freed, whichever is first;
// `released` records which, so the count is given back exactly once.

import Foundation
@_spi(WeftDistributed) import Weft

/// The result of `remotecall`, computed and held by the process `owner` until fetched
/// (Distributed.jl's `Future`). `fetch()` parks the calling fiber until the value is there.
///
/// A `Future` can be sent to another process inside a remote call's arguments or result,
/// or a `RemoteChannel`'s item: it still names the same value. Its value is freed on its owner
/// once no process refers to it (fetching it counts as no longer referring to the owner).
public final class Future<Value: Codable & Sendable>: Codable, @unchecked Sendable, CustomStringConvertible {
  // SAFETY: `state` is `Locked`; `owner` and `rrid` are immutable.
  /// The process that computes and holds the value (Julia's `r.where`).
  public let owner: Int
  let rrid: RRID

  private struct State {
    var cached: Value?
    /// This object's count on the owner has been given back (R2).
    var released = false
    /// The `Call` that stores the value on the owner, while its answer may still be on its way.
    var created: Task<Void, any Error>?
  }
  private let state: Locked<State>

  init(owner: Int, rrid: RRID, created: Task<Void, any Error>?) {
    self.owner = owner
    self.rrid = rrid
    state = Locked(State(created: created))
  }

  deinit {
    let s = state.withLock { $0 }
    if !s.released { Cluster.shared.releaser.release(rrid, owner: owner, after: s.created) }
  }

  public var description: String { "Future(owner: \(owner), id: \(rrid))" }

  /// Waits for the `Call` that created the owner's entry to be answered (its failure: the
  /// owner exited or refused the call).
  func awaitCreated() throws {
    guard let t = state.withLock({ $0.created }) else { return }
    try awaitAsync { try await t.value }
  }

  /// The value, waiting for it if needed (Julia's `fetch(::Future)`): parks the calling
  /// fiber, never its worker; the first fetch caches the value here and gives the owner's
  /// copy back.
  /// - Throws: `RemoteError` if the function threw (its worker and message),
  ///   `ProcessExitedError` if the owner exited first, `DistributedError.unknownFunction`,
  ///   `TimeoutError` after `timeout`, `CancellationError` if the fiber is cancelled.
  public func fetch(timeout: Duration? = nil) throws -> Value {
    if let v = state.withLock({ $0.cached }) { return v }
    try checkRemoteTimeout(timeout, "Future.fetch")
    try awaitCreated()
    let cluster = Cluster.shared
    let me = cluster.myID
    let data: Data
    if owner == me {
      data = try Cluster.localResult(try cluster.refs.future(rrid), timeout: timeout)
    } else {
      data = try cluster.rpc(Methods.fetch, to: owner, RefRequest(rrid: rrid, client: me), timeout: timeout).get()
    }
    let v = try Payload.decode(Value.self, from: data)
    let releaseNow: Bool = state.withLock { s in
      s.cached = v
      defer { s.released = true }
      return !s.released
    }
    if releaseNow { cluster.releaser.release(rrid, owner: owner, after: nil) }
    return v
  }

  /// Waits until the value is ready, without fetching it (Julia's `wait(::Future)`); an error
  /// the function threw is not thrown here but by `fetch()`.
  /// - Throws: `ProcessExitedError`, `TimeoutError`, `CancellationError`.
  public func wait(timeout: Duration? = nil) throws {
    if state.withLock({ $0.cached != nil }) { return }
    try checkRemoteTimeout(timeout, "Future.wait")
    try awaitCreated()
    let cluster = Cluster.shared
    let me = cluster.myID
    if owner == me {
      do { _ = try cluster.refs.future(rrid).fetch(timeout: timeout) } catch is TaskFailedError {}  // fetch() throws it
    } else {
      _ = try cluster.rpc(Methods.wait, to: owner, RefRequest(rrid: rrid, client: me), timeout: timeout).get()
    }
  }

  /// Whether the value is ready (Julia's `isready(::Future)`): a round trip to the owner
  /// unless it is cached or local.
  public var isReady: Bool {
    get throws {
      if state.withLock({ $0.cached != nil }) { return true }
      try awaitCreated()
      let cluster = Cluster.shared
      if owner == cluster.myID { return try cluster.refs.future(rrid).isDone }
      let r = try cluster.rpc(Methods.isReady, to: owner, RefRequest(rrid: rrid, client: cluster.myID))
      if let e = r.error { throw e.swiftError }
      return r.value
    }
  }

  // MARK: Codable (sending a Future to another process)

  private enum Key: String, CodingKey { case owner, whence, id, value }

  /// Encodes this reference for the process the bytes go to, counting that process on the
  /// owner first (R1), or the cached value itself once fetched.
  public func encode(to encoder: any Encoder) throws {
    guard let destination = Payload.destination(of: encoder) else {
      throw DistributedError.unencodable("a Future outside a remote call's arguments, result or channel item")
    }
    var c = encoder.container(keyedBy: Key.self)
    try c.encode(owner, forKey: .owner)
    try c.encode(rrid.whence, forKey: .whence)
    try c.encode(rrid.id, forKey: .id)
    if let v = state.withLock({ $0.cached }) {
      try c.encode(v, forKey: .value)
      return
    }
    try awaitCreated()
    try Cluster.shared.addClient(rrid, owner: owner, client: destination)
  }

  /// Decodes a reference sent by another process (already counted for this one, R1).
  public required init(from decoder: any Decoder) throws {
    let c = try decoder.container(keyedBy: Key.self)
    owner = try c.decode(Int.self, forKey: .owner)
    rrid = RRID(whence: try c.decode(Int.self, forKey: .whence), id: try c.decode(Int.self, forKey: .id))
    let v = try c.decodeIfPresent(Value.self, forKey: .value)
    state = Locked(State(cached: v, released: v != nil, created: nil))
  }
}

extension Cluster {
  /// Counts one more object in `client` on `owner`'s entry for `rrid` (R1), here or remotely.
  func addClient(_ rrid: RRID, owner: Int, client: Int) throws {
    if owner == myID { try refs.addClient(rrid, client); return }
    _ = try rpc(Methods.addClient, to: owner, RefRequest(rrid: rrid, client: client)).get()
  }

  /// The encoded result of a locally owned future's fiber, waiting up to `timeout`: its
  /// failure as the remote error a caller elsewhere would see.
  static func localResult(_ fiber: Fiber<Data>, timeout: Duration?) throws -> Data {
    do {
      return try fiber.fetch(timeout: timeout)
    } catch let e as TaskFailedError {
      throw WireError(e, on: Cluster.shared.myID).swiftError
    }
  }
}

/// A negative timeout is misuse, as for every Weft wait.
func checkRemoteTimeout(_ timeout: Duration?, _ what: String) throws {
  if let t = timeout, t < .zero { throw ArgumentError("\(what): negative timeout \(t)") }
}

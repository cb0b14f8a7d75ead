// One process's view of the cluster (Distributed.jl's `PGRP` and `LPROC`): its id, the other
// processes and the connections to them, the functions it serves, the values it owns.
//
// Every process serves the cluster service (Handlers.swift) — the master too, from its first
// `addProcs`, since workers fetch from and put into the references it owns.
//
// Locks: `state` is `Locked` (Locked.swift), held for a few table operations, never across a wait, a call or
// an `await`.

import Foundation
import GRPCCore
public import GRPCNIOTransportHTTP2Posix
import Synchronization
@_spi(WeftDistributed) import Weft

/// Settings of this process's part in the cluster.
public struct ClusterOptions: Sendable {
  /// The largest message, in bytes, this process sends or accepts (4 MiB, as gRPC's default);
  /// a larger one is refused with `DistributedError.messageTooLarge` and the connection stays up.
  public var maxMessageBytes: Int = 4 << 20
  /// How often the master pings each worker, and how long a ping may take before the worker
  /// is reported unresponsive (a stopped or overloaded process).
  public var heartbeatInterval: Duration = .seconds(1)
  /// See `heartbeatInterval`.
  public var heartbeatTimeout: Duration = .seconds(3)
  /// The address this process listens on; `127.0.0.1` unless told otherwise (Docs/Distributed.md).
  public var listenHost: String = "127.0.0.1"
  /// The address other processes are told to reach this one at, when it is not `listenHost`
  /// (a master listening on `0.0.0.0` for workers on other hosts).
  public var advertisedHost: String?
  /// TLS for the connections this process accepts (plaintext by default; Docs/Distributed.md,
  /// "TLS"). Every process of a cluster must agree with its peers' `clientSecurity`.
  public var serverSecurity: HTTP2ServerTransport.Posix.TransportSecurity = .plaintext
  /// TLS for the connections this process makes (plaintext by default).
  public var clientSecurity: HTTP2ClientTransport.Posix.TransportSecurity = .plaintext
  /// The default options.
  public init() {}
}

final class Cluster: @unchecked Sendable {
  // SAFETY: mutable state is in `state` (`Locked`); the rest is immutable or thread-safe.
  static let shared = Cluster()

  struct State {
    var myID = 1
    var cookie = Cluster.randomCookie()
    var options = ClusterOptions()
    /// Every other process and its address.
    var peers: [Int: PeerInfo] = [:]
    var connections: [Int: Peer] = [:]
    /// Processes that left, and why (calls to them throw this).
    var exited: [Int: ProcessExitedError] = [:]
    /// The master's launched workers.
    var launched: [Int: LaunchedWorker] = [:]
    var nextWorkerID = 2
    /// This process's own server address, once it serves.
    var address: PeerInfo?
    var server: GRPCServer<HTTP2ServerTransport.Posix>?
    var roundRobin = 0
  }

  let state = Locked(State())
  let registry = Registry()
  let refs = RefTable()
  let ops = OpTable()
  let releaser = Releaser()
  let health = HealthMonitor()
  private let counter = Atomic<Int>(0)

  var myID: Int { state.withLock { $0.myID } }
  var options: ClusterOptions { state.withLock { $0.options } }

  /// A fresh reference id created here (`RRID(whence: myID, id: n)`).
  func nextRRID() -> RRID {
    // Relaxed: the number only has to be unique; nothing is published through it.
    RRID(whence: myID, id: counter.add(1, ordering: .relaxed).newValue)
  }

  // MARK: Cookie

  static func randomCookie() -> String {
    var g = SystemRandomNumberGenerator()
    return String((0..<32).map { _ in "0123456789abcdefghijklmnopqrstuvwxyz".randomElement(using: &g)! })
  }

  /// Constant-time comparison, so a wrong cookie's timing says nothing about the right one.
  func cookieMatches(_ presented: String) -> Bool {
    let mine = Array(state.withLock { $0.cookie }.utf8), theirs = Array(presented.utf8)
    guard mine.count == theirs.count else { return false }
    return zip(mine, theirs).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
  }

  func log(_ message: String) {
    FileHandle.standardError.write(Data("Weft: [process \(myID)] \(message)\n".utf8))
  }

  // MARK: Peers

  /// The connection to process `id`; throws if it is not in the cluster or has exited.
  func peer(_ id: Int) throws -> Peer {
    try state.withLock { s in
      if let e = s.exited[id] { throw e }
      if let c = s.connections[id] { return c }
      guard let info = s.peers[id] else { throw DistributedError.noSuchWorker(id) }
      let c = try Peer(info, cookie: s.cookie, security: s.options.clientSecurity)
      s.connections[id] = c
      return c
    }
  }

  /// A call to process `id` from a fiber (or any thread): parks the fiber, not its worker.
  /// Timeouts, `cancel()` and `schedule(_:error:)` end it (awaitAsync), cancelling the RPC.
  func rpc<Request, Reply>(_ method: Method<Request, Reply>, to id: Int, _ request: Request,
                           timeout: Duration? = nil) throws -> Reply {
    let p = try peer(id)
    let limit = options.maxMessageBytes
    do {
      return try awaitAsync(timeout: timeout) { try await p.call(method, request, maxMessageBytes: limit) }
    } catch let e as ProcessExitedError where e.worker == id {
      // Its connection is gone: it leaves the cluster now, not when (or if) its exit is seen.
      processExited(id, reason: e.reason)
      throw e
    }
  }

  /// Records that process `id` is gone: its connection fails every call, the references it
  /// held here are dropped, and the heartbeat stops watching it.
  func processExited(_ id: Int, reason: String) {
    let connection: Peer? = state.withLock { s in
      if s.exited[id] == nil { s.exited[id] = ProcessExitedError(worker: id, reason: reason) }
      s.peers[id] = nil
      s.launched[id] = nil
      return s.connections.removeValue(forKey: id)
    }
    connection?.markExited(reason)
    refs.dropClient(id)
    health.forget(id)
  }

  /// The ids of the other processes, in order.
  var peerIDs: [Int] { state.withLock { s in s.peers.keys.sorted() } }

  // MARK: Serving

  /// Starts this process's server if it does not serve yet; returns its address.
  @discardableResult
  func serve(host: String? = nil, port: Int = 0) throws -> PeerInfo {
    if let a = state.withLock({ $0.address }) { return a }
    let opts = options
    let transport = HTTP2ServerTransport.Posix(
      address: .ipv4(host: host ?? opts.listenHost, port: port), transportSecurity: opts.serverSecurity,
      config: .defaults { $0.rpc.maxRequestPayloadSize = opts.maxMessageBytes; $0.connection.flushCoalescing = nil }  // Peer.init
    )
    let server = GRPCServer(transport: transport, services: [ClusterService(cluster: self)])
    Task.detached {
      do { try await server.serve() } catch { Cluster.shared.log("the cluster server stopped: \(error)") }
    }
    let bound = try awaitAsync { try await transport.listeningAddress }
    guard let v4 = bound.ipv4 else { throw DistributedError.launchFailed("the server bound \(bound), not an IPv4 address") }
    return state.withLock { s in
      if let a = s.address { server.beginGracefulShutdown(); return a }  // another caller won
      let a = PeerInfo(id: s.myID, host: opts.advertisedHost ?? v4.host, port: v4.port)
      s.address = a
      s.server = server
      return a
    }
  }
}

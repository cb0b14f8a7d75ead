// The cluster's gRPC service, `weft.distributed.Cluster`, described by hand: one unary method
// per message pair of Messages.swift, each served by a `Cluster` handler (Handlers.swift).
//
// Every call carries the cluster cookie in its metadata (`weft-cookie`); the server checks it
// before it decodes the message, and refuses a wrong one with `unauthenticated` (logged).

import Foundation
import GRPCCore

/// One method of the service: its descriptor and its request and reply types.
struct Method<Request: Codable & Sendable, Reply: Codable & Sendable>: Sendable {
  let descriptor: MethodDescriptor
  init(_ name: String) {
    descriptor = MethodDescriptor(service: ServiceDescriptor(package: "weft.distributed", service: "Cluster"), method: name)
  }
}

/// The methods of `weft.distributed.Cluster`.
enum Methods {
  static let join = Method<JoinRequest, JoinReply>("Join")
  static let setPeers = Method<[PeerInfo], Empty>("SetPeers")
  static let call = Method<CallRequest, ValueReply>("Call")
  static let fetch = Method<RefRequest, ValueReply>("Fetch")
  static let wait = Method<RefRequest, ValueReply>("Wait")
  static let isReady = Method<RefRequest, BoolReply>("IsReady")
  static let addClient = Method<RefRequest, ValueReply>("AddClient")
  static let release = Method<ReleaseRequest, Empty>("Release")
  static let channelCreate = Method<ChannelCreateRequest, Empty>("ChannelCreate")
  static let channelOp = Method<ChannelOpRequest, ValueReply>("ChannelOp")
  static let cancel = Method<CancelRequest, Empty>("Cancel")
  static let ping = Method<Empty, PingReply>("Ping")
  static let exit = Method<Empty, Empty>("Exit")
}

/// The metadata key of the cluster cookie.
let cookieKey = "weft-cookie"

/// The service a process serves: routes each method to its `Cluster` handler.
struct ClusterService: RegistrableRPCService {
  let cluster: Cluster

  func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
    let c = cluster
    add(&router, Methods.join) { try c.handleJoin($0) }
    add(&router, Methods.setPeers) { c.handleSetPeers($0) }
    add(&router, Methods.call) { await c.handleCall($0) }
    add(&router, Methods.fetch) { await c.handleFetch($0, waitOnly: false) }
    add(&router, Methods.wait) { await c.handleFetch($0, waitOnly: true) }
    add(&router, Methods.isReady) { c.handleIsReady($0) }
    add(&router, Methods.addClient) { c.handleAddClient($0) }
    add(&router, Methods.release) { c.handleRelease($0) }
    add(&router, Methods.channelCreate) { c.handleChannelCreate($0) }
    add(&router, Methods.channelOp) { await c.handleChannelOp($0) }
    add(&router, Methods.cancel) { c.handleCancel($0) }
    add(&router, Methods.ping) { _ in c.handlePing() }
    add(&router, Methods.exit) { _ in c.handleExit() }
  }

  private func add<Transport: ServerTransport, Request, Reply>(
    _ router: inout RPCRouter<Transport>, _ method: Method<Request, Reply>,
    _ body: @escaping @Sendable (Request) async throws -> Reply
  ) {
    let c = cluster
    router.registerHandler(
      forMethod: method.descriptor, deserializer: JSONDeserializer<Request>(), serializer: JSONSerializer<Reply>()
    ) { stream, context in
      // The cookie first: a stranger's message is not even decoded.
      let presented = stream.metadata[stringValues: cookieKey].first(where: { _ in true })
      guard let presented, c.cookieMatches(presented) else {
        c.log("refused a call to \(method.descriptor.method) from \(context.remotePeer): \(presented == nil ? "no" : "wrong") cluster cookie")
        throw RPCError(code: .unauthenticated, message: "wrong cluster cookie")
      }
      let request = try await ServerRequest(stream: stream)
      // gRPC reports a cancelled RPC (the caller gave up, or went away) through its handler,
      // not by cancelling this task: cancel the task, whose fiber awaits then cancel the
      // fiber (AwaitFiber A1).
      let work = Task { try await body(request.message) }
      let reply = try await withRPCCancellationHandler { try await work.value } onCancelRPC: { work.cancel() }
      return StreamingServerResponse(single: ServerResponse(message: reply))
    }
  }
}

// A connection to another process of the cluster: a gRPC client over HTTP/2 on NIO, created
// on first use and kept until the process leaves.
//
// Errors: gRPC statuses become the cluster's errors here (`mapped`): `unavailable` (the
// connection failed or closed) a `ProcessExitedError`, `unauthenticated` a wrong cookie,
// `resourceExhausted` a message too large, `invalidArgument` a malformed message.

import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix

final class Peer: Sendable {
  let info: PeerInfo
  private let client: GRPCClient<HTTP2ClientTransport.Posix>
  private let cookie: String
  /// Set once the process is known to be gone: every call throws it at once.
  private let exit = Locked<ProcessExitedError?>(nil)

  init(_ info: PeerInfo, cookie: String, security: HTTP2ClientTransport.Posix.TransportSecurity = .plaintext) throws {
    self.info = info
    self.cookie = cookie
    var probe = in_addr()
    let target: any ResolvableTarget = inet_pton(AF_INET, info.host, &probe) == 1
      ? .ipv4(address: info.host, port: info.port) : .dns(host: info.host, port: info.port)  // a host name
    let transport = try HTTP2ClientTransport.Posix(
      target: target, transportSecurity: security,
      // No flush coalescing: each call is one small write that should leave at once, not
      // wait up to 100 µs for company (Docs/Benchmarks.md, "Beyond one machine").
      config: .defaults { $0.connection.maxIdleTime = nil; $0.connection.flushCoalescing = nil }
    )
    client = GRPCClient(transport: transport)
    let c = client
    Task.detached { try? await c.runConnections() }
  }

  /// Marks the process gone (its exit was seen): calls in flight fail, later ones at once.
  func markExited(_ reason: String) {
    exit.withLock { if $0 == nil { $0 = ProcessExitedError(worker: info.id, reason: reason) } }
    client.beginGracefulShutdown()
  }

  var exitError: ProcessExitedError? { exit.withLock { $0 } }

  /// One unary call; `timeout` bounds it on the wire (heartbeats), nil waits for the reply.
  func call<Request, Reply>(_ method: Method<Request, Reply>, _ request: Request, timeout: Duration? = nil,
                            maxMessageBytes: Int) async throws -> Reply {
    if let e = exitError { throw e }
    var options = CallOptions.defaults
    options.timeout = timeout
    options.waitForReady = false
    options.maxRequestMessageBytes = maxMessageBytes
    options.maxResponseMessageBytes = maxMessageBytes
    let metadata: Metadata = [cookieKey: .string(cookie)]
    let encoded = try JSONEncoder().encode(request)
    guard encoded.count <= maxMessageBytes else {
      throw DistributedError.messageTooLarge(
        "a \(method.descriptor.method) message of \(encoded.count) bytes; the limit is \(maxMessageBytes) (ClusterOptions.maxMessageBytes)")
    }
    do {
      return try await client.unary(
        request: ClientRequest(message: encoded, metadata: metadata), descriptor: method.descriptor,
        serializer: EncodedSerializer(), deserializer: JSONDeserializer<Reply>(), options: options
      ) { try $0.message }
    } catch let e as RPCError {
      throw mapped(e)
    } catch let e as RuntimeError {
      throw exitError ?? DistributedError.transport("\(e)")
    }
  }

  private func mapped(_ e: RPCError) -> any Error {
    if let gone = exitError { return gone }
    // The receiver's payload limit shows as `internalError` ("Failed to decode message
    // resourceExhausted: … maximum payload size …") or as `resourceExhausted` itself.
    if e.code == .resourceExhausted || e.message.contains("maximum payload size") {
      return DistributedError.messageTooLarge(e.message)
    }
    switch e.code {
    case .unavailable where e.message.contains("RST_STREAM"):
      // The peer reset this call only; its connection is up (a peer with a smaller size limit does this).
      return DistributedError.transport("worker \(info.id) reset the call: \(e.message)")
    case .unavailable: return ProcessExitedError(worker: info.id, reason: "connection lost: \(e.message)")
    case .unauthenticated: return DistributedError.wrongCookie(worker: info.id)
    case .invalidArgument: return DistributedError.malformedMessage(e.message)
    case .cancelled: return CancellationError()
    default: return DistributedError.transport("\(e.code): \(e.message)")
    }
  }
}

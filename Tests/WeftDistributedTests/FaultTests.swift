import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import Testing
import Weft
@testable import WeftDistributed
import WeftDistributedFixtures

extension DistributedTests {
  /// A worker killed (SIGKILL) in the middle of a call: its futures throw
  /// `ProcessExitedError`, later calls too, and it leaves `workers()`.
  @Test func aWorkerKilledMidCallFailsItsFutures() async throws {
    try await onFiber { () throws -> Void in
      let victim = try addProcs(1, executable: fixturePath)[0]
      #expect(workers().contains(victim))
      let pending = try remotecall("blockUntilCancelled", on: victim, returning: Int.self)
      let blocked = spawn { try remotecallFetch("blockUntilCancelled", on: victim, returning: Int.self) }
      _ = try remotecallFetch("awaitBlocked", on: victim, 2, returning: Int.self)
      let pid = try remotecallFetch("pid", on: victim, returning: Int.self)
      kill(pid_t(pid), SIGKILL)
      expectThrows(ProcessExitedError.self, { $0.worker == victim }) { _ = try pending.fetch() }
      expectThrows(TaskFailedError.self, { ($0.rootCause as? ProcessExitedError)?.worker == victim }) { _ = try blocked.fetch() }
      expectThrows(ProcessExitedError.self, { $0.worker == victim }) { _ = try remotecallFetch("square", on: victim, 2, returning: Int.self) }
      expectThrows(ProcessExitedError.self, { $0.worker == victim }) { _ = try RemoteChannel<Int>(on: victim) }
      #expect(!workers().contains(victim))
      #expect(workerHealth(victim) == nil)
    }
  }

  /// A stopped worker (SIGSTOP) is reported unresponsive by the heartbeat, and responsive
  /// again once continued.
  @Test func theHeartbeatReportsAStoppedWorker() async throws {
    try await onFiber { () throws -> Void in
      let w = try addProcs(1, executable: fixturePath)[0]
      let changes = Channel<WorkerHealth>(capacity: 64)
      onWorkerHealthChange { id, h in if id == w { try? changes.put(h) } }
      let pid = try remotecallFetch("pid", on: w, returning: Int.self)
      #expect(workerHealth(w) == .responsive)
      kill(pid_t(pid), SIGSTOP)
      #expect(try changes.take() == .unresponsive)
      #expect(workerHealth(w) == .unresponsive)
      kill(pid_t(pid), SIGCONT)
      #expect(try changes.take() == .responsive)
      #expect(try remotecallFetch("square", on: w, 4, returning: Int.self) == 16)
      try removeProcs([w])
      #expect(try changes.take() == .exited)
      #expect(!workers().contains(w))
      expectThrows(ProcessExitedError.self) { _ = try remotecallFetch("square", on: w, 4, returning: Int.self) }
      expectThrows(DistributedError.self, { $0 == .noSuchWorker(w) }) { try removeProcs([w]) }
    }
  }

  /// A connection without the cluster's cookie is refused (and logged); the same worker
  /// goes on serving the cluster.
  @Test func aWrongCookieIsRefused() async throws {
    try await onFiber { () throws -> Void in
      let info = try #require(Cluster.shared.state.withLock { $0.peers[2] })
      let stranger = try Peer(info, cookie: "not-the-cookie")
      expectThrows(DistributedError.self, { $0 == .wrongCookie(worker: 2) }) {
        _ = try awaitAsync { try await stranger.call(Methods.ping, Empty(), maxMessageBytes: 1 << 20) }
      }
      stranger.markExited("test over")
      #expect(try remotecallFetch("square", on: 2, 3, returning: Int.self) == 9)
      expectThrows(ArgumentError.self) { try setClusterCookie("two\nlines") }
    }
  }

  /// An oversized message is refused with a clear error, and the connection stays usable.
  @Test func anOversizedMessageIsRefusedAndTheConnectionStaysUp() async throws {
    try await onFiber { () throws -> Void in
      let big = String(repeating: "x", count: 2 << 20)  // the tests' limit is 1 MiB, the workers' too
      expectThrows(DistributedError.self, { if case .messageTooLarge = $0 { true } else { false } }) {
        _ = try remotecallFetch("echo", on: 2, big, returning: String.self)  // refused by worker 2
      }
      let c = try RemoteChannel<String>(on: 3, capacity: 1)
      expectThrows(DistributedError.self, { if case .messageTooLarge = $0 { true } else { false } }) { try c.put(big) }
      try c.put("fits")
      #expect(try c.take() == "fits")
      #expect(try remotecallFetch("echo", on: 2, "small", returning: String.self) == "small")
    }
  }

  /// Bytes that are not a message are rejected by the server with `invalidArgument`, and the
  /// same connection then carries a good call.
  @Test func aMalformedMessageIsRejectedAndTheConnectionStaysUp() async throws {
    let info = try #require(Cluster.shared.state.withLock { $0.peers[2] })
    let cookie = clusterCookie()
    try await withGRPCClient(
      transport: .http2NIOPosix(target: .ipv4(address: info.host, port: info.port), transportSecurity: .plaintext)
    ) { client in
      let metadata: Metadata = [cookieKey: .string(cookie)]
      do {
        _ = try await client.unary(
          request: ClientRequest(message: [UInt8]("{not json".utf8), metadata: metadata), descriptor: Methods.call.descriptor,
          serializer: RawBytes(), deserializer: RawBytes(), options: .defaults
        ) { try $0.message }
        Issue.record("a malformed Call was answered")
      } catch let e as RPCError {
        #expect(e.code == .invalidArgument)
        #expect(e.message.contains("malformed message"))
      }
      let reply = try await client.unary(
        request: ClientRequest(message: Empty(), metadata: metadata), descriptor: Methods.ping.descriptor,
        serializer: JSONSerializer<Empty>(), deserializer: JSONDeserializer<PingReply>(), options: .defaults
      ) { try $0.message }
      #expect(reply.id == 2)
      client.beginGracefulShutdown()
    }
  }
}

/// Bytes as they are, for sending what no serializer would.
struct RawBytes: MessageSerializer, MessageDeserializer {
  func serialize<Bytes: GRPCContiguousBytes>(_ message: [UInt8]) throws -> Bytes { Bytes(message) }
  func deserialize<Bytes: GRPCContiguousBytes>(_ bytes: Bytes) throws -> [UInt8] { bytes.withUnsafeBytes { Array($0) } }
}

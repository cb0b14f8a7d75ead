import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix
import Testing
import Weft
@testable import WeftDistributed

extension DistributedTests {
  /// The cluster service behind TLS, as `ClusterOptions.serverSecurity` / `clientSecurity`
  /// set it up (Docs/Distributed.md, "TLS"): a client trusting the test CA gets answers, a
  /// plaintext one does not. The certificates are made here by openssl.
  @Test func theClusterServiceServesOverTLS() async throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("weft-tls-\(getpid())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let script = """
      set -e
      openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 1 -subj /CN=weft-test-ca
      openssl req -newkey rsa:2048 -nodes -keyout node.key -out node.csr -subj /CN=localhost
      printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > san.ext
      openssl x509 -req -in node.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out node.pem -days 1 -extfile san.ext
      """
    let openssl = Process()
    openssl.executableURL = URL(fileURLWithPath: "/bin/bash")
    openssl.arguments = ["-c", script]
    openssl.currentDirectoryURL = dir
    openssl.standardError = FileHandle.nullDevice
    openssl.standardOutput = FileHandle.nullDevice
    try openssl.run()
    openssl.waitUntilExit()
    try #require(openssl.terminationStatus == 0, "openssl could not make the test certificates")
    let path = { (name: String) in dir.appendingPathComponent(name).path }

    var options = ClusterOptions()
    options.serverSecurity = .tls(certificateChain: [.file(path: path("node.pem"), format: .pem)],
                                  privateKey: .file(path: path("node.key"), format: .pem))
    options.clientSecurity = .tls { $0.trustRoots = .certificates([.file(path: path("ca.pem"), format: .pem)]) }
    let transport = HTTP2ServerTransport.Posix(address: .ipv4(host: "127.0.0.1", port: 0), transportSecurity: options.serverSecurity)
    let server = GRPCServer(transport: transport, services: [ClusterService(cluster: Cluster.shared)])
    let serving = Task { try await server.serve() }
    defer { server.beginGracefulShutdown(); serving.cancel() }
    let port = try #require(try await transport.listeningAddress.ipv4).port

    _ = sharedWorkers  // this process's id and cookie are settled
    let secure = try Peer(PeerInfo(id: 1, host: "127.0.0.1", port: port), cookie: clusterCookie(), security: options.clientSecurity)
    #expect(try await secure.call(Methods.ping, Empty(), maxMessageBytes: 1 << 20).id == 1)
    secure.markExited("test over")
    let plain = try Peer(PeerInfo(id: 1, host: "127.0.0.1", port: port), cookie: clusterCookie())
    await #expect(throws: (any Error).self) {
      _ = try await plain.call(Methods.ping, Empty(), timeout: .seconds(10), maxMessageBytes: 1 << 20)
    }
    plain.markExited("test over")
  }
}

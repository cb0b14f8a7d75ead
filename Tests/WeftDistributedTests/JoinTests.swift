import Foundation
import Testing
import Weft
@testable import WeftDistributed
import WeftDistributedFixtures

/// A worker started by hand (`WEFT_DISTRIBUTED_WORKER=listen`), as on another host.
final class ListeningWorker: @unchecked Sendable {
  let process = Process()
  let address: String

  init(cookie: String) throws {
    process.executableURL = URL(fileURLWithPath: fixturePath)
    var env = ProcessInfo.processInfo.environment
    env["WEFT_DISTRIBUTED_WORKER"] = "listen"
    env["WEFT_CLUSTER_COOKIE"] = cookie
    env["WEFT_WORKER_BIND"] = "127.0.0.1:0"
    process.environment = env
    let output = Pipe()
    process.standardOutput = output
    try process.run()
    let line = readLine(output.fileHandleForReading, within: .seconds(60)) ?? ""
    guard line.hasPrefix(announcement) else {
      kill(process.processIdentifier, SIGKILL)
      throw DistributedError.launchFailed("the listening worker printed \"\(line)\"")
    }
    address = String(line.dropFirst(announcement.count))
  }

  /// Blocks until the process has exited (a thread that is not a worker, or `blocking`).
  func awaitExit() -> Int32 {
    process.waitUntilExit()
    return process.terminationStatus
  }
}

extension DistributedTests {
  @Test func workersStartedByHandJoinAtTheirAddresses() async throws {
    try await onFiber { () throws -> Void in
      let w = try ListeningWorker(cookie: clusterCookie())
      let id = try #require(try addProcs(addresses: [w.address]).first)
      #expect(workers().contains(id))
      #expect(try remotecallFetch("myid", on: id, returning: Int.self) == id)
      // It reaches the other workers too (it learned their addresses on joining).
      let c = try RemoteChannel<Int>(on: 2, capacity: 4)
      _ = try remotecallFetch("produce", on: id, ProduceArguments(channel: c, first: 0, count: 3), returning: Int.self)
      #expect(try [c.take(), c.take(), c.take()] == [0, 1, 2])
      try removeProcs([id])
      #expect(try blocking { w.awaitExit() } == 0)
      #expect(!workers().contains(id))
    }
  }

  @Test func aWorkerWithAnotherCookieCannotJoin() async throws {
    try await onFiber { () throws -> Void in
      let w = try ListeningWorker(cookie: "some-other-cluster")
      defer { kill(w.process.processIdentifier, SIGKILL) }
      let before = workers()
      expectThrows(DistributedError.self, { if case .wrongCookie = $0 { true } else { false } }) {
        _ = try addProcs(addresses: [w.address])
      }
      #expect(workers() == before)
      expectThrows(ArgumentError.self) { _ = try addProcs(addresses: ["no-port"]) }
      expectThrows(ArgumentError.self) { _ = try addProcs(0) }
    }
  }
}

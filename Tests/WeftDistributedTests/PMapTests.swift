import Foundation
import Testing
import Weft
@testable import WeftDistributed
import WeftDistributedFixtures

extension DistributedTests {
  @Test func pmapReturnsResultsInInputOrder() async throws {
    try await onFiber { () throws -> Void in
      let n = underTSan ? 30 : 200
      #expect(try pmap("square", Array(0..<n), returning: Int.self) == (0..<n).map { $0 * $0 })
      #expect(try pmap("myid", Array(0..<12).map { _ in [Int]() }, on: [3], returning: Int.self) == Array(repeating: 3, count: 12))
      #expect(try pmap("square", [Int](), returning: Int.self).isEmpty)
      #expect(try pmap("square", [5, 6], on: [1], returning: Int.self) == [25, 36])  // the master itself
      expectThrows(RemoteError.self, { $0.message == "FixtureFailure: bad item 13" }) {
        _ = try pmap("failOn13", Array(0..<30), returning: Int.self)
      }
      // Retrying the function's own errors: still failing on its last attempt.
      expectThrows(RemoteError.self, { $0.message == "FixtureFailure: bad item 13" }) {
        _ = try pmap("failOn13", Array(0..<30), retry: RetryPolicy(attempts: 2, retryRemoteErrors: true), returning: Int.self)
      }
      expectThrows(ArgumentError.self) { _ = try pmap("square", [1], on: [], returning: Int.self) }
      expectThrows(ArgumentError.self) { _ = try pmap("square", [1], retry: RetryPolicy(attempts: 0), returning: Int.self) }
    }
  }

  /// A worker that exits in the middle of its items: with a retry policy, another worker
  /// computes them; without, the map throws `ProcessExitedError`.
  @Test func pmapRetriesTheItemsOfAWorkerThatExited() async throws {
    try await onFiber { () throws -> Void in
      let victims = try addProcs(2, executable: fixturePath)
      let items = (0..<40).map { DieArguments(item: $0, victim: victims[0]) }
      let squares = try pmap("dieOn", items, on: [victims[0], 2, 3], retry: .onWorkerExit, returning: Int.self)
      #expect(squares == (0..<40).map { $0 * $0 })
      #expect(!workers().contains(victims[0]))
      let doomed = (0..<10).map { DieArguments(item: $0, victim: victims[1]) }
      expectThrows(ProcessExitedError.self, { $0.worker == victims[1] }) {
        _ = try pmap("dieOn", doomed, on: [victims[1]], returning: Int.self)
      }
    }
  }

  /// Cancelling the fiber that runs a pmap cancels the call in flight on its worker, and no
  /// further item starts.
  @Test func cancellingPmapCancelsItsCallsOnTheWorkers() async throws {
    try await onFiber { () throws -> Void in
      let blockedBefore = try remotecallFetch("awaitBlocked", on: 3, 0, returning: Int.self)
      let cancelledBefore = try remotecallFetch("awaitCancellations", on: 3, 0, returning: Int.self)
      let m = spawn { try pmap("blockUntilCancelled", [0, 1, 2], on: [3], returning: Int.self) }
      _ = try remotecallFetch("awaitBlocked", on: 3, blockedBefore + 1, returning: Int.self)
      m.cancel()
      expectThrows(TaskFailedError.self, { $0.rootCause is CancellationError }) { _ = try m.fetch() }
      #expect(try remotecallFetch("awaitCancellations", on: 3, cancelledBefore + 1, returning: Int.self) == cancelledBefore + 1)
      #expect(try remotecallFetch("awaitBlocked", on: 3, 0, returning: Int.self) == blockedBefore + 1)  // nothing else started
    }
  }
}

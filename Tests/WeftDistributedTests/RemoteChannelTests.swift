import Foundation
import Testing
import Weft
@testable import WeftDistributed
import WeftDistributedFixtures

extension DistributedTests {
  /// Producers on workers 3 and 4 put into a channel owned by worker 2; consumers on worker 4
  /// and here take. The ledger: every item arrives exactly once.
  @Test func remoteChannelLedgerAcrossProcesses() async throws {
    try await onFiber { () throws -> Void in
      let perProducer = underTSan ? 200 : 1000
      let c = try RemoteChannel<Int>(on: 2, capacity: 16)
      let producers = [
        try remotecall("produce", on: 3, ProduceArguments(channel: c, first: 0, count: perProducer), returning: Int.self),
        try remotecall("produce", on: 4, ProduceArguments(channel: c, first: perProducer, count: perProducer), returning: Int.self),
      ]
      let remoteConsumer = try remotecall("consume", on: 4, c, returning: [Int].self)
      let localConsumer = spawn { Array(c) }
      for p in producers { #expect(try p.fetch() == perProducer) }
      try c.close()
      let taken = try remoteConsumer.fetch() + (try localConsumer.fetch())
      #expect(taken.count == 2 * perProducer)
      #expect(Set(taken) == Set(0..<(2 * perProducer)))
    }
  }

  @Test func remoteChannelHasChannelSemantics() async throws {
    try await onFiber { () throws -> Void in
      for owner in [1, 3] {  // owned here, and elsewhere
        let c = try RemoteChannel<String>(on: owner, capacity: 2)
        #expect(c.owner == owner)
        #expect(try c.isReady == false)
        try c.put("a")
        try c.put("b")
        expectThrows(TimeoutError.self) { try c.put("full", timeout: .milliseconds(20)) }
        #expect(try c.isReady)
        #expect(try c.fetch() == "a")  // fetch does not remove
        #expect(try c.take() == "a")
        try c.wait()
        #expect(try c.isOpen)
        try c.close()
        #expect(try c.isOpen == false)
        expectThrows(ChannelClosedError.self) { try c.put("late") }
        #expect(try c.take() == "b")  // drained after close
        expectThrows(ChannelClosedError.self) { _ = try c.take() }
        let e = try RemoteChannel<Int>(on: owner, capacity: 0)
        expectThrows(TimeoutError.self) { _ = try e.take(timeout: .milliseconds(20)) }
        let taker = spawn { try e.take() }
        try e.put(7)  // unbuffered: returns once taken
        #expect(try taker.fetch() == 7)
        try e.close(error: FixtureFailure(message: "producer died"))
        expectThrows(RemoteError.self, { $0.message == "FixtureFailure: producer died" }) { _ = try e.take() }
        var seen: [Int] = []
        expectThrows(RemoteError.self) { try e.drain { seen.append($0) } }
        #expect(seen.isEmpty)
      }
      expectThrows(ArgumentError.self) { _ = try RemoteChannel<Int>(on: 2, capacity: -1) }
      expectThrows(DistributedError.self, { $0 == .noSuchWorker(77) }) { _ = try RemoteChannel<Int>(on: 77) }
    }
  }

  /// Rule C1: a take cancelled while it waits on the owner is cancelled there, so the next
  /// item goes to the next taker instead of vanishing into the cancelled one.
  @Test func aCancelledRemoteTakeLosesNoItem() async throws {
    try await onFiber { () throws -> Void in
      let c = try RemoteChannel<Int>(on: 2, capacity: 4)
      for round in 0..<(underTSan ? 5 : 20) {
        let taker = spawn { try c.take() }
        if round % 2 == 1 {  // odd rounds: cancel once the take waits on the owner
          while try runningChannelOperations(on: 2) == 0 { try yield() }
        }
        taker.cancel()
        do {
          let v = try taker.fetch()
          Issue.record("round \(round): a cancelled take on an empty channel returned \(v)")
        } catch let e as TaskFailedError {
          #expect(e.rootCause is CancellationError)
        }
        try c.put(round)
        #expect(try c.take(timeout: .seconds(30)) == round)
      }
      // A remote channel travels as an argument and a result, and iterates.
      let d = try remotecallFetch("channelHere", on: 4, 8, returning: RemoteChannel<Int>.self)
      #expect(d.owner == 4)
      _ = try remotecallFetch("produce", on: 3, ProduceArguments(channel: d, first: 10, count: 5), returning: Int.self)
      try d.close()
      #expect(Array(d) == [10, 11, 12, 13, 14])
    }
  }
}

import Foundation
import Testing
import Weft
@testable import WeftDistributed
import WeftDistributedFixtures

/// Every test in the distributed suites shares one cluster of three workers, one test at a time.
@Suite(.serialized) struct DistributedTests {}

extension DistributedTests {
  @Test func processesAreNumberedAndKnowTheirIDs() async throws {
    try await onFiber { () throws -> Void in
      #expect(myID() == 1)
      #expect(Array(workers().prefix(3)) == [2, 3, 4])
      #expect(nProcs() == workers().count + 1)
      for w in sharedWorkers { #expect(try remotecallFetch("myid", on: w, returning: Int.self) == w) }
      #expect(try remotecallFetch("myid", on: 1, returning: Int.self) == 1)  // a call on myself runs here
    }
  }

  @Test func remotecallReturnsAFutureAtOnce() async throws {
    try await onFiber { () throws -> Void in
      let long = try remotecall("sleepMs", on: 2, 600_000, returning: Int.self)
      #expect(try long.isReady == false)  // a 10-minute call, asked one round trip later
      let f = try remotecall("sleepMs", on: 2, 20, returning: Int.self)
      #expect(try f.fetch() == 20)
      #expect(try f.isReady)
      #expect(try f.fetch() == 20)  // cached
      let g = try remotecallWait("square", on: 3, 12, returning: Int.self)
      #expect(try g.isReady)
      #expect(try g.fetch() == 144)
      #expect(try spawnAt(4, "echo", "hi", returning: String.self).fetch() == "hi")
      #expect(try spawnAtAny("square", 5, returning: Int.self).fetch() == 25)
      let local = try remotecall("square", on: 1, 9, returning: Int.self)
      try local.wait()
      #expect(try local.fetch() == 81)
    }
  }

  @Test func aRemoteErrorNamesItsWorkerAndMessage() async throws {
    try await onFiber { () throws -> Void in
      expectThrows(RemoteError.self, { $0.worker == 3 && $0.message == "FixtureFailure: boom" && $0.typeName.hasSuffix("FixtureFailure") }) {
        _ = try remotecallFetch("fail", on: 3, "boom", returning: Int.self)
      }
      let f = try remotecall("fail", on: 2, "later", returning: Int.self)
      try f.wait()  // Julia's wait(::Future): ready, the error is fetch's
      expectThrows(RemoteError.self, { $0.worker == 2 && $0.message.contains("later") }) { _ = try f.fetch() }
      expectThrows(RemoteError.self, { $0.worker == 1 }) { _ = try remotecallFetch("fail", on: 1, "here", returning: Int.self) }
      expectThrows(DistributedError.self, { $0 == .unknownFunction("nope", worker: 4) }) { _ = try remotecallFetch("nope", on: 4, 1, returning: Int.self) }
      expectThrows(DistributedError.self, { $0 == .unknownFunction("nope", worker: 2) }) { _ = try remotecall("nope", on: 2, 1, returning: Int.self).fetch() }
      expectThrows(DistributedError.self, { $0 == .noSuchWorker(99) }) { _ = try remotecall("square", on: 99, 1, returning: Int.self) }
      expectThrows(DistributedError.self) { _ = try remotecallFetch("square", on: 2, "not an Int", returning: Int.self) }
    }
  }

  @Test func remoteWaitsTimeOutAndCancelOnTheWorkerToo() async throws {
    try await onFiber { () throws -> Void in
      let f = try remotecall("sleepMs", on: 2, 60_000, returning: Int.self)
      expectThrows(TimeoutError.self) { _ = try f.fetch(timeout: .milliseconds(50)) }
      // A fetch that gave up leaves the computation running for the next one.
      let g = try remotecall("sleepMs", on: 4, 300, returning: Int.self)
      expectThrows(TimeoutError.self) { _ = try g.fetch(timeout: .milliseconds(20)) }
      expectThrows(TimeoutError.self) { try g.wait(timeout: .milliseconds(20)) }
      #expect(try g.fetch() == 300)
      expectThrows(TimeoutError.self) { _ = try remotecallFetch("blockUntilCancelled", on: 3, returning: Int.self, timeout: .milliseconds(50)) }
      #expect(try remotecallFetch("awaitCancellations", on: 3, 1, returning: Int.self) >= 1)  // the timed-out call's fiber
      let caller = spawn { try remotecallFetch("blockUntilCancelled", on: 3, returning: Int.self) }
      _ = try remotecallFetch("awaitBlocked", on: 3, 2, returning: Int.self)  // it runs there now
      caller.cancel()
      expectThrows(TaskFailedError.self, { $0.rootCause is CancellationError }) { _ = try caller.fetch() }
      // The cancelled call was cancelled on worker 3 too: its fiber saw CancellationError.
      #expect(try remotecallFetch("awaitCancellations", on: 3, 2, returning: Int.self) >= 2)
      expectThrows(ArgumentError.self) { _ = try f.fetch(timeout: .seconds(-1)) }
    }
  }

  @Test func futuresTravelBetweenProcesses() async throws {
    try await onFiber { () throws -> Void in
      let f = try remotecall("square", on: 2, 7, returning: Int.self)
      #expect(try remotecallFetch("fetchFuture", on: 3, f, returning: Int.self) == 49)  // 3 fetches from 2
      #expect(try f.fetch() == 49)
      #expect(try remotecallFetch("fetchFuture", on: 4, f, returning: Int.self) == 49)  // sent with its cached value
      let made = try remotecallFetch("makeFuture", on: 4, 6, returning: Future<Int>.self)  // owned by 4, handed to 1
      #expect(made.owner == 4)
      #expect(try made.fetch() == 36)
    }
  }

  @Test func valuesAreFreedOnTheirOwnersOnceNoProcessRefersToThem() async throws {
    try await onFiber { () throws -> Void in
      for w in sharedWorkers { #expect(try ownedReferenceCount(on: w) == 0) }
      do {
        let unfetched = try (0..<10).map { try remotecall("square", on: 2, $0, returning: Int.self) }
        try unfetched.forEach { try $0.wait() }
        #expect(try ownedReferenceCount(on: 2) == 10)
        let fetched = try remotecall("square", on: 3, 3, returning: Int.self)
        #expect(try fetched.fetch() == 9)
        #expect(try ownedReferenceCount(on: 3) == 0)  // fetching gave the owner's copy back
        let c = try RemoteChannel<Int>(on: 3, capacity: 1)
        #expect(try remotecallFetch("hold", on: 4, c, returning: Int.self) == 1)  // 4 keeps it
        #expect(try ownedReferenceCount(on: 3) == 1)
        withExtendedLifetime(c) {}
      }
      #expect(try ownedReferenceCount(on: 2) == 0)
      #expect(try ownedReferenceCount(on: 3) == 1)  // still held by worker 4
      #expect(try remotecallFetch("dropHeld", on: 4, returning: Int.self) == 1)
      #expect(try ownedReferenceCount(on: 3) == 0)
      #expect(try ownedReferenceCount(on: 1) == 0)
    }
  }

  /// A fiber waiting for a remote result parks, and its worker runs other fibers: on a
  /// one-worker scheduler, a second fiber finishes while the first waits for a 60 s call.
  @Test func aRemoteWaitParksTheFiberNotItsWorker() async throws {
    let one = Scheduler(threads: 1)
    defer { one.shutdown() }
    try await onFiber { () throws -> Void in
      try one.spawn { () throws -> Void in
        let f = try remotecall("sleepMs", on: 2, 60_000, returning: Int.self)
        let waiter = spawn { try f.fetch() }
        let channelWaiter = spawn { try RemoteChannel<Int>(on: 3).take() }
        // Both are parked in their remote waits while this fiber runs on the only worker.
        while waiter.waitingOnDescription != "awaitAsync" || channelWaiter.waitingOnDescription != "awaitAsync" { yield() }
        #expect(try spawn { 42 }.fetch() == 42)
        waiter.cancel()
        channelWaiter.cancel()
        expectThrows(TaskFailedError.self, { $0.rootCause is CancellationError }) { _ = try waiter.fetch() }
        expectThrows(TaskFailedError.self, { $0.rootCause is CancellationError }) { _ = try channelWaiter.fetch() }
      }.fetch()
    }
  }
}

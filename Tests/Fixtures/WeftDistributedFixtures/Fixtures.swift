// The remote functions of WeftDistributedTests, registered in the test process and in every
// worker it starts (weft-distributed-fixture), with their argument types.

import Foundation
import Weft
import WeftDistributed

/// An error a remote function throws on purpose.
public struct FixtureFailure: Error, CustomStringConvertible {
  public let message: String
  public init(message: String) { self.message = message }
  public var description: String { "FixtureFailure: \(message)" }
}

/// `produce`'s arguments: put `count` items from `first` on, then return how many.
public struct ProduceArguments: Codable, Sendable {
  public var channel: RemoteChannel<Int>
  public var first: Int
  public var count: Int
  public init(channel: RemoteChannel<Int>, first: Int, count: Int) { (self.channel, self.first, self.count) = (channel, first, count) }
}

/// `dieOn`'s arguments: exit abruptly (status 9) if this process is `victim`, else square `item`.
public struct DieArguments: Codable, Sendable {
  public var item: Int
  public var victim: Int
  public init(item: Int, victim: Int) { (self.item, self.victim) = (item, victim) }
}

/// State of this process that the fixtures share.
final class FixtureState: @unchecked Sendable {
  // SAFETY: every field is guarded by `lock` (a Weft condition and its lock: fibers only).
  static let shared = FixtureState()
  let lock = Threads.Condition()
  var cancelled = 0
  var blocked = 0
  var held: [RemoteChannel<Int>] = []
  let never = Event()
}

/// Registers every fixture function in this process.
public func registerFixtures() {
  let state = FixtureState.shared
  register("echo") { (s: String) in s }
  register("square") { (x: Int) in x * x }
  register("myid") { myID() }
  register("pid") { Int(getpid()) }
  register("fail") { (m: String) -> Int in throw FixtureFailure(message: m) }
  register("failOn13") { (x: Int) -> Int in
    if x == 13 { throw FixtureFailure(message: "bad item 13") }
    return x
  }
  register("sleepMs") { (ms: Int) -> Int in
    try sleep(for: .milliseconds(ms))
    return ms
  }
  // Waits until cancelled (its caller interrupted), counting the cancellation.
  register("blockUntilCancelled") { () -> Int in
    state.lock.lock(); state.blocked += 1; _ = state.lock.notify(); state.lock.unlock()
    do {
      try state.never.wait()
    } catch is CancellationError {
      state.lock.lock(); state.cancelled += 1; _ = state.lock.notify(); state.lock.unlock()
      throw CancellationError()
    }
    return 0
  }
  register("awaitCancellations") { (n: Int) -> Int in
    state.lock.lock(); defer { state.lock.unlock() }
    while state.cancelled < n { _ = try state.lock.wait() }
    return state.cancelled
  }
  register("awaitBlocked") { (n: Int) -> Int in
    state.lock.lock(); defer { state.lock.unlock() }
    while state.blocked < n { _ = try state.lock.wait() }
    return state.blocked
  }
  register("produce") { (a: ProduceArguments) -> Int in
    for i in a.first..<(a.first + a.count) { try a.channel.put(i) }
    return a.count
  }
  register("consume") { (c: RemoteChannel<Int>) -> [Int] in Array(c) }
  register("fetchFuture") { (f: Future<Int>) -> Int in try f.fetch() }
  register("makeFuture") { (x: Int) -> Future<Int> in try remotecall("square", on: myID(), x) }
  register("channelHere") { (capacity: Int) -> RemoteChannel<Int> in try RemoteChannel(on: myID(), capacity: capacity) }
  register("hold") { (c: RemoteChannel<Int>) -> Int in
    state.lock.lock(); state.held.append(c); state.lock.unlock()
    return 1
  }
  // Drops the held channels and returns once their releases have reached the owners.
  register("dropHeld") { () -> Int in
    state.lock.lock(); let n = state.held.count; state.held = []; state.lock.unlock()
    _ = try ownedReferenceCount(on: myID())
    return n
  }
  register("dieOn") { (a: DieArguments) -> Int in
    if myID() == a.victim { exit(9) }
    return a.item * a.item
  }
  register("spin") { (n: Int) -> Double in
    var x = 0.0
    for i in 0..<n { x += 1.0 / Double(i * 2 + 1) * (i % 2 == 0 ? 1 : -1) }
    return x * 4
  }
}

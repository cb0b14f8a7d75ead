// The server side of the cluster service: what this process does for each message.
//
// Handlers run as Swift tasks on gRPC's event loops; anything that may block — a registered
// function, a channel operation — runs on a fiber of this process's scheduler, awaited with
// `fiber.result` (no thread blocks). A handler whose RPC is cancelled (the caller went away)
// cancels its fiber (AwaitFiber A1).

import Foundation
import GRPCCore
@_spi(WeftDistributed) import Weft

extension Cluster {
  func handleJoin(_ r: JoinRequest) throws -> JoinReply {
    try state.withLock { s in
      guard s.myID == 0 else {
        throw RPCError(code: .failedPrecondition, message: "already in a cluster as process \(s.myID)")
      }
      s.myID = r.id
      s.address?.id = r.id
      s.peers = Dictionary(uniqueKeysWithValues: r.peers.filter { $0.id != r.id }.map { ($0.id, $0) })
    }
    return JoinReply(pid: getpid())
  }

  func handleSetPeers(_ list: [PeerInfo]) -> Empty {
    let gone: [Int] = state.withLock { s in
      let me = s.myID
      let ids = Set(list.map(\.id))
      let gone = s.peers.keys.filter { !ids.contains($0) }
      for p in list where p.id != me { s.peers[p.id] = p }
      return gone
    }
    for id in gone { processExited(id, reason: "removed from the cluster") }
    return Empty()
  }

  func handleCall(_ r: CallRequest) async -> ValueReply {
    let me = myID
    guard let f = registry.lookup(r.function) else {
      return ValueReply(value: nil, error: WireError(DistributedError.unknownFunction(r.function, worker: me), on: me))
    }
    let arguments = r.arguments, caller = r.caller
    let fiber = spawn { try f(arguments, caller) }
    if let rrid = r.store {
      refs.insert(rrid, .future(fiber), client: caller)
      if r.waitForResult { _ = await fiber.resultUnlessCancelled() }  // the value stays for its future
      return ValueReply(value: nil, error: nil)
    }
    return Cluster.reply(await fiber.result, on: me)
  }

  /// `Fetch` (the value) and `Wait` (that it is ready) of a future this process owns.
  func handleFetch(_ r: RefRequest, waitOnly: Bool) async -> ValueReply {
    let me = myID
    let fiber: Fiber<Data>
    do { fiber = try refs.future(r.rrid) } catch { return ValueReply(value: nil, error: WireError(error, on: me)) }
    // Not `fiber.result`: a caller giving up (its timeout) must not cancel the computation,
    // which other references may still fetch.
    guard let result = await fiber.resultUnlessCancelled() else {
      return ValueReply(value: nil, error: WireError(CancellationError(), on: me))
    }
    return waitOnly ? ValueReply(value: nil, error: nil) : Cluster.reply(result, on: me)
  }

  func handleIsReady(_ r: RefRequest) -> BoolReply {
    do { return BoolReply(value: try refs.future(r.rrid).isDone, error: nil) } catch {
      return BoolReply(value: false, error: WireError(error, on: myID))
    }
  }

  func handleAddClient(_ r: RefRequest) -> ValueReply {
    let me = myID
    return ValueReply.of(worker: me) { try refs.addClient(r.rrid, r.client); return Data() }
  }

  func handleRelease(_ r: ReleaseRequest) -> Empty {
    for rrid in r.rrids { refs.release(rrid, r.client) }
    return Empty()
  }

  func handleChannelCreate(_ r: ChannelCreateRequest) -> Empty {
    refs.insert(r.rrid, .channel(Channel<Data>(capacity: r.capacity)), client: r.client)
    return Empty()
  }

  func handleChannelOp(_ r: ChannelOpRequest) async -> ValueReply {
    let me = myID
    let channel: Channel<Data>
    do { channel = try refs.channel(r.rrid) } catch { return ValueReply(value: nil, error: WireError(error, on: me)) }
    switch r.op {
    case .isReady, .isOpen, .close:
      return ValueReply.of(worker: me) { try Cluster.perform(r, on: channel) }
    case .put, .take, .fetch, .wait:
      let fiber = spawn { try Cluster.perform(r, on: channel) }
      if let id = r.opID { ops.begin(id, fiber) }
      let result = await fiber.result
      if let id = r.opID { ops.end(id) }
      return Cluster.reply(result, on: me)
    }
  }

  /// One channel operation on the channel itself, on the calling fiber (blocking ones wait
  /// here, with the request's timeout): the owner's handler and a local `RemoteChannel` both
  /// run it. Booleans are answered as the JSON `true`/`false`.
  static func perform(_ r: ChannelOpRequest, on c: Channel<Data>) throws -> Data {
    let timeout = r.timeoutNanoseconds.map { Duration.nanoseconds($0) }
    switch r.op {
    case .put: try c.put(r.value ?? Data(), timeout: timeout); return Data()
    case .take: return try c.take(timeout: timeout)
    case .fetch: return try c.fetch(timeout: timeout)
    case .wait: try c.wait(timeout: timeout); return Data()
    case .isReady: return Data((c.isReady ? "true" : "false").utf8)
    case .isOpen: return Data((c.isOpen ? "true" : "false").utf8)
    case .close:
      if let e = r.error { c.close(error: e.swiftError) } else { c.close() }
      return Data()
    }
  }

  func handleCancel(_ r: CancelRequest) -> Empty {
    ops.cancel(r.opID)
    return Empty()
  }

  func handlePing() -> PingReply { PingReply(id: myID, liveReferences: refs.count, runningOperations: ops.count) }

  /// A worker told to leave: answers, then exits once the answer is on its way.
  func handleExit() -> Empty {
    let server = state.withLock { $0.server }
    Task.detached {
      try? await Task.sleep(for: .milliseconds(50))  // lets the answer leave; not a synchronisation
      server?.beginGracefulShutdown()
      Foundation.exit(0)
    }
    return Empty()
  }

  /// A fiber's outcome as a reply from process `me`.
  static func reply(_ result: Swift.Result<Data, any Error>, on me: Int) -> ValueReply {
    switch result {
    case .success(let d): ValueReply(value: d, error: nil)
    case .failure(let e): ValueReply(value: nil, error: WireError(e, on: me))
    }
  }
}

// Remote calls by name (Distributed.jl's `remotecall`, `remotecall_fetch`, `remotecall_wait`,
// `@spawnat`). A call on this process's own id runs here, through the same encoding.

import Foundation
@_spi(WeftDistributed) import Weft

/// Calls the function registered as `name` on process `worker` with `arguments`, and returns
/// at once a `Future` for its result (Distributed.jl's `remotecall(f, id, args...)`); the
/// result stays on `worker` until fetched.
/// - Throws: at once only for what can be known here: `DistributedError.noSuchWorker`, an
///   argument that cannot be encoded, `ProcessExitedError` for a worker known gone. Every
///   other failure (an unknown function, the worker exiting, the function's error) is thrown
///   by the future's `fetch()`.
public func remotecall<Arguments: Encodable, Value: Codable & Sendable>(
  _ name: String, on worker: Int, _ arguments: Arguments, returning: Value.Type = Value.self
) throws -> Future<Value> {
  try Cluster.shared.call(name, on: worker, try Payload.encode(arguments, to: worker), waitForResult: false)
}

/// `remotecall` of a function registered with no arguments.
public func remotecall<Value: Codable & Sendable>(_ name: String, on worker: Int, returning: Value.Type = Value.self) throws -> Future<Value> {
  try Cluster.shared.call(name, on: worker, noArguments, waitForResult: false)
}

/// Calls `name` on `worker` and waits for its result, in one message each way (Distributed.jl's
/// `remotecall_fetch`): parks the calling fiber, never its worker.
/// - Throws: `RemoteError` (the function threw), `ProcessExitedError`, `DistributedError`,
///   `TimeoutError` after `timeout`, `CancellationError`; an interrupted call is cancelled on
///   `worker` too (its fiber's next wait throws `CancellationError`).
public func remotecallFetch<Arguments: Encodable, Value: Decodable & Sendable>(
  _ name: String, on worker: Int, _ arguments: Arguments, returning: Value.Type = Value.self, timeout: Duration? = nil
) throws -> Value {
  try Cluster.shared.callFetch(name, on: worker, try Payload.encode(arguments, to: worker), timeout: timeout)
}

/// `remotecallFetch` of a function registered with no arguments.
public func remotecallFetch<Value: Decodable & Sendable>(
  _ name: String, on worker: Int, returning: Value.Type = Value.self, timeout: Duration? = nil
) throws -> Value {
  try Cluster.shared.callFetch(name, on: worker, noArguments, timeout: timeout)
}

/// Calls `name` on `worker`, waits until it has finished, and returns the `Future` holding its
/// result there (Distributed.jl's `remotecall_wait`: `wait(remotecall(…))` in one round trip).
/// The function's own error is thrown by the future's `fetch()`.
public func remotecallWait<Arguments: Encodable, Value: Codable & Sendable>(
  _ name: String, on worker: Int, _ arguments: Arguments, returning: Value.Type = Value.self
) throws -> Future<Value> {
  let f: Future<Value> = try Cluster.shared.call(name, on: worker, try Payload.encode(arguments, to: worker), waitForResult: true)
  try f.awaitCreated()  // answered once the function finished
  return f
}

/// Distributed.jl's `@spawnat worker f(args)`: `remotecall(name, on: worker, arguments)`.
public func spawnAt<Arguments: Encodable, Value: Codable & Sendable>(
  _ worker: Int, _ name: String, _ arguments: Arguments, returning: Value.Type = Value.self
) throws -> Future<Value> {
  try remotecall(name, on: worker, arguments)
}

/// Distributed.jl's `@spawnat :any f(args)`: `remotecall` on the next of `workers()`, in turn.
public func spawnAtAny<Arguments: Encodable, Value: Codable & Sendable>(
  _ name: String, _ arguments: Arguments, returning: Value.Type = Value.self
) throws -> Future<Value> {
  let ws = workers()
  let i = Cluster.shared.state.withLock { s in defer { s.roundRobin &+= 1 }; return s.roundRobin }
  return try remotecall(name, on: ws[i % ws.count], arguments)
}

extension Cluster {
  /// Starts a stored call and returns its future; `waitForResult`: the `Call`'s answer comes
  /// once the function has finished.
  func call<Value>(_ name: String, on worker: Int, _ arguments: Data, waitForResult: Bool) throws -> Future<Value> {
    let me = myID
    let rrid = nextRRID()
    if worker == me {
      guard let f = registry.lookup(name) else { throw DistributedError.unknownFunction(name, worker: me) }
      refs.insert(rrid, .future(spawn { try f(arguments, me) }), client: me)
      return Future(owner: me, rrid: rrid, created: nil)
    }
    let peer = try peer(worker)
    let limit = options.maxMessageBytes
    let request = CallRequest(caller: me, function: name, arguments: arguments, store: rrid, waitForResult: waitForResult)
    // The call's answer is awaited by the future (fetch, wait, release): it says whether the
    // owner stored the entry (R2).
    let created = Task<Void, any Error> {
      _ = try await peer.call(Methods.call, request, maxMessageBytes: limit).get()
    }
    return Future(owner: worker, rrid: rrid, created: created)
  }

  func callFetch<Value: Decodable>(_ name: String, on worker: Int, _ arguments: Data, timeout: Duration?) throws -> Value {
    try checkRemoteTimeout(timeout, "remotecallFetch")
    let me = myID
    let data: Data
    if worker == me {
      guard let f = registry.lookup(name) else { throw DistributedError.unknownFunction(name, worker: me) }
      data = try Cluster.localResult(spawn { try f(arguments, me) }, timeout: timeout)
    } else {
      let request = CallRequest(caller: me, function: name, arguments: arguments, store: nil, waitForResult: true)
      data = try rpc(Methods.call, to: worker, request, timeout: timeout).get()
    }
    return try Payload.decode(Value.self, from: data)
  }
}

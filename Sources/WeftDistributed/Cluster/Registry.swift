// Functions callable by name from other processes. Swift cannot ship closures, so each
// process registers the same names (Julia's `@everywhere` definitions, done by the program).

import Foundation

final class Registry: Sendable {
  /// A registered function: decodes its arguments, runs, encodes its result for `caller`.
  typealias Erased = @Sendable (_ arguments: Data, _ caller: Int) throws -> Data
  private let functions = Locked<[String: Erased]>([:])

  func add(_ name: String, _ f: @escaping Erased) {
    precondition(!name.isEmpty, "WeftDistributed misuse: register(\"\") needs a function name")
    functions.withLock { $0[name] = f }
  }

  func lookup(_ name: String) -> Erased? { functions.withLock { $0[name] } }
}

/// Registers `body` under `name` in this process, callable with `remotecall(name, on:, arguments)`
/// from any process of the cluster. Register the same names in every process, before
/// `runWorkerIfLaunched()` (Julia's `@everywhere f(x) = …`); a later registration of a name
/// replaces the earlier one.
///
/// - **Runs**: each call on a fiber of the serving process's scheduler (migratable, like
///   `spawn`), so `body` may block on any Weft wait, make remote calls, or use remote channels.
/// - **Errors**: an error `body` throws reaches the caller as a `RemoteError` naming this process.
/// - **Julia**: `@everywhere function name(args) … end`.
public func register<Arguments: Decodable, Result: Encodable>(
  _ name: String, _ body: @escaping @Sendable (Arguments) throws -> Result
) {
  Cluster.shared.registry.add(name) { data, caller in
    try Payload.encode(try body(try Payload.decode(Arguments.self, from: data)), to: caller)
  }
}

/// Registers a function of no arguments under `name`; see `register(_:_:)`.
public func register<Result: Encodable>(_ name: String, _ body: @escaping @Sendable () throws -> Result) {
  Cluster.shared.registry.add(name) { _, caller in try Payload.encode(try body(), to: caller) }
}

/// The argument bytes of a call with none.
let noArguments = Data("[]".utf8)

// The errors of remote work, and how errors cross the wire (WireError).

import Foundation
import Weft

/// An error thrown by a function running on another process (Distributed.jl's
/// `RemoteException`): the worker it was thrown on and the original error, as text (Swift
/// errors are not serializable in general).
public struct RemoteError: Error, CustomStringConvertible, Sendable, Equatable {
  /// The process the error was thrown on.
  public let worker: Int
  /// The original error's type, e.g. `"Swift.DecodingError"` or `"MyApp.Invalid"`.
  public let typeName: String
  /// The original error's description (`String(describing:)`).
  public let message: String
  public var description: String { "RemoteError on worker \(worker): \(message) (\(typeName))" }
}

/// The process a remote call or reference needed has exited or is unreachable (Distributed.jl's
/// `ProcessExitedException`): every wait on it throws this, nothing hangs.
public struct ProcessExitedError: Error, CustomStringConvertible, Sendable, Equatable {
  /// The process that is gone.
  public let worker: Int
  /// What was seen: its exit status, or the connection's failure.
  public let reason: String
  public var description: String { "ProcessExitedError: worker \(worker) has exited (\(reason))" }
}

/// Misuse of the cluster and refused messages, each with what was wrong.
public enum DistributedError: Error, CustomStringConvertible, Sendable, Equatable, Codable {
  /// No function of that name is registered on that process.
  case unknownFunction(String, worker: Int)
  /// No process of that id is in the cluster.
  case noSuchWorker(Int)
  /// The peer refused the cluster cookie.
  case wrongCookie(worker: Int)
  /// A message was larger than the receiver accepts (`ClusterOptions.maxMessageBytes`).
  case messageTooLarge(String)
  /// A message could not be decoded by the receiver.
  case malformedMessage(String)
  /// A value could not be encoded (its type and the encoder's error).
  case unencodable(String)
  /// Bytes could not be decoded as the expected type (the type and the decoder's error).
  case undecodable(String)
  /// A worker process could not be started or did not announce its address.
  case launchFailed(String)
  /// A remote reference was used after its owner freed it.
  case freedReference(String)
  /// The transport failed in another way (the gRPC status and message).
  case transport(String)

  public var description: String {
    switch self {
    case .unknownFunction(let n, let w): "DistributedError: no function '\(n)' is registered on worker \(w) (call register(\"\(n)\") in every process)"
    case .noSuchWorker(let w): "DistributedError: no worker \(w) in this cluster"
    case .wrongCookie(let w): "DistributedError: worker \(w) refused the cluster cookie"
    case .messageTooLarge(let m): "DistributedError: message too large: \(m)"
    case .malformedMessage(let m): "DistributedError: malformed message: \(m)"
    case .unencodable(let m): "DistributedError: cannot encode \(m)"
    case .undecodable(let m): "DistributedError: cannot decode \(m)"
    case .launchFailed(let m): "DistributedError: could not start a worker: \(m)"
    case .freedReference(let m): "DistributedError: reference \(m) was already freed on its owner"
    case .transport(let m): "DistributedError: transport failed: \(m)"
    }
  }
}

extension WireError {
  /// `error` as it crosses the wire from process `worker`: Weft's closed-channel, timeout and
  /// cancellation errors keep their kind, a fiber's failure its root cause, and everything else
  /// becomes a `RemoteError` (one that already is keeps its original worker).
  init(_ error: any Error, on worker: Int) {
    let e = (error as? TaskFailedError)?.rootCause ?? error
    switch e {
    case let d as DistributedError:
      self.init(kind: .distributed, worker: worker, typeName: "DistributedError", message: d.description, distributed: d)
    case let r as RemoteError:
      self.init(kind: .remote, worker: r.worker, typeName: r.typeName, message: r.message)
    case let p as ProcessExitedError:
      self.init(kind: .exited, worker: p.worker, typeName: "ProcessExitedError", message: p.reason)
    case is ChannelClosedError:
      self.init(kind: .closed, worker: worker, typeName: "ChannelClosedError", message: "Channel is closed.")
    case let t as TimeoutError:
      self.init(kind: .timeout, worker: worker, typeName: "TimeoutError", message: t.description,
                operation: t.operation, timeoutNanoseconds: Int64(t.timeout.nanoseconds))
    case is CancellationError:
      self.init(kind: .cancelled, worker: worker, typeName: "CancellationError", message: "cancelled")
    default:
      self.init(kind: .remote, worker: worker, typeName: String(reflecting: type(of: e)), message: String(describing: e))
    }
  }

  /// The Swift error this wire error stands for.
  var swiftError: any Error {
    switch kind {
    case .remote: RemoteError(worker: worker, typeName: typeName, message: message)
    case .exited: ProcessExitedError(worker: worker, reason: message)
    case .closed: ChannelClosedError()
    case .timeout: TimeoutError(operation: operation ?? "remote wait", timeout: .nanoseconds(timeoutNanoseconds ?? 0))
    case .cancelled: CancellationError()
    case .distributed: distributed ?? DistributedError.transport(message)
    }
  }
}

extension Duration {
  /// The whole nanoseconds of a duration (saturating; durations here are timeouts).
  var nanoseconds: Int64 {
    let (s, a) = components
    let (ns, overflow) = s.multipliedReportingOverflow(by: 1_000_000_000)
    return overflow ? (s < 0 ? .min : .max) : ns &+ a / 1_000_000_000
  }
}

extension ValueReply {
  /// The value, or its error thrown as the Swift error it stands for.
  func get() throws -> Data {
    if let error { throw error.swiftError }
    return value ?? Data()
  }

  /// The reply for `body`'s outcome on process `worker`.
  static func of(worker: Int, _ body: () throws -> Data) -> ValueReply {
    do { return ValueReply(value: try body(), error: nil) } catch { return ValueReply(value: nil, error: WireError(error, on: worker)) }
  }
}

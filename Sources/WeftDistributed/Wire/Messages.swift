// The messages of the cluster service (Service.swift), one Codable struct each.

import Foundation

/// A remote reference's identity (Distributed.jl's `RRID`): the process that created it and
/// a number unique there. The value lives on its owner, which is not always `whence`.
struct RRID: Codable, Hashable, Sendable, CustomStringConvertible {
  var whence: Int
  var id: Int
  var description: String { "\(whence)/\(id)" }
}

/// An error crossing the wire: its kind picks the Swift error it becomes again (WireError+Swift).
struct WireError: Codable, Sendable, Error {
  enum Kind: String, Codable, Sendable { case remote, closed, timeout, cancelled, exited, distributed }
  var kind: Kind
  /// The process where the error was first thrown.
  var worker: Int
  var typeName: String
  var message: String
  /// For a timeout: the operation and its timeout in nanoseconds.
  var operation: String?
  var timeoutNanoseconds: Int64?
  /// For `distributed`: the cluster's own error, as it was.
  var distributed: DistributedError?
}

struct Empty: Codable, Sendable {}

/// A process of the cluster and where to reach it.
struct PeerInfo: Codable, Sendable, Equatable {
  var id: Int
  var host: String
  var port: Int
}

/// The master's first message to a new worker: its id and everyone's address.
struct JoinRequest: Codable, Sendable {
  var id: Int
  var peers: [PeerInfo]
}

struct JoinReply: Codable, Sendable {
  var pid: Int32
}

/// A function call by name. `store`: keep the result on this process under `rrid` (a
/// `Future`) and answer at once (`waitForResult` false) or once it is ready.
struct CallRequest: Codable, Sendable {
  var caller: Int
  var function: String
  var arguments: Data
  var store: RRID?
  var waitForResult: Bool
}

/// A value or the error in its place.
struct ValueReply: Codable, Sendable {
  var value: Data?
  var error: WireError?
}

/// A reference and the process it concerns (the caller, or the client being added).
struct RefRequest: Codable, Sendable {
  var rrid: RRID
  var client: Int
}

struct BoolReply: Codable, Sendable {
  var value: Bool
  var error: WireError?
}

/// References a client drops, in one message (the releaser batches them).
struct ReleaseRequest: Codable, Sendable {
  var client: Int
  var rrids: [RRID]
}

struct ChannelCreateRequest: Codable, Sendable {
  var rrid: RRID
  var client: Int
  var capacity: Int
}

/// One operation on a remote channel's owner. Blocking ones (`put`, `take`, `fetch`, `wait`)
/// carry `op`, the id a `CancelRequest` names to interrupt them, and their timeout.
struct ChannelOpRequest: Codable, Sendable {
  enum Op: String, Codable, Sendable { case put, take, fetch, wait, isReady, isOpen, close }
  var rrid: RRID
  var op: Op
  var value: Data?
  var error: WireError?
  var opID: RRID?
  var timeoutNanoseconds: Int64?
}

struct CancelRequest: Codable, Sendable {
  var opID: RRID
}

/// A heartbeat's answer, with what the owner holds (for tests and `Distributed.stats`).
struct PingReply: Codable, Sendable {
  var id: Int
  var liveReferences: Int
  /// Blocking channel operations running for remote callers.
  var runningOperations: Int
}

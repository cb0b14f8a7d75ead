// The processes of the cluster (Distributed.jl's `addprocs`, `workers`, `myid`, `nprocs`,
// `rmprocs`, `cluster_cookie`).

import Foundation
import Weft

/// This process's id: 1 on the master, 2 and up on workers (Distributed.jl's `myid()`).
public func myID() -> Int { Cluster.shared.myID }

/// The number of processes in the cluster, this one included (Distributed.jl's `nprocs()`).
public func nProcs() -> Int { Cluster.shared.peerIDs.count + 1 }

/// The ids of every process, in order (Distributed.jl's `procs()`).
public func procs() -> [Int] { (Cluster.shared.peerIDs + [myID()]).sorted() }

/// The worker processes' ids, in order; `[1]` when there is none yet, as in Distributed.jl's
/// `workers()` (then remote calls on "a worker" run on the master itself).
public func workers() -> [Int] {
  let w = procs().filter { $0 != 1 }
  return w.isEmpty ? [1] : w
}

/// Starts `count` worker processes on this machine, connected over loopback, and returns
/// their ids (Distributed.jl's `addprocs(n)`). Each runs `executable` (this program by default),
/// whose `runWorkerIfLaunched()` makes it a worker with its own Weft scheduler.
/// - Throws: `ArgumentError` for a count below 1; `InvalidStateError` on a worker (only the
///   master adds processes); `DistributedError.launchFailed` if one does not start or
///   announce its address within 60 s.
@discardableResult
public func addProcs(_ count: Int, executable: String? = nil, arguments: [String] = [],
                     environment: [String: String] = [:]) throws -> [Int] {
  guard count >= 1 else { throw ArgumentError("addProcs: count must be at least 1, got \(count)") }
  try requireMaster("addProcs")
  let path = executable ?? (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
  return try Cluster.shared.launch(count, executable: path, arguments: arguments, environment: environment)
}

/// Joins workers already running at `addresses` (`"HOST:PORT"`, each started with
/// `WEFT_DISTRIBUTED_WORKER=listen` and this cluster's cookie, Docs/Distributed.md) and
/// returns their ids (Distributed.jl's `addprocs([host…])` without its ssh launch).
@discardableResult
public func addProcs(addresses: [String]) throws -> [Int] {
  try requireMaster("addProcs")
  let cluster = Cluster.shared
  let me = try cluster.serve()
  var added: [PeerInfo] = []
  for a in addresses {
    guard let colon = a.lastIndex(of: ":"), let port = Int(a[a.index(after: colon)...]), (1...65535).contains(port) else {
      throw ArgumentError("addProcs: \"\(a)\" is not HOST:PORT")
    }
    let id = cluster.state.withLock { s in defer { s.nextWorkerID += 1 }; return s.nextWorkerID }
    let info = PeerInfo(id: id, host: String(a[..<colon]), port: port)
    cluster.state.withLock { $0.peers[id] = info }
    added.append(info)
  }
  do { try cluster.join(added, master: me) } catch {
    for w in added { cluster.processExited(w.id, reason: "could not join: \(error)") }
    throw error
  }
  return added.map(\.id)
}

/// Removes workers from the cluster and waits until they have exited (Distributed.jl's
/// `rmprocs`). Their futures and remote channels become unusable (`ProcessExitedError`).
public func removeProcs(_ ids: [Int]) throws {
  try requireMaster("removeProcs")
  let cluster = Cluster.shared
  for id in ids {
    guard id != 1, cluster.peerIDs.contains(id) else { throw DistributedError.noSuchWorker(id) }
    let launched = cluster.state.withLock { $0.launched[id] }
    if let w = launched {
      try? w.stdin.close()  // the worker exits at end of file
      try blocking { w.process.waitUntilExit() }
    } else {
      _ = try? cluster.rpc(Methods.exit, to: id, Empty())
    }
    cluster.processExited(id, reason: "removed by removeProcs")
  }
  guard let me = cluster.state.withLock({ $0.address }) else { return }
  let everyone = [me] + cluster.state.withLock { s in s.peers.values.sorted { $0.id < $1.id } }
  for id in cluster.peerIDs { _ = try? cluster.rpc(Methods.setPeers, to: id, everyone) }
}

/// The cluster cookie every connection must present (Distributed.jl's `cluster_cookie()`): a
/// random 32-character string made at start, sent to launched workers on their standard input.
public func clusterCookie() -> String { Cluster.shared.state.withLock { $0.cookie } }

/// Sets the cluster cookie (Distributed.jl's `cluster_cookie(cookie)`), before `addProcs`.
/// - Throws: `ArgumentError` for an empty cookie or one with a newline.
public func setClusterCookie(_ cookie: String) throws {
  guard !cookie.isEmpty, !cookie.contains(where: \.isNewline) else { throw ArgumentError("setClusterCookie: the cookie must be non-empty, one line") }
  Cluster.shared.state.withLock { $0.cookie = cookie }
}

/// Changes this process's cluster settings (before it serves: before `addProcs`).
public func configureCluster(_ update: (inout ClusterOptions) -> Void) {
  Cluster.shared.state.withLock { update(&$0.options) }
}

/// What the master's heartbeat last saw of `worker` (nil: not a worker it watches).
public func workerHealth(_ worker: Int) -> WorkerHealth? { Cluster.shared.health.health(worker) }

/// Calls `handler` (on some thread) each time a worker's health changes: unresponsive,
/// responsive again, exited. It must not block.
public func onWorkerHealthChange(_ handler: @escaping @Sendable (_ worker: Int, _ health: WorkerHealth) -> Void) {
  Cluster.shared.health.onChange(handler)
}

/// The number of values (futures' results, remote channels) process `worker` holds for the
/// cluster, after this process's pending releases have reached their owners. A leak check:
/// with nothing referenced any more it is 0.
public func ownedReferenceCount(on worker: Int) throws -> Int {
  let cluster = Cluster.shared
  try awaitAsync { await cluster.releaser.flush() }
  if worker == cluster.myID { return cluster.refs.count }
  return try cluster.rpc(Methods.ping, to: worker, Empty()).liveReferences
}

private func requireMaster(_ what: String) throws {
  guard myID() == 1 else { throw InvalidStateError("\(what) runs on the master (process 1), not on worker \(myID())") }
}

/// The blocking remote-channel operations `worker` is running for other processes (tests).
func runningChannelOperations(on worker: Int) throws -> Int {
  try Cluster.shared.rpc(Methods.ping, to: worker, Empty()).runningOperations
}

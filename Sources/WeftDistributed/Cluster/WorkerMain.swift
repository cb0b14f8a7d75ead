// A worker process's life: serve the cluster service until the master lets go.

import Foundation
import Weft

/// Turns this process into a cluster worker if it was started as one, and then never returns;
/// returns at once otherwise (Distributed.jl's `julia --worker`). Call it at the top of the
/// program, after `register`ing the program's remote functions.
///
/// Started by `addProcs` (`WEFT_DISTRIBUTED_WORKER=1`): reads the cluster cookie from standard
/// input, serves on `127.0.0.1` at a free port, prints `weft-distributed worker listening on
/// HOST:PORT`, and exits when its standard input closes (the master removed it, or died).
///
/// Started by hand to be joined with `addProcs(addresses:)` (`WEFT_DISTRIBUTED_WORKER=listen`):
/// takes the cookie from `WEFT_CLUSTER_COOKIE` and the address from `WEFT_WORKER_BIND`
/// (`HOST:PORT`, default `127.0.0.1:9009`), and serves until the master removes it
/// (Docs/Distributed.md, "Workers on other hosts"). `WEFT_DISTRIBUTED_MAX_MESSAGE_BYTES`
/// overrides `ClusterOptions.maxMessageBytes` (`addProcs` passes the master's).
public func runWorkerIfLaunched() {
  let env = ProcessInfo.processInfo.environment
  guard let mode = env["WEFT_DISTRIBUTED_WORKER"] else { return }
  let cluster = Cluster.shared
  let launched = mode != "listen"
  let cookie: String
  if launched {
    guard let line = readLine(FileHandle.standardInput, within: .seconds(60)), !line.isEmpty else {
      fail("WEFT_DISTRIBUTED_WORKER=1 but no cluster cookie arrived on standard input")
    }
    cookie = line
  } else {
    guard let c = env["WEFT_CLUSTER_COOKIE"], !c.isEmpty else {
      fail("WEFT_DISTRIBUTED_WORKER=listen needs the cluster cookie in WEFT_CLUSTER_COOKIE")
    }
    cookie = c
  }
  var host = "127.0.0.1", port = launched ? 0 : 9009
  if let bind = env["WEFT_WORKER_BIND"] {
    guard let colon = bind.lastIndex(of: ":"), let p = Int(bind[bind.index(after: colon)...]), (0...65535).contains(p) else {
      fail("WEFT_WORKER_BIND must be HOST:PORT, got \"\(bind)\"")
    }
    host = String(bind[..<colon])
    port = p
  }
  var limit: Int?
  if let raw = env["WEFT_DISTRIBUTED_MAX_MESSAGE_BYTES"] {
    guard let l = Int(raw), l >= 1024 else { fail("WEFT_DISTRIBUTED_MAX_MESSAGE_BYTES must be a number of bytes, at least 1024, got \"\(raw)\"") }
    limit = l
  }
  cluster.state.withLock { s in
    s.cookie = cookie
    s.myID = 0  // until the master's Join
    if let l = limit { s.options.maxMessageBytes = l }  // the master's, when it launched us
  }
  let address: PeerInfo
  do { address = try cluster.serve(host: host, port: port) } catch { fail("cannot serve on \(host):\(port): \(error)") }
  FileHandle.standardOutput.write(Data((announcement + "\(address.host):\(address.port)\n").utf8))  // unbuffered
  if launched {
    var byte: UInt8 = 0
    while read(0, &byte, 1) > 0 {}  // until the master closes our standard input
    exit(0)
  }
  while true { pause() }  // `Exit` ends the process
}

private func fail(_ message: String) -> Never {
  FileHandle.standardError.write(Data("weft-distributed worker: \(message)\n".utf8))
  exit(2)
}

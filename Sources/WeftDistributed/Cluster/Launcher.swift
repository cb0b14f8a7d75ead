// Starting worker processes on this machine (Distributed.jl's `LocalManager`): the worker
// executable is started with `WEFT_DISTRIBUTED_WORKER=1`, reads the cluster cookie from its
// standard input, and announces `weft-distributed worker listening on HOST:PORT` on its
// standard output; the master connects and sends `Join`. The master keeps the worker's
// standard input open: a worker whose master died sees end of file and exits.
//
// After the announcement, the worker's output is copied to the master's, each line
// prefixed `From worker N:` (as Julia does).

import Foundation
import Weft

/// A worker process this master started.
struct LaunchedWorker: @unchecked Sendable {
  // SAFETY: Process and FileHandle are used from one thread at a time (launch, then removal).
  let process: Process
  let stdin: FileHandle
}

/// The line a worker prints once it serves (tests and other launchers read it).
let announcement = "weft-distributed worker listening on "

extension Cluster {
  /// Starts `count` worker processes of `executable` and adds them to the cluster.
  func launch(_ count: Int, executable: String, arguments: [String], environment: [String: String]) throws -> [Int] {
    let me = try serve()
    let cookie = state.withLock { $0.cookie }
    var started: [(id: Int, process: Process, stdin: FileHandle, stdout: FileHandle)] = []
    for _ in 0..<count {  // all start at once; then each is awaited
      let id = state.withLock { s in defer { s.nextWorkerID += 1 }; return s.nextWorkerID }
      let process = Process()
      process.executableURL = URL(fileURLWithPath: executable)
      process.arguments = arguments
      var env = ProcessInfo.processInfo.environment.merging(environment) { $1 }
      env["WEFT_DISTRIBUTED_WORKER"] = "1"
      env["WEFT_DISTRIBUTED_MAX_MESSAGE_BYTES"] = String(options.maxMessageBytes)  // one limit for the cluster
      process.environment = env
      let input = Pipe(), output = Pipe()
      process.standardInput = input
      process.standardOutput = output
      process.terminationHandler = { p in
        let how = p.terminationReason == .uncaughtSignal ? "killed by signal \(p.terminationStatus)" : "exit status \(p.terminationStatus)"
        Cluster.shared.processExited(id, reason: how)
      }
      do { try process.run() } catch { throw DistributedError.launchFailed("\(executable): \(error)") }
      input.fileHandleForWriting.write(Data((cookie + "\n").utf8))
      started.append((id, process, input.fileHandleForWriting, output.fileHandleForReading))
    }
    var added: [PeerInfo] = []
    for w in started {
      let line = try blocking { readLine(w.stdout, within: .seconds(60)) }
      guard let line, line.hasPrefix(announcement),
            let colon = line.lastIndex(of: ":"), let port = Int(line[line.index(after: colon)...]) else {
        w.process.terminate()
        throw DistributedError.launchFailed("\(executable) (worker \(w.id)) announced \(line.map { "\"\($0)\"" } ?? "nothing") instead of its address")
      }
      let host = String(line.dropFirst(announcement.count)[..<colon])
      let info = PeerInfo(id: w.id, host: host, port: port)
      state.withLock { s in
        s.peers[w.id] = info
        s.launched[w.id] = LaunchedWorker(process: w.process, stdin: w.stdin)
      }
      copyOutput(w.stdout, of: w.id)
      added.append(info)
    }
    try join(added, master: me)
    return added.map(\.id)
  }

  /// Sends `Join` to each new worker, then everyone's addresses to every worker.
  func join(_ added: [PeerInfo], master: PeerInfo) throws {
    let everyone = [master] + state.withLock { s in s.peers.values.sorted { $0.id < $1.id } }
    for w in added { _ = try rpc(Methods.join, to: w.id, JoinRequest(id: w.id, peers: everyone)) }
    for id in peerIDs where !added.contains(where: { $0.id == id }) {
      _ = try? rpc(Methods.setPeers, to: id, everyone)
    }
    for w in added { health.watch(w.id) }
  }

  /// Copies a worker's output after its announcement to this process's, line by line.
  private func copyOutput(_ handle: FileHandle, of id: Int) {
    let t = Thread {
      var pending = Data()
      while true {
        let chunk = handle.availableData
        if chunk.isEmpty { break }
        pending += chunk
        while let nl = pending.firstIndex(of: UInt8(ascii: "\n")) {
          let line = pending[pending.startIndex..<nl]
          FileHandle.standardOutput.write(Data("      From worker \(id):\t".utf8) + line + Data("\n".utf8))
          pending = Data(pending[(nl + 1)...])
        }
      }
    }
    t.name = "weft-worker-\(id)-output"
    t.start()
  }
}

/// Reads one line (without its newline) from `handle`, waiting at most `limit`; nil at end of
/// file or when the time is up.
func readLine(_ handle: FileHandle, within limit: Duration) -> String? {
  let fd = handle.fileDescriptor
  let deadline = ContinuousClock.now + limit
  var line = Data()
  while ContinuousClock.now < deadline {
    var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
    let left = deadline - ContinuousClock.now
    let ms = Int32(clamping: left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000)
    guard poll(&p, 1, max(ms, 1)) > 0 else { continue }
    var byte: UInt8 = 0
    guard read(fd, &byte, 1) == 1 else { return nil }
    if byte == UInt8(ascii: "\n") { return String(decoding: line, as: UTF8.self) }
    line.append(byte)
  }
  return nil
}

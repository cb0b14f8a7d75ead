import Weft
import WeftCommandLine
import WeftNet
#if canImport(Glibc)
import Glibc
#endif

// weft-chat: a chat server (shared/reference/002's example). Every client's first line is
// its name; each later line goes to every other client as "name: line". One fiber reads each
// client; a hub fiber owns the membership and broadcasts through channels; one writer fiber
// per client drains its outbox, so a slow client only fills its own outbox (when full, the
// hub drops that client rather than stall the room).

enum HubEvent: Sendable {
  case join(id: Int, name: String, outbox: Channel<String>)
  case say(id: Int, text: String)
  case leave(id: Int)
}

let options = EchoArguments.parseOrExit(Array(CommandLine.arguments.dropFirst())) { $0 }
let scheduler = Scheduler(threads: options.workers ?? Scheduler.cpuCount)
let (host, port, maxConnections) = (options.host, options.port, options.maxConnections)

let server = scheduler.spawn { () throws -> Void in
  let listener = try TCPListener.listen(host: host, port: port)
  let hub = Channel<HubEvent>(capacity: 1024)
  spawn { () throws -> Void in
    var members: [Int: (name: String, outbox: Channel<String>)] = [:]
    for event in hub {
      switch event {
      case .join(let id, let name, let outbox):
        for (_, m) in members { _ = try? m.outbox.put("* \(name) joined\n", timeout: .zero) }
        members[id] = (name, outbox)
      case .say(let id, let text):
        guard let from = members[id] else { continue }
        for (other, m) in members where other != id {
          do { try m.outbox.put("\(from.name): \(text)\n", timeout: .zero) } catch {
            m.outbox.close()  // too slow: drop it
            members[other] = nil
          }
        }
      case .leave(let id):
        guard let gone = members.removeValue(forKey: id) else { continue }
        gone.outbox.close()
        for (_, m) in members { _ = try? m.outbox.put("* \(gone.name) left\n", timeout: .zero) }
      }
    }
  }
  print("weft-chat listening on \(listener.localAddress.map(String.init(describing:)) ?? "?")")
  fflush(nil)
  var nextID = 0
  while maxConnections.map({ nextID < $0 }) ?? true {
    let client = try listener.accept()
    nextID += 1
    let id = nextID
    spawn { () -> Void in
      defer { client.close() }
      let outbox = Channel<String>(capacity: 256)
      let writer = spawn { () -> Void in
        for line in outbox { do { try client.write(line) } catch { return } }
      }
      do {
        guard let name = try client.readLine(), !name.isEmpty else { return }
        try hub.put(.join(id: id, name: name, outbox: outbox))
        try client.write("* welcome, \(name)\n")
        while let line = try client.readLine() { try hub.put(.say(id: id, text: line)) }
      } catch {}
      try? hub.put(.leave(id: id))
      try? writer.wait()
    }
  }
}

do {
  try server.wait()
} catch {
  var text = "weft-chat: \(error)\n"
  text.withUTF8 { b in _ = write(2, b.baseAddress, b.count) }
  exit(1)
}

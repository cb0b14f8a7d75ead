import Foundation
import Testing
import Weft
import WeftNet

/// A built example executable (next to the test bundle), started with `arguments`; its first
/// output line must say "listening on HOST:PORT".
final class RunningExample: @unchecked Sendable {
  let process = Process()
  let port: Int
  private let output = Pipe()

  init?(_ name: String, _ arguments: [String]) throws {
    let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    var url = dir.appendingPathComponent(name)
    if !FileManager.default.fileExists(atPath: url.path) {
      url = dir.deletingLastPathComponent().appendingPathComponent(name)  // …/debug/X.xctest/…
      guard FileManager.default.fileExists(atPath: url.path) else { return nil }
    }
    process.executableURL = url
    process.arguments = arguments
    process.standardOutput = output
    try process.run()
    var line = Data()
    while true {  // reads until the first newline (blocks this thread, never a worker)
      let b = output.fileHandleForReading.readData(ofLength: 1)
      if b.isEmpty || b == Data("\n".utf8) { break }
      line += b
    }
    let text = String(decoding: line, as: UTF8.self)
    guard let colon = text.lastIndex(of: ":"), let p = Int(text[text.index(after: colon)...].prefix { $0.isNumber }) else {
      kill(process.processIdentifier, SIGKILL)
      Issue.record("\(name) printed \"\(text)\"")
      return nil
    }
    port = p
  }

  func stop() {
    // SIGKILL: the child may inherit a signal mask with SIGTERM blocked from the spawning thread.
    kill(process.processIdentifier, SIGKILL)
    process.waitUntilExit()
  }
}

@Suite struct ExampleTests {
  /// weft-echo --port 0 --workers 2: concurrent clients each get their bytes back, in order.
  @Test func weftEchoServesConcurrentClients() throws {
    guard let echo = try RunningExample("weft-echo", ["--port", "0", "--workers", "2"]) else { return }
    defer { echo.stop() }
    let total = try onScheduler(threads: 2) { () -> Int in
      let clients = (0..<8).map { k in spawn { () throws -> Int in
        let s = try TCPStream.connect(host: "127.0.0.1", port: echo.port, timeout: .seconds(30))
        defer { s.close() }
        var n = 0
        for i in 0..<50 {
          let msg = Array("client \(k) message \(i)|".utf8)
          try s.write(msg)
          #expect(try s.read(exactly: msg.count) == msg)
          n += msg.count
        }
        return n
      } }
      return try clients.reduce(0) { $0 + (try $1.fetch()) }
    }
    #expect(total > 0)
  }

  /// weft-echo rejects a bad port with exit status 2 and says why.
  @Test func weftEchoRejectsBadPort() throws {
    let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    let url = [dir, dir.deletingLastPathComponent()].map { $0.appendingPathComponent("weft-echo") }
      .first { FileManager.default.fileExists(atPath: $0.path) }
    guard let url else { return }
    let p = Process()
    p.executableURL = url
    p.arguments = ["--port", "99999"]
    let err = Pipe()
    p.standardError = err
    try p.run()
    p.waitUntilExit()
    #expect(p.terminationStatus == 2)
    let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    #expect(text.contains("not a port"))
  }

  /// weft-chat: a line from one client reaches every other client, prefixed with its name.
  @Test func weftChatBroadcasts() throws {
    guard let chat = try RunningExample("weft-chat", ["--port", "0", "--workers", "2"]) else { return }
    defer { chat.stop() }
    try onScheduler(threads: 2) {
      let names = ["ann", "bob", "cy"]
      let streams = try names.map { name -> TCPStream in
        let s = try TCPStream.connect(host: "127.0.0.1", port: chat.port)
        try s.write("\(name)\n")
        #expect(try s.readLine(timeout: .seconds(30)) == "* welcome, \(name)")
        return s
      }
      // Wait until everyone has seen the later joins (so the room is complete).
      #expect(try streams[0].readLine(timeout: .seconds(30)) == "* bob joined")
      #expect(try streams[0].readLine(timeout: .seconds(30)) == "* cy joined")
      #expect(try streams[1].readLine(timeout: .seconds(30)) == "* cy joined")
      try streams[0].write("hello room\n")
      #expect(try streams[1].readLine(timeout: .seconds(30)) == "ann: hello room")
      #expect(try streams[2].readLine(timeout: .seconds(30)) == "ann: hello room")
      streams[2].close()
      #expect(try streams[1].readLine(timeout: .seconds(30)) == "* cy left")
      for s in streams { s.close() }
    }
  }
}

/// README's echo server, verbatim but for the port and a way out (the listener is closed).
@Sendable func readmeEchoServer(_ listener: TCPListener) throws {
  while true {
    let connection = try listener.accept()           // parks this fiber, not its worker
    spawn {
      defer { connection.close() }
      while case let bytes = try connection.readAvailable(), !bytes.isEmpty {
        try connection.write(bytes)                  // all of them, however slow the peer
      }
    }
  }
}

@Suite struct ReadmeExampleTests {
  @Test func readmeEchoServerEchoes() throws {
    try onScheduler(threads: 2) {
      let listener = try TCPListener.listen(host: "127.0.0.1", port: 0)
      let server = spawn { try readmeEchoServer(listener) }
      let s = try TCPStream.connect(host: "127.0.0.1", port: listener.port)
      try s.write("ping\n")
      #expect(try s.readLine() == "ping")
      s.close()
      listener.close()
      #expect(throws: (any Error).self) { try server.wait() }
    }
  }
}

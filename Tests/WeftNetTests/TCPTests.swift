#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
import Weft
@testable import WeftNet

@Suite struct TCPTests {
  /// An echo server with a fiber per connection; clients send lines and read them back.
  @Test func echoLinesWithAFiberPerConnection() throws {
    let clients = underTSan ? 4 : 16, lines = underTSan ? 20 : 100
    let total = try onScheduler(threads: 2) { () -> Int in
      let listener = try TCPListener.listen(host: "127.0.0.1", port: 0)
      let server = spawn { () throws -> Void in
        while true {
          let c: TCPStream
          do { c = try listener.accept() } catch let e as IOError where e.kind == .closed { return }
          spawn { () throws -> Void in
            defer { c.close() }
            while let line = try c.readLine(keepNewline: true) { try c.write(line) }
          }
        }
      }
      let fibers = (0..<clients).map { k in spawn { () throws -> Int in
        let s = try TCPStream.connect(host: "127.0.0.1", port: listener.port, timeout: .seconds(30))
        defer { s.close() }
        s.noDelay = true
        #expect(s.noDelay)
        #expect(s.peerAddress?.port == listener.port)
        var got = 0
        for i in 0..<lines {
          try s.write("client \(k) line \(i)\n")
          let back = try s.readLine()
          #expect(back == "client \(k) line \(i)")
          got += 1
        }
        try s.shutdown(.write)
        #expect(try s.readLine() == nil)  // the server saw end of stream and closed
        return got
      } }
      let n = try fibers.reduce(0) { $0 + (try $1.fetch()) }
      listener.close()
      try server.wait()
      return n
    }
    #expect(total == clients * lines)
  }

  /// IPv6 loopback, addresses, read(exactly:) and readAvailable.
  @Test func ipv6AndExactReads() throws {
    try onScheduler(threads: 2) {
      let listener: TCPListener
      do { listener = try TCPListener.listen(host: "::1", port: 0) } catch { return }  // no IPv6 here
      let server = spawn { () throws -> [UInt8] in
        let c = try listener.accept()
        defer { c.close() }
        #expect(c.localAddress?.family == .ipv6)
        return try c.read(exactly: 100_000)
      }
      let s = try TCPStream.connect(host: "::1", port: listener.port)
      let payload = (0..<100_000).map { UInt8($0 % 251) }
      try s.write(payload)
      #expect(try server.fetch() == payload)
      s.close()
      listener.close()
    }
  }

  /// Connection refused is a clear IOError with errno ECONNREFUSED.
  @Test func connectionRefused() throws {
    try onScheduler(threads: 1) {
      let l = try TCPListener.listen(port: 0)
      let port = l.port
      l.close()
      do {
        _ = try TCPStream.connect(host: "127.0.0.1", port: port)
        Issue.record("connected to a closed port")
      } catch let e as IOError {
        #expect(e.errno == ECONNREFUSED)
        #expect(e.description.contains("ECONNREFUSED"))
      }
    }
  }

  /// A peer that resets the connection in the middle of a read: the reader gets ECONNRESET
  /// (or end of stream), never a hang.
  @Test func peerResetDuringRead() throws {
    try onScheduler(threads: 2) {
      let l = try TCPListener.listen(port: 0)
      let accepted = Channel<TCPStream>(capacity: 1)
      spawn { try accepted.put(try l.accept()) }
      let s = try TCPStream.connect(host: "127.0.0.1", port: l.port)
      let peer = try accepted.take()
      let reader = spawn { () throws -> [UInt8] in try s.readAvailable() }
      try peer.write([1, 2, 3])
      #expect(try reader.fetch() == [1, 2, 3])
      let blocked = spawn { () throws -> [UInt8] in try s.readAvailable() }
      yield()
      peer.abort()
      do {
        let got = try blocked.fetch()
        #expect(got.isEmpty)
      } catch let e as TaskFailedError {
        #expect((e.rootCause as? IOError)?.errno == ECONNRESET)
      }
      s.close()
      l.close()
    }
  }

  /// Closing a stream and a listener while fibers are blocked in them wakes those fibers with
  /// IOError(.closed).
  @Test func closeWhileBlocked() throws {
    try onScheduler(threads: 2) {
      let l = try TCPListener.listen(port: 0)
      let acceptor = spawn { () throws -> TCPStream in try l.accept() }
      let s = try TCPStream.connect(host: "127.0.0.1", port: l.port)
      let peer = try acceptor.fetch()
      let reader = spawn { () throws -> [UInt8] in try s.readAvailable() }
      let blockedAccept = spawn { () throws -> TCPStream in try l.accept() }
      for _ in 0..<10 { yield() }
      s.close()
      l.close()
      #expect { try reader.fetch() } throws: { (($0 as? TaskFailedError)?.rootCause as? IOError)?.kind == .closed }
      #expect { try blockedAccept.fetch() } throws: { (($0 as? TaskFailedError)?.rootCause as? IOError)?.kind == .closed }
      peer.close()
    }
  }

  /// Read and accept timeouts throw TimeoutError; connect with a timeout works.
  @Test func timeouts() throws {
    try onScheduler(threads: 2) {
      let l = try TCPListener.listen(port: 0)
      #expect(throws: TimeoutError.self) { try l.accept(timeout: .milliseconds(10)) }
      let acceptor = spawn { () throws -> TCPStream in try l.accept() }
      let s = try TCPStream.connect(host: "localhost", port: l.port, timeout: .seconds(10))
      let peer = try acceptor.fetch()
      #expect(throws: TimeoutError.self) { try s.readLine(timeout: .milliseconds(10)) }
      try peer.write("late\n")
      #expect(try s.readLine(timeout: .seconds(30)) == "late")
      s.close(); peer.close(); l.close()
    }
  }

  /// A slow reader: a 4 MiB write completes in parts while the peer reads in small pieces.
  @Test func partialWritesToSlowReader() throws {
    let size = underTSan ? 1 << 20 : 4 << 20
    try onScheduler(threads: 2) {
      let l = try TCPListener.listen(port: 0)
      let acceptor = spawn { () throws -> TCPStream in try l.accept() }
      let s = try TCPStream.connect(host: "127.0.0.1", port: l.port)
      let peer = try acceptor.fetch()
      let payload = (0..<size).map { UInt8(truncatingIfNeeded: $0 &* 7) }
      let writer = spawn { () throws -> Void in try s.write(payload); try s.shutdown(.write) }
      var got: [UInt8] = []
      while true {
        let chunk = try peer.read(upTo: 1000)
        if chunk.isEmpty { break }
        got += chunk
        if got.count % 50_000 < 1000 { yield() }
      }
      try writer.wait()
      #expect(got == payload)
      s.close(); peer.close(); l.close()
    }
  }

  /// 100,000 sequential connections (1,000 under ThreadSanitizer) leave no descriptor behind.
  /// The server closes first (the client waits for its end of stream), so the TIME_WAIT
  /// sockets are the listener's and the client's ephemeral ports are never exhausted. In a
  /// child process (an exit test), so that other tests' descriptors do not blur the count.
  @Test func sequentialConnectionsLeakNoDescriptor() async {
    await #expect(processExitsWith: .success) {
      let n = ProcessInfo.processInfo.environment["WEFT_TSAN"] != nil ? 1_000 : 100_000
      let s = Scheduler(threads: 2)
      let leaked = try? s.spawn { () throws -> Int in
        let l = try TCPListener.listen(port: 0)
        let server = spawn { () throws -> Void in
          while true {
            let c: TCPStream
            do { c = try l.accept() } catch { return }
            let b = try c.readAvailable()
            try c.write(b)
            c.close()
          }
        }
        let before = openDescriptorCountForTests()
        for i in 0..<n {
          let s = try TCPStream.connect(host: "127.0.0.1", port: l.port)
          try s.write([UInt8(i & 0xFF)])
          guard try s.readAvailable() == [UInt8(i & 0xFF)], try s.readAvailable().isEmpty else { return -1 }
          s.close()
        }
        let after = openDescriptorCountForTests()
        l.close()
        try? server.wait()
        return after - before
      }.fetch()
      s.shutdown()
      if let leaked, leaked <= 2 { exit(0) }
      print("sequentialConnectionsLeakNoDescriptor: leaked \(leaked.map(String.init) ?? "?") descriptors")
      exit(1)
    }
  }

  /// UDP: datagrams go and come back with the sender's address.
  @Test func udpRoundTrip() throws {
    try onScheduler(threads: 2) {
      let a = try UDPSocket.bind(port: 0)
      let b = try UDPSocket.bind(port: 0)
      let echo = spawn { () throws -> Void in
        let (bytes, from) = try b.receive()
        try b.send(bytes.reversed(), to: from!)
      }
      try a.send([1, 2, 3], to: b.localAddress!)
      let (back, from) = try a.receive(timeout: .seconds(30))
      #expect(back == [3, 2, 1])
      #expect(from?.port == b.localAddress?.port)
      try echo.wait()
      a.close(); b.close()
    }
  }

  /// Pipes through the reactor: lines across fibers, end of stream after close.
  @Test func pipeLines() throws {
    try onScheduler(threads: 2) {
      let (r, w) = try PipeEnd.makePipe()
      let writer = spawn { () throws -> Void in
        for i in 0..<1000 { try w.write("line \(i)\n") }
        w.close()
      }
      var i = 0
      while let line = try r.readLine() { #expect(line == "line \(i)"); i += 1 }
      #expect(i == 1000)
      try writer.wait()
      r.close()
    }
  }

  /// Bad input is a thrown error.
  @Test func badInput() throws {
    try onScheduler(threads: 1) {
      #expect(throws: ArgumentError.self) { try SocketAddress(ip: "not an address", port: 1) }
      #expect(throws: ArgumentError.self) { try SocketAddress(ip: "127.0.0.1", port: 70000) }
      #expect(throws: (any Error).self) { try TCPStream.connect(host: "no-such-host.invalid", port: 80) }
      #expect(throws: ArgumentError.self) { try TCPListener.listen(port: 0).accept(timeout: .seconds(-1)) }
    }
  }
}

@Suite struct FileStreamTests {
  /// Regular files through the blocking pool: write, append, read lines back, errors.
  @Test func writeAppendReadLines() throws {
    try onScheduler(threads: 1) {
      let path = "/tmp/weft-file-\(getpid()).txt"
      defer { unlink(path) }
      let w = try FileStream.open(path, .write)
      for i in 0..<1000 { try w.write("line \(i)\n") }
      w.close()
      let a = try FileStream.open(path, .append)
      try a.write("last, no newline")
      a.close()
      let r = try FileStream.open(path)
      var lines: [String] = []
      while let l = try r.readLine() { lines.append(l) }
      #expect(lines.count == 1001)
      #expect(lines[999] == "line 999")
      #expect(lines[1000] == "last, no newline")
      r.close()
      #expect(throws: IOError.self) { try r.read() }
      do { _ = try FileStream.open("/nonexistent/dir/file"); Issue.record("opened") } catch let e as IOError {
        #expect(e.errno == ENOENT)
      }
    }
  }
}

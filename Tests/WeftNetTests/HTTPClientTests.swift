import Foundation
import HTTPTypes
import Testing
import Weft
import WeftHTTP
import WeftNet

/// Python's http.server with HTTP/1.1 (a server this project did not write), on 127.0.0.1.
/// Prints its port first. Routes: /hello, /chunked, /echo (POST/PUT), /item (DELETE),
/// /close (Connection: close), /early (closes inside the body), /malformed, /peer (the
/// client's port, to see keep-alive reuse), /redirect.
let serverScript = #"""
import http.server, socketserver, sys

class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def send_body(self, code, body, extra=()):
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        for k, v in extra: self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)
    def do_GET(self):
        if self.path == "/hello": self.send_body(200, b"hello, weft", [("X-Test", "yes")])
        elif self.path == "/peer": self.send_body(200, str(self.client_address[1]).encode())
        elif self.path == "/chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for part in [b"first ", b"second ", b"x" * 70000]:
                self.wfile.write(b"%x\r\n" % len(part) + part + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
        elif self.path == "/close": self.send_body(200, b"bye", [("Connection", "close")]); self.close_connection = True
        elif self.path == "/early":
            self.send_response(200)
            self.send_header("Content-Length", "100")
            self.end_headers()
            self.wfile.write(b"only ten b")
            self.wfile.flush()
            self.close_connection = True
        elif self.path == "/malformed":
            self.wfile.write(b"HTTP/1.1 abc nonsense\r\n\r\n")
            self.wfile.flush()
            self.close_connection = True
        elif self.path == "/redirect": self.send_body(302, b"", [("Location", "/hello")])
        else: self.send_body(404, b"no such page")
    def do_POST(self): self.echo()
    def do_PUT(self): self.echo()
    def echo(self):
        n = int(self.headers.get("Content-Length", "0"))
        data = self.rfile.read(n)
        self.send_body(201 if self.command == "PUT" else 200, data, [("X-Method", self.command)])
    def do_DELETE(self): self.send_response(204); self.send_header("Content-Length", "0"); self.end_headers()

class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
s = S(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
"""#

final class PythonServer: @unchecked Sendable {
  let process = Process()
  let port: Int
  init?() {
    // The script as an argument, not a file: a temporary file was left behind by every run.
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", "-c", serverScript]
    let out = Pipe()
    process.standardOutput = out
    do { try process.run() } catch { return nil }
    var line = Data()
    while true {
      let b = out.fileHandleForReading.readData(ofLength: 1)
      if b.isEmpty || b == Data("\n".utf8) { break }
      line += b
    }
    guard let p = Int(String(decoding: line, as: UTF8.self)) else { kill(process.processIdentifier, SIGKILL); return nil }
    port = p
  }
  func stop() { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
}

@Suite struct HTTPClientTests {
  @Test func getPostPutDeleteAgainstPythonHTTPServer() throws {
    guard let server = PythonServer() else { Issue.record("python3 is not available"); return }
    defer { server.stop() }
    let base = "http://127.0.0.1:\(server.port)"
    try onScheduler(threads: 2) {
      let client = HTTPClient(timeout: .seconds(30))
      defer { client.close() }
      let hello = try client.get(base + "/hello")
      #expect(hello.status == .ok)
      #expect(hello.text == "hello, weft")
      #expect(hello.headerFields[HTTPField.Name("X-Test")!] == "yes")

      let posted = try client.post(base + "/echo", headers: [.contentType: "text/plain"], body: Array("posted body".utf8))
      #expect(posted.status.code == 200)
      #expect(posted.text == "posted body")
      #expect(posted.headerFields[HTTPField.Name("X-Method")!] == "POST")

      let put = try client.put(base + "/echo", body: Array(repeating: 7, count: 100_000))
      #expect(put.status.code == 201)
      #expect(put.body == Array(repeating: 7, count: 100_000))

      let deleted = try client.delete(base + "/item")
      #expect(deleted.status.code == 204)
      #expect(deleted.body.isEmpty)

      let chunked = try client.get(base + "/chunked")
      #expect(chunked.text == "first second " + String(repeating: "x", count: 70_000))

      let redirect = try client.get(base + "/redirect")  // redirects are not followed
      #expect(redirect.status.code == 302)
      #expect(redirect.headerFields[.location] == "/hello")

      #expect(try client.get(base + "/nope").status.code == 404)
    }
  }

  /// Keep-alive: sequential requests reuse one connection (the server sees one client port);
  /// after `Connection: close` the next request opens a new one.
  @Test func keepAliveReusesConnections() throws {
    guard let server = PythonServer() else { Issue.record("python3 is not available"); return }
    defer { server.stop() }
    let base = "http://127.0.0.1:\(server.port)"
    try onScheduler(threads: 2) {
      let client = HTTPClient(timeout: .seconds(30))
      defer { client.close() }
      let ports = try (0..<5).map { _ in try client.get(base + "/peer").text }
      #expect(Set(ports).count == 1)
      #expect(client.connectionsOpened == 1)
      #expect(try client.get(base + "/close").text == "bye")
      #expect(try client.get(base + "/peer").text != ports[0])
      #expect(client.connectionsOpened == 2)
      // Concurrent requests from several fibers each get their own connection.
      let fibers = (0..<4).map { _ in spawn { () throws -> String in try client.get(base + "/hello").text } }
      for f in fibers { #expect(try f.fetch() == "hello, weft") }
    }
  }

  /// A server that closes early and malformed responses give clear errors.
  @Test func faultsGiveClearErrors() throws {
    guard let server = PythonServer() else { Issue.record("python3 is not available"); return }
    defer { server.stop() }
    let base = "http://127.0.0.1:\(server.port)"
    try onScheduler(threads: 2) {
      let client = HTTPClient(timeout: .seconds(30))
      defer { client.close() }
      do { _ = try client.get(base + "/early"); Issue.record("no error") } catch let e as IOError {
        #expect(e.kind == .endOfStream)
        #expect(e.description.contains("closed the connection in the body"))
      }
      do { _ = try client.get(base + "/malformed"); Issue.record("no error") } catch let e as IOError {
        #expect(e.kind == .protocolViolation)
        #expect(e.description.contains("malformed response: status line"))
      }
      #expect(throws: ArgumentError.self) { try client.get("https://127.0.0.1/") }
      #expect(throws: ArgumentError.self) { try client.get("http://127.0.0.1:99999/") }
      // Still works after the faults.
      #expect(try client.get(base + "/hello").status == .ok)
    }
  }

  /// Malformed responses from a hand-written server: bad header lines, bad chunk sizes.
  @Test func malformedHeadersAndChunks() throws {
    try onScheduler(threads: 2) {
      let l = try TCPListener.listen(port: 0)
      let replies = [
        "HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n",
        "SMTP ready\r\n",
      ]
      let server = spawn { () throws -> Void in
        for r in replies {
          let c = try l.accept()
          _ = try c.readLine()  // the request line is enough
          try c.write(r)
          try c.shutdown(.write)
          _ = try? c.readAvailable()
          c.close()
        }
      }
      for _ in replies {
        let client = HTTPClient(timeout: .seconds(30))
        do { _ = try client.get("http://127.0.0.1:\(l.port)/"); Issue.record("no error") } catch let e as IOError {
          #expect(e.kind == .protocolViolation, "\(e)")
        }
        client.close()
      }
      try server.wait()
      l.close()
    }
  }
}

@Suite struct HTTPExampleTests {
  /// weft-http-get fetches two URLs from the local Python server over one connection.
  @Test func weftHTTPGetFetchesFromLocalServer() throws {
    guard let server = PythonServer() else { Issue.record("python3 is not available"); return }
    defer { server.stop() }
    let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    guard let url = [dir, dir.deletingLastPathComponent()].map({ $0.appendingPathComponent("weft-http-get") })
      .first(where: { FileManager.default.fileExists(atPath: $0.path) }) else { return }
    let p = Process()
    p.executableURL = url
    p.arguments = ["http://127.0.0.1:\(server.port)/hello", "http://127.0.0.1:\(server.port)/chunked"]
    let out = Pipe()
    p.standardOutput = out
    try p.run()
    let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    p.waitUntilExit()
    #expect(p.terminationStatus == 0)
    #expect(text.hasPrefix("200 OK\n"))
    #expect(text.contains("X-Test: yes"))
    #expect(text.contains("hello, weft"))
    #expect(text.contains("first second xxx"))
  }
}

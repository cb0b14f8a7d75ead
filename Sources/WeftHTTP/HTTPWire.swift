import HTTPTypes
import Weft
import WeftNet

/// HTTP/1.1 framing (RFC 9112): the request line and fields out; the status line, fields and
/// body (Content-Length, chunked, or until close) in.
enum HTTPWire {
  enum Failure: Error {
    /// The connection ended or failed before any byte of the response (a stale keep-alive).
    case nothingReceived(any Error)
  }

  static let maxHeaderLine = 64 * 1024
  static let maxFields = 256

  static func serialize(_ r: HTTPRequest, body: [UInt8]?) -> [UInt8] {
    var head = "\(r.method.rawValue) \(r.path ?? "/") HTTP/1.1\r\n"
    if let authority = r.authority { head += "Host: \(authority)\r\n" }
    for f in r.headerFields where f.name != .contentLength { head += "\(f.name.rawName): \(f.value)\r\n" }
    if let body, !body.isEmpty || r.method == .post || r.method == .put { head += "Content-Length: \(body.count)\r\n" }
    head += "\r\n"
    var out = Array(head.utf8)
    if let body { out += body }
    return out
  }

  static func malformed(_ what: String) -> IOError {
    IOError(.protocolViolation, operation: "HTTPClient", detail: "malformed response: \(what)")
  }

  /// Reads one response; returns it and whether the connection can carry another request.
  static func readResponse(_ s: TCPStream, method: HTTPRequest.Method, timeout: Duration?) throws -> (HTTPClientResponse, Bool) {
    let statusLine: String
    do {
      guard let line = try s.readLine(maxLength: maxHeaderLine, timeout: timeout) else {
        throw Failure.nothingReceived(IOError(.endOfStream, operation: "HTTPClient", detail: "the server closed the connection before responding"))
      }
      statusLine = line
    } catch let e as IOError where e.kind == .system {
      throw Failure.nothingReceived(e)
    }
    // "HTTP/1.1 200 OK"
    let parts = statusLine.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
    guard parts.count >= 2, parts[0].hasPrefix("HTTP/1."), parts[1].count == 3, let code = Int(parts[1]), (100...999).contains(code) else {
      throw malformed("status line \"\(statusLine.prefix(100))\"")
    }
    let http10 = parts[0] == "HTTP/1.0"
    let reason = parts.count > 2 ? String(parts[2]) : ""
    var fields = HTTPFields()
    var count = 0
    while true {
      guard let line = try s.readLine(maxLength: maxHeaderLine, timeout: timeout) else { throw malformed("the header ended early") }
      if line.isEmpty { break }
      count += 1
      guard count <= maxFields else { throw malformed("more than \(maxFields) header fields") }
      guard let colon = line.firstIndex(of: ":"), let name = HTTPField.Name(String(line[..<colon])) else {
        throw malformed("header line \"\(line.prefix(100))\"")
      }
      let value = line[line.index(after: colon)...].trimmingSpaces
      fields.append(HTTPField(name: name, value: value))
    }
    var head = HTTPResponse(status: .init(code: code, reasonPhrase: reason), headerFields: fields)
    head.headerFields = fields
    let connectionTokens = (fields[.connection] ?? "").lowercased()
    var keep = http10 ? connectionTokens.contains("keep-alive") : !connectionTokens.contains("close")
    var body: [UInt8] = []
    let noBody = method == .head || (100..<200).contains(code) || code == 204 || code == 304
    if !noBody {
      if let te = fields[.transferEncoding]?.lowercased(), te.contains("chunked") {
        body = try readChunked(s, timeout: timeout)
      } else if let cl = fields[.contentLength] {
        guard let n = Int(cl.trimmingSpaces), n >= 0 else { throw malformed("Content-Length \"\(cl)\"") }
        do { body = try s.read(exactly: n, timeout: timeout) } catch let e as IOError where e.kind == .endOfStream {
          throw IOError(.endOfStream, operation: "HTTPClient", detail: "the server closed the connection in the body (\(e.detail))")
        }
      } else {
        while true {  // until the server closes
          let chunk = try s.readAvailable(timeout: timeout)
          if chunk.isEmpty { break }
          body += chunk
        }
        keep = false
      }
    }
    return (HTTPClientResponse(head: head, body: body), keep)
  }

  static func readChunked(_ s: TCPStream, timeout: Duration?) throws -> [UInt8] {
    var body: [UInt8] = []
    while true {
      guard let line = try s.readLine(maxLength: 1024, timeout: timeout) else { throw malformed("chunked body ended early") }
      let sizeText = line.split(separator: ";", maxSplits: 1).first.map { String($0).trimmingSpaces } ?? ""
      guard let size = Int(sizeText, radix: 16), size >= 0 else { throw malformed("chunk size \"\(line.prefix(40))\"") }
      if size == 0 {
        while let trailer = try s.readLine(maxLength: maxHeaderLine, timeout: timeout), !trailer.isEmpty {}
        return body
      }
      do { body += try s.read(exactly: size, timeout: timeout) } catch let e as IOError where e.kind == .endOfStream {
        throw IOError(.endOfStream, operation: "HTTPClient", detail: "the server closed the connection in a chunk")
      }
      guard try s.readLine(maxLength: 2, timeout: timeout) == "" else { throw malformed("no CRLF after a chunk") }
    }
  }
}

extension StringProtocol {
  var trimmingSpaces: String {
    var s = Substring(self)
    while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
    while let l = s.last, l == " " || l == "\t" { s.removeLast() }
    return String(s)
  }
}

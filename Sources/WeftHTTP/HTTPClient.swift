import HTTPTypes
import Weft
import WeftNet

/// A response: apple/swift-http-types' `HTTPResponse` (status and header fields) and the body.
public struct HTTPClientResponse: Sendable {
  public let head: HTTPResponse
  public let body: [UInt8]
  public var status: HTTPResponse.Status { head.status }
  public var headerFields: HTTPFields { head.headerFields }
  /// The body as UTF-8 text.
  public var text: String { String(decoding: body, as: UTF8.self) }
}

/// An HTTP/1.1 client (Julia's HTTP.jl `HTTP.get` / `HTTP.post` shape) on WeftNet's TCP
/// streams: each request parks the calling fiber, never its worker.
///
/// - **Bodies:** `Content-Length` and `Transfer-Encoding: chunked` responses, or until the
///   server closes; request bodies are sent with `Content-Length`.
/// - **Connections:** kept alive and reused per host and port (up to `maxIdlePerHost` idle
///   ones); a reused connection that the server had closed is retried once on a fresh one
///   when nothing of the response arrived. `Connection: close` responses are not reused.
/// - **Redirects:** not followed (the 3xx response is returned).
/// - **Errors:** `IOError` (refused, reset, `.protocolViolation` for a malformed response,
///   `.endOfStream` when the server closes early), `TimeoutError` (`timeout` bounds each
///   wait of a request), `ArgumentError` for a URL it cannot use (only `http://`).
public final class HTTPClient: @unchecked Sendable {
  // SAFETY: `idle` is guarded by `lock` (a fiber-aware lock, never held across I/O).
  private let lock = ReentrantLock()
  private var idle: [String: [TCPStream]] = [:]
  public let timeout: Duration?
  public let maxIdlePerHost: Int
  /// Connections opened so far (for tests of reuse).
  public private(set) var connectionsOpened = 0

  public init(timeout: Duration? = .seconds(60), maxIdlePerHost: Int = 8) {
    self.timeout = timeout
    self.maxIdlePerHost = maxIdlePerHost
  }

  deinit { close() }

  /// Closes every idle connection.
  public func close() {
    lock.lock()
    let all = idle.values.flatMap { $0 }
    idle.removeAll()
    lock.unlock()
    for s in all { s.close() }
  }

  public func get(_ url: String, headers: HTTPFields = [:]) throws -> HTTPClientResponse {
    try send(.get, url, headers: headers, body: nil)
  }
  public func post(_ url: String, headers: HTTPFields = [:], body: [UInt8]) throws -> HTTPClientResponse {
    try send(.post, url, headers: headers, body: body)
  }
  public func put(_ url: String, headers: HTTPFields = [:], body: [UInt8]) throws -> HTTPClientResponse {
    try send(.put, url, headers: headers, body: body)
  }
  public func delete(_ url: String, headers: HTTPFields = [:]) throws -> HTTPClientResponse {
    try send(.delete, url, headers: headers, body: nil)
  }

  /// Sends `method` to `url` ("http://host[:port]/path?query") with `headers` and `body`.
  public func send(_ method: HTTPRequest.Method, _ url: String, headers: HTTPFields = [:], body: [UInt8]?) throws -> HTTPClientResponse {
    let target = try URLParts(url)
    let request = HTTPRequest(method: method, scheme: "http", authority: target.authority, path: target.path, headerFields: headers)
    return try execute(request, host: target.host, port: target.port, body: body)
  }

  /// Sends `request` (its path; its authority becomes the `Host` field) to `host`:`port`.
  public func execute(_ request: HTTPRequest, host: String, port: Int, body: [UInt8]?) throws -> HTTPClientResponse {
    let key = "\(host):\(port)"
    let wire = HTTPWire.serialize(request, body: body)
    for attempt in 0..<2 {
      let (stream, reused) = try connection(key, host: host, port: port)
      do {
        try stream.write(wire, timeout: timeout)
        let (response, keep) = try HTTPWire.readResponse(stream, method: request.method, timeout: timeout)
        if keep { giveBack(stream, key) } else { stream.close() }
        return response
      } catch HTTPWire.Failure.nothingReceived(let underlying) {
        stream.close()
        // A kept-alive connection the server had closed: once more on a fresh one.
        if reused && attempt == 0 { continue }
        throw underlying
      } catch {
        stream.close()
        throw error
      }
    }
    preconditionFailure("BUG IN WeftHTTP: request loop ended without a result")
  }

  private func connection(_ key: String, host: String, port: Int) throws -> (TCPStream, Bool) {
    lock.lock()
    if var list = idle[key], let s = list.popLast() {
      idle[key] = list
      lock.unlock()
      return (s, true)
    }
    connectionsOpened += 1
    lock.unlock()
    let s = try TCPStream.connect(host: host, port: port, timeout: timeout)
    s.noDelay = true
    return (s, false)
  }

  private func giveBack(_ s: TCPStream, _ key: String) {
    lock.lock()
    var list = idle[key] ?? []
    if list.count < maxIdlePerHost {
      list.append(s)
      idle[key] = list
      lock.unlock()
    } else {
      lock.unlock()
      s.close()
    }
  }
}

/// The parts of an `http://` URL.
struct URLParts {
  let host: String
  let port: Int
  let authority: String
  let path: String

  init(_ url: String) throws {
    guard url.hasPrefix("http://") else {
      throw ArgumentError("HTTPClient: only http:// URLs are supported (got \"\(url)\")")
    }
    let rest = url.dropFirst("http://".count)
    let slash = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
    let auth = String(rest[..<slash])
    var p = String(rest[slash...])
    if p.isEmpty { p = "/" } else if p.hasPrefix("?") { p = "/" + p }
    guard !auth.isEmpty else { throw ArgumentError("HTTPClient: no host in \"\(url)\"") }
    var h = auth, portNumber = 80
    if auth.hasPrefix("[") {  // [v6]:port
      guard let close = auth.firstIndex(of: "]") else { throw ArgumentError("HTTPClient: bad IPv6 host in \"\(url)\"") }
      h = String(auth[auth.index(after: auth.startIndex)..<close])
      let after = auth[auth.index(after: close)...]
      if after.hasPrefix(":") {
        guard let n = Int(after.dropFirst()), (1...65535).contains(n) else { throw ArgumentError("HTTPClient: bad port in \"\(url)\"") }
        portNumber = n
      }
    } else if let colon = auth.lastIndex(of: ":") {
      h = String(auth[..<colon])
      guard let n = Int(auth[auth.index(after: colon)...]), (1...65535).contains(n) else {
        throw ArgumentError("HTTPClient: bad port in \"\(url)\"")
      }
      portNumber = n
    }
    host = h
    port = portNumber
    authority = auth
    path = p
  }
}

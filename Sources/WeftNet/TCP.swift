#if canImport(Glibc)
import Glibc
#endif
import CWeftIO
import Weft

/// A connected TCP stream (Julia's `TCPSocket`): a fiber per connection, each blocking call
/// parks the fiber while its worker runs others. See `BufferedStream` for the contract.
public final class TCPStream: BufferedStream, @unchecked Sendable {
  /// Connects to `host` (a name, resolved on the blocking pool, or a numeric IPv4/IPv6
  /// address), trying each address in turn; `timeout` bounds the whole connect.
  /// Throws `IOError` (`ECONNREFUSED`, …, with the address in `detail`) or `TimeoutError`.
  public static func connect(host: String, port: Int, timeout: Duration? = nil) throws -> TCPStream {
    let deadline = try ioDeadline(timeout, "TCPStream.connect")
    var last: any Error = IOError(.system, operation: "TCPStream.connect", detail: "\(host): no address")
    for a in try Resolver.resolve(host: host, port: port) {
      do { return try connect(to: a, timeout: timeout, deadline: deadline) } catch let e as TimeoutError { throw e } catch { last = error }
    }
    throw last
  }

  /// Connects to one address.
  public static func connect(to address: SocketAddress, timeout: Duration? = nil) throws -> TCPStream {
    try connect(to: address, timeout: timeout, deadline: try ioDeadline(timeout, "TCPStream.connect"))
  }

  static func connect(to address: SocketAddress, timeout: Duration?, deadline: UInt64?) throws -> TCPStream {
    let fd = weft_socket_nonblocking(address.domain, Int32(SOCK_STREAM.rawValue), 0)
    if fd < 0 { throw IOError.system("TCPStream.connect", currentErrno(), detail: "socket") }
    let rc = address.withSockaddr { Glibc.connect(fd, $0, $1) }
    let e = rc < 0 ? currentErrno() : 0
    if rc < 0 && e != EINPROGRESS && e != EINTR {
      _ = Glibc.close(fd)
      throw IOError.system("TCPStream.connect", e, detail: "\(address)")
    }
    // Registered after connect(2): a fresh unconnected socket reports HUP, which would look
    // like a completed connect.
    let d = try IODescriptor(fd: fd)
    let stream = TCPStream(descriptor: d, kind: .socket)
    if rc < 0 {
      while true {
        try d.waitFor(.write, "TCPStream.connect", timeout: timeout, deadline: deadline)
        var err: Int32 = 0
        var len = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len)
        if err != 0 { stream.close(); throw IOError.system("TCPStream.connect", err, detail: "\(address)") }
        if SocketAddress.of(fd, peer: true) != nil { break }
      }
    }
    return stream
  }

  /// This end's address.
  public var localAddress: SocketAddress? { SocketAddress.of(descriptor.fd, peer: false) }
  /// The peer's address (nil once it is gone).
  public var peerAddress: SocketAddress? { SocketAddress.of(descriptor.fd, peer: true) }

  /// TCP_NODELAY: send small writes at once (no Nagle delay).
  public var noDelay: Bool {
    get { getOption(Int32(IPPROTO_TCP), TCP_NODELAY) != 0 }
    set { setOption(Int32(IPPROTO_TCP), TCP_NODELAY, newValue ? 1 : 0) }
  }

  public enum ShutdownDirection: Sendable { case read, write, both }

  /// Julia's `closewrite` for `.write`: half-closes the stream; the peer reads end of stream
  /// and can still send.
  public func shutdown(_ direction: ShutdownDirection) throws {
    try descriptor.beginOperation("TCPStream.shutdown")
    defer { descriptor.endOperation() }
    let how: Int32 = direction == .read ? Int32(SHUT_RD) : direction == .write ? Int32(SHUT_WR) : Int32(SHUT_RDWR)
    if Glibc.shutdown(descriptor.fd, how) != 0 { throw IOError.system("TCPStream.shutdown", currentErrno()) }
  }

  /// SO_LINGER with a zero timeout, then close: the peer sees a reset (for fault tests).
  public func abort() {
    var l = linger(l_onoff: 1, l_linger: 0)
    setsockopt(descriptor.fd, SOL_SOCKET, SO_LINGER, &l, socklen_t(MemoryLayout<linger>.size))
    close()
  }

  func getOption(_ level: Int32, _ name: Int32) -> Int32 {
    var v: Int32 = 0
    var len = socklen_t(MemoryLayout<Int32>.size)
    getsockopt(descriptor.fd, level, name, &v, &len)
    return v
  }

  func setOption(_ level: Int32, _ name: Int32, _ value: Int32) {
    var v = value
    setsockopt(descriptor.fd, level, name, &v, socklen_t(MemoryLayout<Int32>.size))
  }
}

/// A listening TCP socket (Julia's `listen` / `accept`).
///
/// - **Blocks:** `accept` parks the calling fiber until a connection arrives.
/// - **Errors:** `IOError` (`EADDRINUSE` from `listen`; `EMFILE` from `accept` when the
///   process has no descriptor left: the connection stays queued and a later `accept`
///   takes it once descriptors are free; `.closed` for fibers blocked in `accept` when the
///   listener is closed), `TimeoutError`, interruptions.
/// - **Julia:** `listen(host, port; backlog)`, `accept(server)`.
public final class TCPListener: @unchecked Sendable {
  // SAFETY: the descriptor is thread-safe (IODescriptor D1–D3).
  let descriptor: IODescriptor

  init(descriptor: IODescriptor) { self.descriptor = descriptor }
  deinit { descriptor.close() }

  /// Listens on `host` ("127.0.0.1", "::1", "0.0.0.0", "::" or a name) and `port` (0: any
  /// free port; read it from `localAddress`). SO_REUSEADDR is set.
  public static func listen(host: String = "127.0.0.1", port: Int, backlog: Int = 511) throws -> TCPListener {
    guard let a = try Resolver.resolve(host: host, port: port).first else {
      throw IOError(.system, operation: "TCPListener.listen", detail: "\(host): no address")
    }
    let fd = weft_socket_nonblocking(a.domain, Int32(SOCK_STREAM.rawValue), 0)
    if fd < 0 { throw IOError.system("TCPListener.listen", currentErrno(), detail: "socket") }
    var one: Int32 = 1
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
    if a.withSockaddr({ bind(fd, $0, $1) }) != 0 {
      let e = currentErrno()
      _ = Glibc.close(fd)
      throw IOError.system("TCPListener.listen", e, detail: "bind \(a)")
    }
    if Glibc.listen(fd, Int32(clamping: backlog)) != 0 {
      let e = currentErrno()
      _ = Glibc.close(fd)
      throw IOError.system("TCPListener.listen", e, detail: "\(a)")
    }
    return TCPListener(descriptor: try IODescriptor(fd: fd))
  }

  /// The bound address (its port, when listening on port 0).
  public var localAddress: SocketAddress? { SocketAddress.of(descriptor.fd, peer: false) }
  public var port: Int { localAddress?.port ?? 0 }

  /// Waits for and returns the next connection.
  public func accept(timeout: Duration? = nil) throws -> TCPStream {
    let deadline = try ioDeadline(timeout, "TCPListener.accept")
    let fd = try descriptor.perform(.read, "TCPListener.accept", timeout: timeout, deadline: deadline) { fd in
      let n = weft_accept_nonblocking(fd, nil, nil)
      var e = n < 0 ? currentErrno() : 0
      if e == ECONNABORTED || e == EPROTO { e = EINTR }  // the peer gave up while queued: take the next
      return (Int(n), e)
    }
    do {
      return TCPStream(descriptor: try IODescriptor(fd: Int32(fd)), kind: .socket)
    }
  }

  /// Closes the listener; fibers blocked in `accept` throw `IOError.closed`.
  public func close() { descriptor.close() }
  public var isClosed: Bool { descriptor.isClosed }
}

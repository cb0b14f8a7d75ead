#if canImport(Glibc)
import Glibc
#endif
import CWeftIO
import Weft

/// A UDP socket (Julia's `UDPSocket`): `bind`, `send(_:to:)`, `receive()`.
///
/// - **Blocks:** `receive` parks the fiber until a datagram arrives; `send` parks only while
///   the socket's buffer is full.
/// - **Errors:** `IOError`, `TimeoutError`, interruptions; `.closed` for a fiber blocked in
///   `receive` when the socket is closed.
/// - **Julia:** `UDPSocket()`, `bind`, `send`, `recvfrom`.
public final class UDPSocket: @unchecked Sendable {
  // SAFETY: the descriptor is thread-safe (IODescriptor D1–D3).
  let descriptor: IODescriptor

  /// A socket bound to `host`:`port` (port 0: any).
  public static func bind(host: String = "127.0.0.1", port: Int = 0) throws -> UDPSocket {
    guard let a = try Resolver.resolve(host: host, port: port, datagram: true).first else {
      throw IOError(.system, operation: "UDPSocket.bind", detail: "\(host): no address")
    }
    let fd = weft_socket_nonblocking(a.domain, Int32(SOCK_DGRAM.rawValue), 0)
    if fd < 0 { throw IOError.system("UDPSocket.bind", currentErrno()) }
    if a.withSockaddr({ Glibc.bind(fd, $0, $1) }) != 0 {
      let e = currentErrno()
      _ = Glibc.close(fd)
      throw IOError.system("UDPSocket.bind", e, detail: "\(a)")
    }
    return UDPSocket(descriptor: try IODescriptor(fd: fd))
  }

  init(descriptor: IODescriptor) { self.descriptor = descriptor; ignoreSIGPIPE }
  deinit { descriptor.close() }

  public var localAddress: SocketAddress? { SocketAddress.of(descriptor.fd, peer: false) }

  /// Sends one datagram to `address`.
  public func send(_ bytes: [UInt8], to address: SocketAddress, timeout: Duration? = nil) throws {
    let deadline = try ioDeadline(timeout, "UDPSocket.send")
    _ = try bytes.withUnsafeBytes { p in
      try address.withSockaddr { sa, len in
        try descriptor.perform(.write, "UDPSocket.send", timeout: timeout, deadline: deadline) { fd in
          let n = sendto(fd, p.baseAddress, p.count, Int32(MSG_NOSIGNAL), sa, len)
          return (n, n < 0 ? currentErrno() : 0)
        }
      }
    }
  }

  /// Receives one datagram (at most `maxBytes`; the rest of a longer one is dropped).
  public func receive(maxBytes: Int = 65536, timeout: Duration? = nil) throws -> (bytes: [UInt8], from: SocketAddress?) {
    let deadline = try ioDeadline(timeout, "UDPSocket.receive")
    var buf = [UInt8](repeating: 0, count: maxBytes)
    var storage = sockaddr_storage()
    let n = try buf.withUnsafeMutableBytes { p in
      try withUnsafeMutablePointer(to: &storage) { sp in
        try sp.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
          try descriptor.perform(.read, "UDPSocket.receive", timeout: timeout, deadline: deadline) { fd in
            var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
            let n = recvfrom(fd, p.baseAddress, p.count, 0, sa, &len)
            return (n, n < 0 ? currentErrno() : 0)
          }
        }
      }
    }
    buf.removeSubrange(n...)
    let from = withUnsafePointer(to: &storage) { sp in sp.withMemoryRebound(to: sockaddr.self, capacity: 1) { SocketAddress($0) } }
    return (buf, from)
  }

  /// Closes the socket; a fiber blocked in `receive` throws `IOError.closed`.
  public func close() { descriptor.close() }
}

#if canImport(Glibc)
import Glibc
#endif
import Weft

/// An IPv4 or IPv6 socket address (address and port).
public struct SocketAddress: Sendable, Hashable, CustomStringConvertible {
  public enum Family: Sendable { case ipv4, ipv6 }
  /// The numeric host ("127.0.0.1", "::1").
  public let host: String
  public let port: Int
  public let family: Family

  /// A numeric address; throws `ArgumentError` when `host` is not an IPv4 or IPv6 literal.
  public init(ip host: String, port: Int) throws {
    guard (0...65535).contains(port) else { throw ArgumentError("SocketAddress: port \(port) is not in 0...65535") }
    var a4 = in_addr(), a6 = in6_addr()
    let h = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
    if inet_pton(AF_INET, h, &a4) == 1 {
      family = .ipv4
    } else if inet_pton(AF_INET6, h, &a6) == 1 {
      family = .ipv6
    } else {
      throw ArgumentError("SocketAddress: \"\(host)\" is not a numeric IPv4 or IPv6 address")
    }
    self.host = h
    self.port = port
  }

  /// From a kernel sockaddr (accept, getsockname, recvfrom, getaddrinfo).
  init?(_ sa: UnsafePointer<sockaddr>) {
    var buf = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
    var port = 0
    switch Int32(sa.pointee.sa_family) {
    case AF_INET:
      let ok = sa.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { p -> Bool in
        var a = p.pointee.sin_addr
        port = Int(UInt16(bigEndian: p.pointee.sin_port))
        return inet_ntop(AF_INET, &a, &buf, socklen_t(buf.count)) != nil
      }
      if !ok { return nil }
      family = .ipv4
    case AF_INET6:
      let ok = sa.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { p -> Bool in
        var a = p.pointee.sin6_addr
        port = Int(UInt16(bigEndian: p.pointee.sin6_port))
        return inet_ntop(AF_INET6, &a, &buf, socklen_t(buf.count)) != nil
      }
      if !ok { return nil }
      family = .ipv6
    default:
      return nil
    }
    host = String(cString: buf)
    self.port = port
  }

  public var description: String { family == .ipv6 ? "[\(host)]:\(port)" : "\(host):\(port)" }

  var domain: Int32 { family == .ipv4 ? AF_INET : AF_INET6 }

  /// Calls `body` with this address as a kernel sockaddr.
  func withSockaddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) throws -> R) rethrows -> R {
    switch family {
    case .ipv4:
      var sin = sockaddr_in()
      sin.sin_family = sa_family_t(AF_INET)
      sin.sin_port = UInt16(port).bigEndian
      _ = inet_pton(AF_INET, host, &sin.sin_addr)
      return try withUnsafePointer(to: &sin) { p in
        try p.withMemoryRebound(to: sockaddr.self, capacity: 1) { try body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
      }
    case .ipv6:
      var sin6 = sockaddr_in6()
      sin6.sin6_family = sa_family_t(AF_INET6)
      sin6.sin6_port = UInt16(port).bigEndian
      _ = inet_pton(AF_INET6, host, &sin6.sin6_addr)
      return try withUnsafePointer(to: &sin6) { p in
        try p.withMemoryRebound(to: sockaddr.self, capacity: 1) { try body($0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
      }
    }
  }

  /// getsockname / getpeername of `fd`.
  static func of(_ fd: Int32, peer: Bool) -> SocketAddress? {
    var storage = sockaddr_storage()
    var len = socklen_t(MemoryLayout<sockaddr_storage>.size)
    return withUnsafeMutablePointer(to: &storage) { p in
      p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sp -> SocketAddress? in
        let rc = peer ? getpeername(fd, sp, &len) : getsockname(fd, sp, &len)
        return rc == 0 ? SocketAddress(UnsafePointer(sp)) : nil
      }
    }
  }
}

/// Name resolution: numeric hosts directly, names through getaddrinfo on the blocking pool.
public enum Resolver {
  /// The addresses of `host` (a name or a numeric address) for TCP or UDP, in the order
  /// getaddrinfo gives them. Throws `IOError` (`detail` names the host) when it finds none.
  public static func resolve(host: String, port: Int, datagram: Bool = false) throws -> [SocketAddress] {
    if let a = try? SocketAddress(ip: host, port: port) { return [a] }
    guard (0...65535).contains(port) else { throw ArgumentError("Resolver: port \(port) is not in 0...65535") }
    let h = host == "localhost" ? "localhost" : host
    return try blocking { () throws -> [SocketAddress] in
      var hints = addrinfo()
      hints.ai_family = AF_UNSPEC
      hints.ai_socktype = Int32(datagram ? SOCK_DGRAM.rawValue : SOCK_STREAM.rawValue)
      var list: UnsafeMutablePointer<addrinfo>? = nil
      let rc = getaddrinfo(h, String(port), &hints, &list)
      if rc != 0 {
        let text = String(cString: gai_strerror(rc))
        throw IOError(.system, operation: "Resolver.resolve", errno: 0, detail: "\(h): \(text)")
      }
      defer { freeaddrinfo(list) }
      var out: [SocketAddress] = []
      var p = list
      while let ai = p {
        if let sa = ai.pointee.ai_addr, let a = SocketAddress(UnsafePointer(sa)), !out.contains(a) { out.append(a) }
        p = ai.pointee.ai_next
      }
      if out.isEmpty { throw IOError(.system, operation: "Resolver.resolve", detail: "\(h): no address") }
      return out
    }
  }
}

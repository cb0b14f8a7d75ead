#if canImport(Glibc)
import Glibc
#endif

/// A failed I/O operation: the descriptor was closed, or the system call failed.
///
/// `errno` is the system's error number (`ECONNREFUSED`, `ECONNRESET`, `EMFILE`, …), or 0
/// for `.closed`. The description names the operation and the error, e.g.
/// "IOError: TCPStream.read: Connection reset by peer (ECONNRESET, errno 104)".
public struct IOError: Error, CustomStringConvertible, Sendable, Equatable {
  /// What went wrong.
  public enum Kind: Sendable, Equatable {
    /// The descriptor was closed (by this process) before or while the operation waited.
    case closed
    /// The system call failed with `errno`.
    case system
    /// The peer sent something that cannot be parsed (an HTTP response, a line too long).
    case protocolViolation
    /// The stream ended before the expected bytes arrived (`read(exactly:)`).
    case endOfStream
  }
  /// What went wrong: `.closed`, `.system` (see `errno`), `.protocolViolation` or `.endOfStream`.
  public let kind: Kind
  /// The operation, e.g. "TCPStream.connect".
  public let operation: String
  /// The system's error number for `.system`, else 0.
  public let errno: Int32
  /// Extra detail (the address, the malformed line), may be empty.
  public let detail: String

  /// An error of `kind` raised by `operation` (e.g. "TCPStream.read"), with the system's
  /// error number for `.system` and optional detail for the description.
  public init(_ kind: Kind, operation: String, errno: Int32 = 0, detail: String = "") {
    self.kind = kind
    self.operation = operation
    self.errno = errno
    self.detail = detail
  }

  /// `.system` from an errno value read right after the failing call.
  public static func system(_ operation: String, _ errno: Int32, detail: String = "") -> IOError {
    IOError(.system, operation: operation, errno: errno, detail: detail)
  }

  /// `.closed`: `operation` found its descriptor closed, or it was closed while it waited.
  public static func closed(_ operation: String) -> IOError { IOError(.closed, operation: operation) }

  public var description: String {
    let extra = detail.isEmpty ? "" : " (\(detail))"
    switch kind {
    case .closed: return "IOError: \(operation): the descriptor is closed\(extra)"
    case .endOfStream: return "IOError: \(operation): end of stream\(extra)"
    case .protocolViolation: return "IOError: \(operation): protocol violation\(extra)"
    case .system:
      let text = String(cString: strerror(errno))
      return "IOError: \(operation): \(text) (\(IOError.name(errno)), errno \(errno))\(extra)"
    }
  }

  /// The symbolic name of the common errno values.
  static func name(_ e: Int32) -> String {
    switch e {
    case ECONNREFUSED: return "ECONNREFUSED"
    case ECONNRESET: return "ECONNRESET"
    case EPIPE: return "EPIPE"
    case EMFILE: return "EMFILE"
    case ENFILE: return "ENFILE"
    case EADDRINUSE: return "EADDRINUSE"
    case EADDRNOTAVAIL: return "EADDRNOTAVAIL"
    case ETIMEDOUT: return "ETIMEDOUT"
    case EHOSTUNREACH: return "EHOSTUNREACH"
    case ENETUNREACH: return "ENETUNREACH"
    case EBADF: return "EBADF"
    case EINVAL: return "EINVAL"
    case ENOTCONN: return "ENOTCONN"
    case EACCES: return "EACCES"
    case ENOENT: return "ENOENT"
    default: return "E?"
    }
  }
}

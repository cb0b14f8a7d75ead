#if canImport(Glibc)
import Glibc
#endif
import Weft

/// A regular file, read and written through Weft's blocking pool (epoll cannot watch
/// regular files): each call parks the fiber while a pool thread does the system call.
///
/// - **Blocks:** the calling fiber, never its worker.
/// - **Ordering:** calls on one `FileStream` are serialised by a fiber lock (`ReentrantLock`),
///   so `close()` waits for a read or write in progress and the descriptor is never reused
///   under it.
/// - **Errors:** `IOError` (`.system` with errno, `.closed` after `close()`), interruptions
///   while waiting for the lock are not possible (the lock wait is not interruptible).
/// - **Julia:** `open(path, "r"/"w"/"a")`, `read`, `readline`, `write`, `close` on an `IOStream`.
public final class FileStream: @unchecked Sendable {
  // SAFETY: `fd`, `buffer` are guarded by `lock`.
  private let lock = ReentrantLock()
  private var fd: Int32
  private var buffer: [UInt8] = []
  public let path: String

  public enum Mode: Sendable { case read, write, append, readWrite }

  private init(fd: Int32, path: String) {
    self.fd = fd
    self.path = path
  }

  deinit { if fd >= 0 { _ = Glibc.close(fd) } }

  /// Opens `path`: `.read` an existing file; `.write` creates or truncates; `.append` creates
  /// or appends; `.readWrite` creates if needed.
  public static func open(_ path: String, _ mode: Mode = .read, permissions: mode_t = 0o644) throws -> FileStream {
    let flags: Int32
    switch mode {
    case .read: flags = O_RDONLY
    case .write: flags = O_WRONLY | O_CREAT | O_TRUNC
    case .append: flags = O_WRONLY | O_CREAT | O_APPEND
    case .readWrite: flags = O_RDWR | O_CREAT
    }
    let fd = try blocking { () throws -> Int32 in
      let fd = Glibc.open(path, flags | O_CLOEXEC, permissions)
      if fd < 0 { throw IOError.system("FileStream.open", currentErrno(), detail: path) }
      return fd
    }
    return FileStream(fd: fd, path: path)
  }

  private func checkOpen(_ what: String) throws -> Int32 {
    if fd < 0 { throw IOError.closed(what) }
    return fd
  }

  /// Lock held: one read(2) of up to `n` bytes on the pool; empty at end of file.
  private func rawRead(_ n: Int) throws -> [UInt8] {
    let fd = try checkOpen("FileStream.read")
    return try blocking { () throws -> [UInt8] in
      var out = [UInt8](repeating: 0, count: n)
      while true {
        let got = out.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, n) }
        if got >= 0 { out.removeSubrange(got...); return out }
        let e = currentErrno()
        if e != EINTR { throw IOError.system("FileStream.read", e) }
      }
    }
  }

  /// Up to `maxBytes` (fewer at the end); empty at end of file.
  public func read(upTo maxBytes: Int = 64 * 1024) throws -> [UInt8] {
    lock.lock()
    defer { lock.unlock() }
    if !buffer.isEmpty {
      let n = min(maxBytes, buffer.count)
      let out = Array(buffer[..<n])
      buffer.removeFirst(n)
      return out
    }
    return try rawRead(maxBytes)
  }

  /// Everything from the current position to the end.
  public func readToEnd() throws -> [UInt8] {
    lock.lock()
    defer { lock.unlock() }
    var out = buffer
    buffer.removeAll()
    while true {
      let chunk = try rawRead(256 * 1024)
      if chunk.isEmpty { return out }
      out += chunk
    }
  }

  /// The next line without its "\n" (or "\r\n"); the last unterminated line; nil at the end.
  public func readLine(keepNewline: Bool = false) throws -> String? {
    lock.lock()
    defer { lock.unlock() }
    var scanned = 0
    while true {
      if let nl = buffer[scanned...].firstIndex(of: UInt8(ascii: "\n")) {
        var end = keepNewline ? nl + 1 : nl
        if !keepNewline && end > 0 && buffer[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        let line = String(decoding: buffer[..<end], as: UTF8.self)
        buffer.removeFirst(nl + 1)
        return line
      }
      scanned = buffer.count
      let chunk = try rawRead(64 * 1024)
      if chunk.isEmpty {
        if buffer.isEmpty { return nil }
        defer { buffer.removeAll() }
        return String(decoding: buffer, as: UTF8.self)
      }
      buffer += chunk
    }
  }

  /// Writes every byte.
  public func write(_ bytes: [UInt8]) throws {
    lock.lock()
    defer { lock.unlock() }
    let fd = try checkOpen("FileStream.write")
    try blocking { () throws -> Void in
      var done = 0
      while done < bytes.count {
        let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + done, bytes.count - done) }
        if n < 0 {
          let e = currentErrno()
          if e == EINTR { continue }
          throw IOError.system("FileStream.write", e)
        }
        done += n
      }
    }
  }

  public func write(_ string: String) throws { try write(Array(string.utf8)) }

  /// Closes the file (after a call in progress returns). Idempotent.
  public func close() {
    lock.lock()
    defer { lock.unlock() }
    if fd >= 0 { _ = Glibc.close(fd); fd = -1 }
  }
}

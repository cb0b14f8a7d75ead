#if canImport(Glibc)
import Glibc
#endif
import Weft

/// What the stream's system calls are: sockets use send/recv (no SIGPIPE), pipes read/write.
enum StreamKind { case socket, pipe }

/// A byte stream over a non-blocking descriptor watched by Weft's reactor: the common
/// surface of `TCPStream` and `PipeEnd`.
///
/// - **Triggering:** edge-triggered readiness inside; to callers, plain blocking calls.
/// - **Memory ordering:** bytes written before `write` returns are the ones a peer reads;
///   readers are serialised by one lock and writers by another (Weft's `ReentrantLock`), so
///   one fiber may read while another writes.
/// - **Blocks:** the calling fiber (never its worker) until bytes or room arrive.
/// - **Errors:** `IOError` (`.closed` after `close()`, including for fibers blocked in the
///   stream when it is closed; `.system` with errno for resets and refused connections;
///   `.endOfStream` for `read(exactly:)`), `TimeoutError` after `timeout`, and the error of
///   an interruption or `CancellationError`.
/// - **Julia:** `read`, `readavailable`, `readline`, `write`, `close`, `closewrite` on
///   `TCPSocket`/`PipeEndpoint`. Weft adds per-call `timeout:`.
public class BufferedStream: @unchecked Sendable {
  // SAFETY: `buffer`/`bufferStart`/`atEnd` are guarded by `readLock`; the descriptor is
  // thread-safe (IODescriptor D1–D3).
  let descriptor: IODescriptor
  let kind: StreamKind
  private let readLock = ReentrantLock()
  private let writeLock = ReentrantLock()
  /// Read-ahead bytes: `storage[start..<end]` (readLock held).
  private var storage = UnsafeMutableRawPointer.allocate(byteCount: 16 * 1024, alignment: 16)
  private var capacity = 16 * 1024
  private var start = 0
  private var end = 0
  /// The default read size (64 KiB).
  public static let chunk = 64 * 1024

  init(descriptor: IODescriptor, kind: StreamKind) {
    self.descriptor = descriptor
    self.kind = kind
    ignoreSIGPIPE
  }

  deinit {
    descriptor.close()
    storage.deallocate()
  }

  /// The descriptor number (for diagnostics; do not close it yourself).
  public var fileDescriptor: Int32 { descriptor.fd }

  /// Whether `close()` was called.
  public var isClosed: Bool { descriptor.isClosed }

  /// Closes the stream; fibers blocked in it wake and throw `IOError.closed`. Idempotent.
  public func close() { descriptor.close() }

  // MARK: Reading

  /// One system read into `p` (no buffering): bytes read, 0 at end of stream.
  private func rawRead(_ p: UnsafeMutableRawBufferPointer, deadline: UInt64?, timeout: Duration?) throws -> Int {
    let k = kind
    return try descriptor.perform(.read, "BufferedStream.read", timeout: timeout, deadline: deadline) { fd in
      let n = k == .socket ? recv(fd, p.baseAddress, p.count, 0) : Glibc.read(fd, p.baseAddress, p.count)
      return (n, n < 0 ? currentErrno() : 0)
    }
  }

  /// Reads at least one byte (waiting for it) and at most `buffer.count` into `buffer`;
  /// returns how many, 0 at end of stream.
  public func read(into buffer: UnsafeMutableRawBufferPointer, timeout: Duration? = nil) throws -> Int {
    if buffer.count == 0 { return 0 }
    let deadline = try ioDeadline(timeout, "BufferedStream.read")
    readLock.lock()
    defer { readLock.unlock() }
    if start < end {
      let n = min(buffer.count, end - start)
      buffer.baseAddress!.copyMemory(from: storage + start, byteCount: n)
      consume(n)
      return n
    }
    return try rawRead(buffer, deadline: deadline, timeout: timeout)
  }

  /// Reads up to `maxBytes` (at least one, waiting for it); empty at end of stream.
  public func read(upTo maxBytes: Int = BufferedStream.chunk, timeout: Duration? = nil) throws -> [UInt8] {
    guard maxBytes > 0 else { throw ArgumentError("BufferedStream.read(upTo:): maxBytes \(maxBytes) must be positive") }
    var out = [UInt8](repeating: 0, count: maxBytes)
    let n = try out.withUnsafeMutableBytes { try read(into: $0, timeout: timeout) }
    out.removeSubrange(n...)
    return out
  }

  /// Julia's `readavailable`: what is buffered, or else what one read returns (waiting for at
  /// least one byte); empty at end of stream.
  public func readAvailable(timeout: Duration? = nil) throws -> [UInt8] {
    try read(upTo: BufferedStream.chunk, timeout: timeout)
  }

  /// Reads exactly `count` bytes; throws `IOError(.endOfStream)` if the stream ends first
  /// (the bytes read so far are lost to the caller; Julia's `read(s, n)` returns them short).
  public func read(exactly count: Int, timeout: Duration? = nil) throws -> [UInt8] {
    guard count >= 0 else { throw ArgumentError("BufferedStream.read(exactly:): negative count \(count)") }
    let deadline = try ioDeadline(timeout, "BufferedStream.read")
    readLock.lock()
    defer { readLock.unlock() }
    var out = [UInt8]()
    out.reserveCapacity(count)
    let buffered = min(count, end - start)
    if buffered > 0 {
      out.append(contentsOf: UnsafeRawBufferPointer(start: storage + start, count: buffered))
      consume(buffered)
    }
    if out.count < count {
      var tail = [UInt8](repeating: 0, count: count - out.count)
      var got = 0
      try tail.withUnsafeMutableBytes { p in
        while got < p.count {
          let n = try rawRead(UnsafeMutableRawBufferPointer(rebasing: p[got...]), deadline: deadline, timeout: timeout)
          if n == 0 {
            throw IOError(.endOfStream, operation: "BufferedStream.read(exactly:)", detail: "\(out.count + got) of \(count) bytes")
          }
          got += n
        }
      }
      out.append(contentsOf: tail)
    }
    return out
  }

  /// Julia's `readline`: the next line without its "\n" (and a "\r" before it), or with them
  /// when `keepNewline`; the last unterminated line at end of stream; nil when the stream has
  /// ended with nothing left. Lines longer than `maxLength` bytes throw `.protocolViolation`.
  public func readLine(keepNewline: Bool = false, maxLength: Int = 1 << 20, timeout: Duration? = nil) throws -> String? {
    let deadline = try ioDeadline(timeout, "BufferedStream.readLine")
    readLock.lock()
    defer { readLock.unlock() }
    var scanned = start
    while true {
      if let hit = memchr(storage + scanned, Int32(UInt8(ascii: "\n")), end - scanned) {
        let nl = storage.distance(to: hit)
        var stop = keepNewline ? nl + 1 : nl
        if !keepNewline && stop > start && storage.load(fromByteOffset: stop - 1, as: UInt8.self) == UInt8(ascii: "\r") { stop -= 1 }
        let line = String(decoding: UnsafeRawBufferPointer(start: storage + start, count: stop - start), as: UTF8.self)
        consume(nl + 1 - start)
        return line
      }
      let scannedCount = end - start  // `fill` may move the bytes to the front
      if end - start > maxLength {
        throw IOError(.protocolViolation, operation: "BufferedStream.readLine", detail: "line longer than \(maxLength) bytes")
      }
      let n = try fill(deadline: deadline, timeout: timeout)
      if n == 0 {
        if start == end { return nil }
        let line = String(decoding: UnsafeRawBufferPointer(start: storage + start, count: end - start), as: UTF8.self)
        consume(end - start)
        return line
      }
      scanned = start + scannedCount
    }
  }

  /// readLock held: appends one read's worth to the read-ahead; returns how many bytes (0: end).
  /// Positions shift when the unread bytes move to the front (callers re-derive offsets from
  /// `start`, which `fill` may reset).
  private func fill(deadline: UInt64?, timeout: Duration?) throws -> Int {
    if start > 0 {
      // Move the unread bytes to the front (they are few: a partial line).
      if end > start { (storage).copyMemory(from: storage + start, byteCount: end - start) }
      end -= start
      start = 0
    }
    if capacity - end < 4096 {
      let bigger = UnsafeMutableRawPointer.allocate(byteCount: capacity * 2, alignment: 16)
      bigger.copyMemory(from: storage, byteCount: end)
      storage.deallocate()
      storage = bigger
      capacity *= 2
    }
    let n = try rawRead(UnsafeMutableRawBufferPointer(start: storage + end, count: capacity - end), deadline: deadline, timeout: timeout)
    end += n
    return n
  }

  private func consume(_ n: Int) {
    start += n
    if start == end { start = 0; end = 0 }
  }

  // MARK: Writing

  /// Writes every byte of `bytes` (partial writes are continued after the peer made room).
  public func write(_ bytes: UnsafeRawBufferPointer, timeout: Duration? = nil) throws {
    let deadline = try ioDeadline(timeout, "BufferedStream.write")
    writeLock.lock()
    defer { writeLock.unlock() }
    var done = 0
    let k = kind
    while done < bytes.count {
      let rest = UnsafeRawBufferPointer(rebasing: bytes[done...])
      done += try descriptor.perform(.write, "BufferedStream.write", timeout: timeout, deadline: deadline) { fd in
        let n = k == .socket ? send(fd, rest.baseAddress, rest.count, Int32(MSG_NOSIGNAL)) : Glibc.write(fd, rest.baseAddress, rest.count)
        return (n, n < 0 ? currentErrno() : 0)
      }
    }
  }

  public func write(_ bytes: [UInt8], timeout: Duration? = nil) throws {
    try bytes.withUnsafeBytes { try write($0, timeout: timeout) }
  }

  public func write(_ string: String, timeout: Duration? = nil) throws {
    var s = string
    try s.withUTF8 { try write(UnsafeRawBufferPointer($0), timeout: timeout) }
  }
}

/// Writing to a closed pipe or socket must be an error, not a signal that ends the process
/// (Go and Julia ignore SIGPIPE too). Done once, by the first stream.
let ignoreSIGPIPE: Void = { _ = signal(SIGPIPE, SIG_IGN) }()

#if canImport(Glibc)
import Glibc
#endif
import CWeftIO
import Weft

/// One end of an OS pipe, non-blocking and watched by the reactor (Julia's `PipeEndpoint`).
/// Same surface and contract as `BufferedStream`; reading from the write end (or writing to
/// the read end) fails with `IOError` (EBADF).
public final class PipeEnd: BufferedStream, @unchecked Sendable {
  /// A new pipe: (read end, write end). Julia's `Pipe()` / `link_pipe!`.
  public static func makePipe() throws -> (reader: PipeEnd, writer: PipeEnd) {
    var fds: [Int32] = [0, 0]
    let rc = weft_pipe(&fds, 1)
    if rc != 0 { throw IOError.system("PipeEnd.makePipe", rc) }
    let r: IODescriptor, w: IODescriptor
    do { r = try IODescriptor(fd: fds[0]) } catch { _ = Glibc.close(fds[1]); throw error }
    do { w = try IODescriptor(fd: fds[1]) } catch { r.close(); throw error }
    return (PipeEnd(descriptor: r, kind: .pipe), PipeEnd(descriptor: w, kind: .pipe))
  }

  /// Adopts `fd` (a pipe, FIFO, terminal or socket: anything epoll can watch), making it
  /// non-blocking; `close()` closes it.
  public static func adopting(_ fd: Int32) throws -> PipeEnd {
    let flags = fcntl(fd, F_GETFL)
    if flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 { throw IOError.system("PipeEnd.adopting", currentErrno()) }
    return PipeEnd(descriptor: try IODescriptor(fd: fd), kind: .pipe)
  }
}

#if canImport(Glibc)
import Glibc
#endif

/// Julia's `errormonitor(t)`: if `fiber` fails, prints "Unhandled Task ERROR: …" to standard
/// error when it ends. Returns `fiber`.
@discardableResult
public func errormonitor<F: AnyFiber>(_ fiber: F) -> F {
  fiber.onCompletion { f in
    guard f.isFailed, let e = f.error else { return }
    let text = "Unhandled Task ERROR: \(e)\n  in \(f)\n"
    writeToStandardError(text)
  }
  return fiber
}

/// Writes `text` to file descriptor 2 in one call (no buffered `FILE`).
func writeToStandardError(_ text: String) {
  var t = text
  t.withUTF8 { buf in _ = write(2, buf.baseAddress, buf.count) }
}

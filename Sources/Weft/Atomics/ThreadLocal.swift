import CWeft

/// The two thread-local slots of an OS thread: the worker it runs (nil on other threads) and
/// the fiber it runs now (a worker between fibers has none). Read and written inline (CWeft.h,
/// `weft_tls_worker_inline`: initial-exec, two instructions, never reused across a switch).
enum ThreadLocal {
  @inline(__always) static var worker: UnsafeMutableRawPointer? { weft_tls_worker_inline() }
  @inline(__always) static func setWorker(_ w: UnsafeMutableRawPointer?) { weft_set_tls_worker_inline(w) }
  @inline(__always) static var fiber: UnsafeMutableRawPointer? { weft_tls_fiber_inline() }
  @inline(__always) static func setFiber(_ f: UnsafeMutableRawPointer?) { weft_set_tls_fiber_inline(f) }
}

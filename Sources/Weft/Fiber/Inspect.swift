import CWeft
#if canImport(Glibc)
import Glibc
#endif

// Reading a parked fiber's stack from another thread, for backtraces (FiberState F5).
//
// A parked fiber's saved context points at the registers Boost.Context saved on its own
// stack, frame pointer among them; the frames above it form a chain of (saved frame
// pointer, return address) pairs up to the fiber's entry. The walk holds the fiber in the
// `inspected` state, which no waker can resume (it waits for `parked`), and checks every
// address against the fiber's stack before reading it. So a trace is exact for a fiber that
// stays parked, and reading it never races with the fiber running again.
//
// | field            | written by                                   | read by the walker after |
// |------------------|----------------------------------------------|--------------------------|
// | context, stack   | the worker that switched the fiber out (S1)  | its CAS parked → inspected (pairs with F2's CAS running → parked) |
// | the stack words  | the fiber, before it switched out            | the same CAS             |
extension AnyFiber {
  /// F5: while the fiber is parked, holds it `inspected` and runs `body` with its saved
  /// context and its stack; nil when it is not parked, is a thread fiber, or another walker
  /// holds it. `body` must be short and must not block (wakers of this fiber wait for it).
  func withParkedContext<R>(_ body: (UnsafeMutableRawPointer, FiberStack) -> R) -> R? {
    if isThreadFiber { return nil }
    // Full CAS: pairs with the loop's CAS running → parked (F2), which follows the worker's
    // writes of `context` and `stack` (S1) and the fiber's own writes to its stack.
    guard state.compareExchangeFull(FiberState.parked, FiberState.inspected) else { return nil }
    // Release: pairs with the waker's CAS parked → runnable (it waits for this store, F5).
    defer { state.storeRelease(FiberState.parked) }
    guard let context, let stack else { return nil }
    return body(context, stack)
  }

  /// A waker that found the fiber `inspected` waits here until the walker gives it back (F5).
  @inline(never)
  func waitWhileInspected() {
    var spins = 0
    // Acquire: pairs with the walker's release store of `parked`.
    while state.loadAcquire() == FiberState.inspected {
      if spins < 64 { cpuRelax(); spins += 1 } else { sched_yield() }
    }
  }

  /// The return addresses on the parked fiber's stack, innermost first (at most `limit`);
  /// nil when the fiber is not parked (running, queued, done) or is a thread fiber. The
  /// first is the return into Weft's switch; a fiber run inline on another's stack
  /// (Completion I1) continues into the frames of the fiber that ran it.
  func parkedReturnAddresses(limit: Int = 128) -> [UInt]? {
    precondition(limit > 0)
    return withUnsafeTemporaryAllocation(of: UInt.self, capacity: limit) { buffer -> [UInt]? in
      // SAFETY: F5 keeps the fiber parked and its stack mapped during the walk; the C walker
      // bounds-checks every read against [lowestUsable, top).
      let n = withParkedContext { context, stack in
        weft_context_backtrace(context, UInt(bitPattern: stack.lowestUsable), UInt(bitPattern: stack.top),
                               buffer.baseAddress, limit)
      }
      guard let n else { return nil }
      return Array(buffer.prefix(n))
    }
  }
}

#if canImport(Glibc)
import Glibc
#endif

// Switching: `yield`, `yield(t)`, `yield(to:value:)` and the bare `wait()`.

/// Julia's `yield()`: lets every other runnable fiber of this worker run first; the caller
/// stays runnable and continues at once if nothing else is runnable. On a thread that is not
/// a worker it yields the OS thread.
public func yield() {
  guard let p = ThreadLocal.fiber, let w = ThreadLocal.worker else {
    sched_yield()
    return
  }
  // Both borrowed, as in `park()` (a counted worker and fiber were two retains and two
  // releases per yield): the fiber is alive while it runs (FiberRef O1), and the worker is
  // not used after the switch (the fiber may resume on another one).
  Unmanaged<Worker>.fromOpaque(w)._withUnsafeGuaranteedRef { worker in
    Unmanaged<AnyFiber>.fromOpaque(p)._withUnsafeGuaranteedRef { me in
      worker.pending = .yield
      Context.switchOut(me, from: worker)
    }
  }
}

/// Julia's `yield(t, arg)`: `schedule(t, value:)` and switch to `t` before anything else.
/// - Precondition: `t` is not the calling fiber (Julia: "Cannot yield to currently running task").
public func yield(_ fiber: AnyFiber, value: (any Sendable)? = nil) {
  precondition(!fiber.isCurrentContext,
    "Weft misuse: yield(_:) to fiber \(fiber.id), which is the calling fiber (Julia: \"Cannot yield to currently running task\")")
  schedule(fiber, value: value)
  yield()
}

/// Julia's `yieldto(t, arg)`: switches to `fiber` (starting it if it was created) and
/// suspends the caller without rescheduling it: it runs again only when something
/// `schedule`s it (or yields to it), and then returns the value passed. If `fiber` has
/// already finished, returns `value` at once; if it failed, rethrows its error.
/// - Throws: the error passed with `schedule(_:error:)`, `CancellationError`, or the error of
///   a failed `fiber`.
@discardableResult
public func yield(to fiber: AnyFiber, value: (any Sendable)? = nil) throws -> (any Sendable)? {
  let me = AnyFiber.currentContext
  precondition(fiber !== me, "Weft misuse: yield(to:) the calling fiber itself (Julia: \"Cannot yield to currently running task\")")
  if fiber.isDone {
    if fiber.isFailed, let e = fiber.error { throw e }
    return value
  }
  // Registered as a bare wait before `fiber` can run and schedule us back.
  return try bareWait(me, "yield(to:)") { schedule(fiber, value: value) }
}

/// Julia's `wait()` with no argument: blocks the calling fiber (or thread) until some other
/// code `schedule`s it, and returns the value passed to `schedule(_:value:)`. A `schedule`
/// that came while the fiber was not in `wait()` is kept: the next `wait()` returns at once.
/// Only `schedule` ends this wait: an `Event`, a `Channel` or a `Condition` never does.
/// - Throws: the error passed to `schedule(_:error:)`, or `CancellationError` after `cancel()`.
@discardableResult
public func wait() throws -> (any Sendable)? {
  try bareWait(AnyFiber.currentContext, "wait()") {}
}

/// A claim-site wait (Interrupt.swift) that `schedule` ends; `registered` runs once the
/// record is in place and before parking.
private func bareWait(_ me: AnyFiber, _ what: StaticString, registered: () -> Void) throws -> (any Sendable)? {
  var record = WaitRecord(site: ClaimSite.bareWait, what: what)
  let interruption = withUnsafeMutablePointer(to: &record) { r -> WaitInterruption? in
    switch me.beginWait(r) {
    case .interrupted(let i):
      registered()
      return i
    case .scheduled:
      registered()
      return nil  // a pending schedule: its value is in wakeValue
    case .registered:
      registered()
      me.parkWaiting(r, deadline: nil)
      return me.endWait(r)
    }
  }
  if let interruption { throw interruption.error(what, timeout: nil) }
  return try me.takeWakeValue()
}

extension AnyFiber {
  /// The value or error handed over by the wake that resumed this fiber.
  func takeWakeValue() throws -> (any Sendable)? {
    guard let cold = coldIfAllocated else { return nil }  // no payload was ever set
    if let e = cold.wakeError {
      cold.wakeError = nil
      cold.wakeValue = nil
      throw e
    }
    return cold.wakeValue.take()
  }
}

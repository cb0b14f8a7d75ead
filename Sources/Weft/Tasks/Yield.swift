#if canImport(Glibc)
import Glibc
#endif

// Switching: `yield`, `yield(t)`, `yield(to:value:)` and the bare `wait()`.

/// Julia's `yield()`: lets every other runnable fiber of this worker run first; the caller
/// stays runnable and continues at once if nothing else is runnable. On a thread that is not
/// a worker it yields the OS thread.
public func yield() {
  guard let p = ThreadLocal.fiber, let worker = Worker.current else {
    sched_yield()
    return
  }
  let me = Unmanaged<AnyFiber>.fromOpaque(p).takeUnretainedValue()
  worker.pending = .yield
  Context.switchOut(me, from: worker)
}

/// Julia's `yield(t, arg)`: `schedule(t, value:)` and switch to `t` before anything else.
public func yield(_ fiber: AnyFiber, value: (any Sendable)? = nil) {
  schedule(fiber, value: value)
  yield()
}

/// Julia's `yieldto(t, arg)`: switches to `fiber` (starting it if it was created) and
/// suspends the caller without rescheduling it: it runs again only when something
/// `schedule`s it (or yields to it), and then returns the value passed.
/// - Throws: the error passed with `schedule(_:error:)`.
@discardableResult
public func yield(to fiber: AnyFiber, value: (any Sendable)? = nil) throws -> (any Sendable)? {
  let me = AnyFiber.currentContext
  precondition(fiber !== me, "Weft misuse: yield(to:) the calling fiber itself")
  schedule(fiber, value: value)
  me.setWaitingOn("yield(to:)")
  me.park()
  me.setWaitingOn("")
  return try me.takeWakeValue()
}

/// Julia's `wait()` with no argument: blocks the calling fiber (or thread) until some other
/// code `schedule`s it, and returns the value passed to `schedule(_:value:)`.
/// - Throws: the error passed to `schedule(_:error:)`.
@discardableResult
public func wait() throws -> (any Sendable)? {
  let me = AnyFiber.currentContext
  me.setWaitingOn("wait()")
  me.park()
  me.setWaitingOn("")
  return try me.takeWakeValue()
}

extension AnyFiber {
  /// The value or error handed over by the wake that resumed this fiber.
  func takeWakeValue() throws -> (any Sendable)? {
    if let e = wakeError {
      wakeError = nil
      wakeValue = nil
      throw e
    }
    let v = wakeValue
    wakeValue = nil
    return v
  }
}

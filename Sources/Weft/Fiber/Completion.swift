// Running a fiber's body and publishing its end to waiters (Julia's `wait(t)` / `fetch(t)`).
//
// - C1: `error`, the typed result and `flags.failed` are written before `done` is published
//   with release under `completionLock`; readers check `done` with acquire first.
// - C2: a waiter registers under `completionLock` only while the state is not `done`, so the
//   finishing fiber, which takes the whole list under the same lock, wakes every waiter once.

extension AnyFiber {
  /// Runs the body on the fiber's own stack, then completes.
  func runBody() {
    if let e = wakeError {  // schedule(t, error:) before it ever ran
      wakeError = nil
      complete(error: e)
      return
    }
    complete(error: invoke())
  }

  private func complete(error failure: (any Error)?) {
    completionLock.lock()
    if let failure {
      outcome.pointee.error = failure
      flags.fetchAddFull(FiberFlags.failed)
    }
    // Release (CAS): publishes the result (C1). A late wake may have left `notified`.
    while true {
      let s = state.loadAcquire()
      if state.compareExchangeFull(s, FiberState.done) { break }
    }
    var waiters = completion.pointee.waiters.takeAll()
    let hooks = coldIfAllocated?.completionHooks ?? []
    coldIfAllocated?.completionHooks = []
    completionLock.unlock()
    while let w = waiters.popFirst() { w.wake() }
    for hook in hooks { hook(self) }
  }

  /// Blocks the calling context until this fiber is done (C2).
  func waitUntilDone() {
    if state.loadAcquire() == FiberState.done { return }  // acquire: pairs with C1's release
    let me = AnyFiber.currentContext
    precondition(me !== self, "Weft misuse: fiber \(id) waited for itself, which can never finish")
    completionLock.lock()
    if state.loadAcquire() == FiberState.done { completionLock.unlock(); return }
    me.waitingOn = "fiber completion"
    completion.pointee.waiters.append(me)
    completionLock.unlock()
    repeat { me.park() } while state.loadAcquire() != FiberState.done
    me.waitingOn = ""
  }

  /// Runs `hook` once the fiber is done: at once (on the caller) if it already is, else on
  /// the finishing fiber right after waiters are woken. Used by `errormonitor` and `bind`.
  func onCompletion(_ hook: @escaping @Sendable (AnyFiber) -> Void) {
    completionLock.lock()
    if state.loadAcquire() == FiberState.done {
      completionLock.unlock()
      hook(self)
      return
    }
    cold.completionHooks.append(hook)
    completionLock.unlock()
  }

  /// Julia's `wait(t)`: blocks until the fiber is done; throws `TaskFailedError` if it failed.
  public func wait() throws {
    waitUntilDone()
    if isFailed { throw TaskFailedError(fiber: self) }
  }
}

// Running a fiber's body and publishing its end to waiters (Julia's `wait(t)` / `fetch(t)`).
//
// - C1: `error`, the typed result and `flags.failed` are written before `done` is published
//   with release under `completionLock`; readers check `done` with acquire first.
// - C2: a waiter registers under `completionLock` only while the state is not `done`, so the
//   finishing fiber, which takes the whole list under the same lock, wakes every waiter once.
// - C3: an interrupted or timed-out waiter is taken out of the list under `completionLock` by
//   its interrupter (WaitRecord.swift), which then wakes it instead of the finishing fiber.
// - C5: the first Swift task that awaits the fiber (`awaitDone`) registers its continuation
//   in `completion.awaiter` under `completionLock`, like a waiter (C2); later ones add a hook.
//   `complete` takes it in the same hold as the waiters and resumes it after waking them,
//   before the hooks, exactly once.
// - C4: a wait that runs the child inline is a call, not a park: interrupting or cancelling
//   the waiter meanwhile is kept pending until the child returns (the child may be interrupted
//   itself). Timed waits and `sync(cancelOnError: true)` joins never run children inline.
//
// Inline run (Cilk's and oneTBB's trick for fork–join): a fiber that waits for a child that
// has not started and still sits at the bottom of its own worker's deque pops it and runs its
// body right there, on the waiter's stack, as a call — no stack, no switches, no park.
// - I1: the child keeps its identity while it runs inline: it is the worker's `current` and
//   the thread's current fiber, its state goes runnable → running → done as usual, and it
//   borrows the waiter's stack and TSan fiber. If it parks, the worker records the switch
//   against the child (`Worker.runFiber` reads `current` after the switch), and the waiter's
//   stack travels with the child until the child's body returns into the waiter.
// - I2: only a migratable waiter and a migratable child of the same pool with the default
//   stack size qualify, so running together on one stack never breaks stickiness or a
//   requested stack size.
// - I4: only a fiber that has never started qualifies (the deque also holds fibers that were
//   woken after parking; those must resume on their own stack).
// - I3: a child run inline gets at least the stack it would have had on its own: it runs only
//   while the waiter's free stack is at least the scheduler's default stack size (a fiber
//   with a smaller stack never runs one). Default stacks are mapped with twice that size
//   (StackPool.defaultMapped), so a default-stack waiter qualifies until its own frames and
//   nested inline runs use up the headroom; a chain of spawn-then-fetch thousands deep then
//   falls back to separate stacks instead of overflowing one.

extension AnyFiber {
  /// Runs the body on the fiber's own stack, then completes.
  func runBody() {
    if hasColdState {  // most fibers were started with no payload (nor any cold state)
      if let e = wakeError {  // schedule(t, error:) before it ever ran
        wakeError = nil
        complete(error: e)
        return
      }
      // A value passed when starting (`schedule(t, value:)`, `yield(to: t, value:)` of a
      // created fiber) goes to the body's first switch, which takes no argument (Julia): drop
      // it, so the fiber's first `wait()` does not return it.
      wakeValue = nil
    }
    complete(error: invoke())
  }

  private func complete(error failure: (any Error)?) {
    completionLock.lock()
    if let failure {
      outcome.pointee.error = failure
      setFlag(FiberFlags.failed)  // F6
    }
    // Full exchange (its release half): publishes the result (C1). Whatever the state was —
    // `running`, or `notified` by a late wake — it becomes `done`.
    _ = state.exchangeFull(FiberState.done)
    var waiters = completion.pointee.waiters.takeAll()
    let awaiter = completion.pointee.awaiter.take()  // C5
    // Optional: an empty array literal still costs a release of the empty storage per fiber.
    var hooks: [@Sendable (AnyFiber) -> Void]? = nil
    if hasColdState, let cold = coldIfAllocated, !cold.completionHooks.isEmpty {
      hooks = cold.completionHooks
      cold.completionHooks = []
    }
    completionLock.unlock()
    if let s = placement.pointee.schedulerRaw {  // state dumps (FiberRegistry R1); borrowed
      Unmanaged<Scheduler>.fromOpaque(s)._withUnsafeGuaranteedRef { $0.registry?.remove(self) }
    }
    while let w = waiters.popFirst() { w.wake() }
    awaiter?.resume()  // C5
    if let hooks { for hook in hooks { hook(self) } }
  }

  /// Blocks the calling context until this fiber is done (C2), or until an interrupter, a
  /// canceller or `deadline` ends the wait (returns why; C3). `interruptible: false` for joins
  /// that must not be abandoned (`sync`'s). `inline: false` when the waiter must stay
  /// interruptible for the whole join. C4: an inline run makes the wait a call, which no
  /// interrupter can end: an interruption of the waiter waits (pending) until the child
  /// returns. So a timed wait never runs the child inline.
  func waitUntilDone(interruptible: Bool = true, deadline: UInt64? = nil, inline: Bool = true) -> WaitInterruption? {
    if state.loadAcquire() == FiberState.done { return nil }  // acquire: pairs with C1's release
    if inline, deadline == nil, runInlineIfPossible() { return nil }
    // Uncounted: this frame is the waiting fiber's own (FiberRef O2a).
    return AnyFiber.currentContextRef.with { me in wait(me, interruptible: interruptible, deadline: deadline) }
  }

  @inline(__always)
  private func wait(_ me: AnyFiber, interruptible: Bool, deadline: UInt64?) -> WaitInterruption? {
    precondition(me !== self, "Weft misuse: fiber \(id) waited for itself, which can never finish")
    var record = WaitRecord(site: self, what: "Fiber.wait", interruptible: interruptible)
    return withUnsafeMutablePointer(to: &record) { r -> WaitInterruption? in
      completionLock.lock()
      if state.loadAcquire() == FiberState.done { completionLock.unlock(); return nil }
      if let d = deadline, d <= monotonicNanoseconds() { completionLock.unlock(); return .timedOut }
      if case .interrupted(let i) = me.beginWait(r) { completionLock.unlock(); return i }
      completion.pointee.waiters.append(me)
      completionLock.unlock()
      me.parkWaiting(r, deadline: deadline)
      return me.endWait(r)
    }
  }

  /// C3: an interrupter takes a waiter out of this fiber's completion list (WaitSite).
  @usableFromInline func tryUnlink(_ fiber: AnyFiber, _ r: UnsafeMutablePointer<WaitRecord>, _ reason: WaitInterruption) -> UnlinkOutcome {
    guard completionLock.tryLock() else { return .busy }
    let removed = completion.pointee.waiters.remove(fiber)
    if removed { r.pointee.interruption = reason }  // R4
    completionLock.unlock()
    return removed ? .unlinked : .notWaiting
  }

  /// I1, I2: runs this fiber's body on the calling fiber's stack if it qualifies; true if it
  /// ran (and is now done).
  private func runInlineIfPossible() -> Bool {
    // Until it is popped below, this fiber may be running elsewhere: read only its immutable
    // and atomic fields here.
    guard stackSize == 0, state.loadAcquire() == FiberState.runnable,
          flags.loadAcquire() & FiberFlags.started == 0,
          let p = ThreadLocal.fiber, ThreadLocal.worker != nil else { return false }
    unowned(unsafe) let waiter = Unmanaged<AnyFiber>.fromOpaque(p).takeUnretainedValue()
    guard !waiter.sticky, let stack = waiter.stack else { return false }
    var probe: UInt8 = 0
    let sp = withUnsafeMutablePointer(to: &probe) { UInt(bitPattern: $0) }
    unowned(unsafe) let worker = Worker.currentUnchecked
    // I3: the child gets at least the stack it would have had on its own.
    guard sp &- UInt(bitPattern: stack.lowestUsable) >= worker.inlineRunMinimumFreeStack else { return false }
    guard let bottom = worker.ownDeque.pop() else { return false }
    // Popped from this worker's deque, it is ours (F1), and a deque holds only migratable
    // fibers of this worker's scheduler and pool (I2). Only one that never ran qualifies (I4).
    guard bottom == FiberRef(self), context == nil else { worker.ownDeque.push(bottom); return false }
    // Taken from a run queue: this worker owns it (F1).
    state.storeRelease(FiberState.running)
    setFlag(FiberFlags.started)  // F6
    run.pointee.stack = waiter.stack
    run.pointee.tsanFiber = waiter.tsanFiber
    worker.current = bottom
    worker.currentFiberID.storeRelaxed(UInt(id))  // for dumps only
    ThreadLocal.setFiber(Unmanaged.passUnretained(self).toOpaque())
    runBody()
    // The body may have parked and resumed on another worker: restore the waiter there.
    let now = Worker.currentUnchecked
    now.counters.increment(.finishedInline)  // WorkerCounters M1: `now` is this thread's worker
    now.current = FiberRef(waiter)
    now.currentFiberID.storeRelaxed(UInt(waiter.id))
    ThreadLocal.setFiber(p)
    run.pointee.stack = nil
    run.pointee.tsanFiber = nil
    context = nil
    // FiberRef O1: done, and back on the waiter's stack. The caller's reference (a `wait` or
    // `fetch` is a method call on a handle) keeps `self` alive past this.
    bottom.dropRunReference()
    return true
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

  /// C5: resumes `c` once the fiber is done: at once if it already is, else from `complete`
  /// (the first awaiter in the completion's slot, any other as a hook).
  func resumeWhenDone(_ c: UnsafeContinuation<Void, Never>) {
    completionLock.lock()
    if state.loadAcquire() == FiberState.done {
      completionLock.unlock()
      c.resume()
      return
    }
    if completion.pointee.awaiter == nil {
      completion.pointee.awaiter = c
    } else {
      cold.completionHooks.append { _ in c.resume() }
    }
    completionLock.unlock()
  }

  /// Who waits for this fiber to end without being a fiber: the awaiting Swift tasks (C5)
  /// and the completion hooks (`bind`, `errormonitor`). For tests.
  var completionObserverCount: Int {
    completionLock.lock()
    defer { completionLock.unlock() }
    let hooks = hasColdState ? coldIfAllocated?.completionHooks.count ?? 0 : 0
    return (completion.pointee.awaiter == nil ? 0 : 1) + hooks
  }

  /// Julia's `wait(t)`: blocks until the fiber is done.
  /// - Parameter timeout: give up after this long (nil: wait for ever); the fiber goes on.
  /// - Throws: `TaskFailedError` if it failed; `TimeoutError`; an interruption's error
  ///   (`schedule(_:error:)`) or `CancellationError` (the awaited fiber is not cancelled).
  public func wait(timeout: Duration? = nil) throws {
    try checkTimeout(timeout, "Fiber.wait")
    if let i = waitUntilDone(deadline: timeout.map(deadline(after:))) {
      throw i.error("Fiber.wait", timeout: timeout)
    }
    if isFailed { throw TaskFailedError(fiber: self) }
  }
}

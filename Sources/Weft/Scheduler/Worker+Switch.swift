import CWeft

// The switch half of a worker: running a fiber from the loop, and the direct fiber-to-fiber
// switch (Context.swift, S4), which share the steps before a fiber runs (`prepareToRun`) and
// after one switched out (`completeSwitch`).
//
// - D1 (direct switch): a fiber that parks or yields (or finishes) while this worker's
//   run-next slot holds a fiber switches straight to that fiber, without passing through the
//   loop, when the loop would have picked it anyway: the run-next streak is below
//   `RunNextStreak.cap`, no timer is pending (the loop fires due timers first) and no Swift job
//   waits (the loop runs those at the top of its turn). The streak
//   counts direct switches as the loop counts run-next picks, so two fibers handing off to
//   each other still let the loop in every `RunNextStreak.cap + 1` switches (fairness, timers).
// - D2: the switched-out fiber is published (parked, requeued or freed: `completeSwitch`) by
//   a hook that runs on the incoming fiber's stack after the outgoing one's context is saved
//   (`ontop_fcontext`), so F2 holds exactly as for a switch to the loop.
extension Worker {
  /// Switches into `ref` from the loop and, once a fiber switched back out, does what it
  /// asked for (F2).
  func runFiber(_ ref: FiberRef) {
    if local.pointee.isSearching { endSearching() }
    let saved = ref.with { next -> UnsafeMutableRawPointer? in
      prepareToRun(ref, next)
      return Context.switchIn(next)
    }
    local.pointee.outgoing = local.pointee.current.take()
    Context.setCurrentStack(nil)
    ThreadLocal.setFiber(nil)
    currentFiberID.storeRelaxed(0)
    completeSwitch(saved: saved)
  }

  /// Makes `next` (taken from a queue: F1) the fiber running on this worker; the caller then
  /// switches into it.
  @inline(__always)
  func prepareToRun(_ ref: FiberRef, _ next: AnyFiber) {
    next.state.storeRelease(FiberState.running)  // F1: this worker owns it now
    if next.context == nil { start(next) }
    local.pointee.current = ref
    counters.increment(.switches)  // the switch epoch of the long-running report (M1)
    currentFiberID.storeRelaxed(UInt(next.id))  // for dumps only: no ordering needed
    ThreadLocal.setFiber(UnsafeMutableRawPointer(bitPattern: ref.bits))
    Context.setCurrentStack(next.stack)
  }

  /// After a switch out to the loop (or, D2, to the fiber that replaced it here): stores the
  /// context the outgoing fiber left (S1) and does what it asked for.
  @inline(__always)
  func completeSwitch(saved: UnsafeMutableRawPointer?) {
    // The fiber that switched out: the one this worker ran, or a fiber it was running inline
    // (Completion I1); its run reference keeps it alive until we are done (FiberRef O1).
    let out = local.pointee.outgoing.take().unsafelyUnwrapped
    let action = pending
    pending = .none
    let finished = out.with { f -> Bool in
      f.context = saved  // S1
      return afterSwitch(f, action)
    }
    if finished { out.dropRunReference() }  // FiberRef O1: the last use of the fiber here
  }

  /// D1: the fiber to switch to directly from `current`, which is about to switch out, made
  /// ready to run; nil when the switch must go through the loop.
  @inline(__always)
  func takeDirectSwitchTarget(finishing: Bool) -> FiberRef? {
    if runNext.loadRelaxed() == 0 { return nil }
    if !local.pointee.streak.allowsDirectSwitch(finishing: finishing) { return nil }
    // Acquire: as in findLocalWork (pairs with the deadline's release stores in Timers).
    if nextTimerDeadline.loadAcquire() != UInt.max { return nil }
    // Swift jobs waiting (Interop, JobQueue): the loop runs them at its next turn. Relaxed,
    // as the loop's own check: a job missed here is seen at the loop's next turn.
    if jobsPending.loadRelaxed() != 0 || ownJobs.pointee.hasWork { return nil }  // and its own (J6, J8)
    guard let next = takeRunNext() else { return nil }
    // A finished fiber's waiter starts a new streak, as after `.finish` in the loop.
    local.pointee.streak.countDirectSwitch(finishing: finishing)
    local.pointee.outgoing = local.pointee.current
    next.with { prepareToRun(next, $0) }
    counters.increment(.directSwitches)
    return next
  }

  /// Does what a fiber that just switched out asked for (F2, F3); true when it finished.
  @inline(__always)
  func afterSwitch(_ f: AnyFiber, _ action: PendingAction) -> Bool {
    if let s = f.stack, !s.canaryIntact { Context.reportCanary(s) }
    switch action {
    case .park:
      // F2: publish `parked` only now that the switch out is complete.
      if f.state.compareExchangeFull(FiberState.running, FiberState.parked) {
        counters.increment(.parks)
      } else {
        // F3: a wake came while it was parking; it stays runnable (neither a park nor a wake
        // for the metrics: the waker did not enqueue it).
        f.state.storeRelease(FiberState.runnable)
        requeueLocal(FiberRef(f))
      }
      return false
    case .yield:
      // No wake can be pending here: every wake pairs with a registered wait, and a fiber
      // parks right after registering (WaitRecord R1); a `schedule` of a running fiber is
      // kept in its signal word, not as a token. A plain store would lose one (issue 8).
      assert(f.state.loadRelaxed() == FiberState.running, "BUG IN Weft: fiber \(f.id) yielded with a wake pending")
      f.state.storeRelease(FiberState.runnable)
      requeueYielded(FiberRef(f))
      return false
    case .finish:
      // A chain of completions (child wakes parent, parent finishes, …) always ends; only
      // fibers that hand off and park can ping-pong forever, so only they count (RunNextStreak).
      local.pointee.streak.reset()
      counters.increment(.finished)
      Context.destroyTSanFiber(f)
      if let s = f.stack {
        stacks.give(s, cache: &local.pointee.stackCache)
        counters.store(.cachedStacks, local.pointee.stackCache.count)
      }
      f.stack = nil
      f.context = nil
      return true
    case .none:
      fatalError("BUG IN Weft: fiber \(f.id) switched out without saying why")
    }
  }

  func start(_ f: AnyFiber) {
    let stack = stacks.take(size: f.stackSize > 0 ? f.stackSize : nil, cache: &local.pointee.stackCache)
    counters.store(.cachedStacks, local.pointee.stackCache.count)
    f.stack = stack
    Context.make(f, stack: stack)
    f.setFlag(FiberFlags.started)  // F6: this worker owns `f` (F1)
    counters.increment(.started)
  }

  /// Started minus finished fibers of this worker (a fiber may finish on another worker than
  /// it started on); only the sum over all workers, taken after they stopped, is the number
  /// of fibers abandoned (Scheduler L1). Inline runs count in neither: the child neither
  /// starts nor finishes a stack of its own.
  var fibersStartedMinusFinished: Int { counters.load(.started) &- counters.load(.finished) }

  /// A fiber woken while parking: back into this worker's queues.
  func requeueLocal(_ f: FiberRef) {
    let home = f.with { $0.sticky ? $0.placement.pointee.homeRaw : nil }
    if let home {
      Unmanaged<Worker>.fromOpaque(home)._withUnsafeGuaranteedRef { $0.inbox.push(f) }
    } else {
      ownDeque.push(f)
      notifyWork()
    }
  }

  /// `yield()`: behind everything runnable here; handed to idle workers when there are any.
  /// A sticky fiber yields on its home worker, so it can wait in the local yielded queues
  /// too (in the inbox it would run before injected work); a migratable one waits there where
  /// workers that go idle later can steal it (YieldedQueues Y1).
  func requeueYielded(_ f: FiberRef) {
    let sticky = f.with { $0.sticky }
    if !sticky && poolHasIdleWorkers {
      injector.push(f)
      notifyWork()
    } else {
      local.pointee.yielded.append(f, sticky: sticky)
    }
  }
}

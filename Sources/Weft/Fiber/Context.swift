import CWeft

/// The switch protocol (Docs/Architecture.md, "Switch protocol").
///
/// A worker runs fibers from its scheduler loop on the thread's own stack. Every switch goes
/// fiber → loop or loop → fiber, never fiber → fiber, so that the loop's side of a switch
/// (after `jump_fcontext` returns there) is the one place where a fiber is known to have
/// finished switching out: only there is it published as parked, re-queued or freed.
///
/// - S1: the side that receives control stores the context it came from: the loop stores
///   the fiber's, the fiber stores its current worker's loop context.
/// - S2: Swift's exclusivity access set is saved into the fiber's two words just before it
///   switches out and restored just after it switches in, so a fiber that suspends inside
///   a `modify` access and resumes on another thread carries its accesses with it.
/// - S3: under ThreadSanitizer, the annotation and the jump happen in one uninstrumented C
///   function (`weft_switch`).
enum Context {
  /// Jumps from the worker loop into `fiber`; returns, when a fiber switches back, the
  /// context to store (S1) in whichever fiber switched out — `fiber`, or one it ran inline
  /// (Completion I1): the worker's `current` says which.
  @inline(__always)
  static func switchIn(_ fiber: AnyFiber) -> UnsafeMutableRawPointer? {
    weft_switch(fiber.context, nil, fiber.tsanFiber).fctx
  }

  /// Jumps from the running fiber back to its worker's loop; returns when the fiber has been
  /// switched in again, possibly by another worker.
  @inline(__always)
  static func switchOut(_ fiber: AnyFiber, from worker: Worker) {
    if exclusivityHooksEnabled { swift_task_exitThreadLocalContext(fiber.exclusivityState) }  // S2
    let t = weft_switch(worker.loopContext, nil, worker.tsanFiber)
    resumed(fiber, loopContext: t.fctx)
  }

  @inline(__always)
  static func resumed(_ fiber: AnyFiber, loopContext: UnsafeMutableRawPointer?) {
    // SAFETY: a fiber only ever runs on a worker thread, whose slot holds its Worker.
    let worker = Worker.currentUnchecked
    worker.loopContext = loopContext  // S1
    if exclusivityHooksEnabled { swift_task_enterThreadLocalContext(fiber.exclusivityState) }  // S2
  }

  /// Prepares a fresh fiber's first context on `stack`.
  static func make(_ fiber: AnyFiber, stack: FiberStack) {
    fiber.context = weft_make_context(stack.top, stack.usable, fiberEntry)
    if weft_tsan_enabled() { fiber.tsanFiber = weft_tsan_create_fiber() }
  }

  static func destroyTSanFiber(_ fiber: AnyFiber) {
    if let t = fiber.tsanFiber { weft_tsan_destroy_fiber(t); fiber.tsanFiber = nil }
  }

  static func currentTSanFiber() -> UnsafeMutableRawPointer? { weft_tsan_current_fiber() }

  /// Tells the overflow handler which stack this thread now runs on.
  @inline(__always)
  static func setCurrentStack(_ stack: FiberStack?) { weft_set_tls_stack(stack.map { UnsafePointer($0.info) }) }

  static func prepareThread() { weft_thread_init_altstack() }
  static let installOverflowHandler: Void = { weft_install_overflow_handler() }()
  static func reportCanary(_ stack: FiberStack) -> Never { weft_report_canary_overflow(UInt(stack.usable)) }

  /// Test-only switch for showing that S2 is needed (see `+Testing.swift`).
  nonisolated(unsafe) static var exclusivityHooksEnabled = true
}

/// First code a fiber runs, on its own stack. It never returns: the last switch leaves the
/// stack for good. Only trivial values live in this frame, so that no reference count is left
/// unbalanced by the jump that never comes back (all objects are touched in `fiberMain`).
private let fiberEntry: @convention(c) (weft_transfer_t) -> Void = { transfer in
  let exit = fiberMain(loopContext: transfer.fctx)
  _ = weft_switch(exit.context, nil, exit.tsanFiber)
  fatalError("BUG IN Weft: a finished fiber was switched in again")
}

private struct FinalSwitch {
  var context: UnsafeMutableRawPointer?
  var tsanFiber: UnsafeMutableRawPointer?
}

@inline(never)
private func fiberMain(loopContext: UnsafeMutableRawPointer?) -> FinalSwitch {
  let worker = Worker.currentUnchecked
  // A counted reference, kept explicitly until the last use below. The worker's `current`
  // holds the fiber only while it is the one running: when it runs a child inline (Completion
  // I1) `current` becomes the child, and if the child parks, the loop that takes it over may
  // be another worker's, whose `current` never held this fiber. Until the child's body returns
  // into this fiber (runInlineIfPossible then makes it `current` again) nothing else need keep
  // it alive — its `Fiber` handle may be gone — so this frame does, explicitly: an implicit
  // copy happened to do it, and the optimiser may end such a copy at its last visible use.
  let fiber = worker.current.unsafelyUnwrapped
  return withExtendedLifetime(fiber) { () -> FinalSwitch in
    Context.resumed(fiber, loopContext: loopContext)
    fiber.runBody()
    // The body is done and waiters are woken; the loop frees the stack after this switch.
    let last = Worker.currentUnchecked
    last.pending = .finish
    if Context.exclusivityHooksEnabled { swift_task_exitThreadLocalContext(fiber.exclusivityState) }
    return FinalSwitch(context: last.loopContext, tsanFiber: last.tsanFiber)
  }
}

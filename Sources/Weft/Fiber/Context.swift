import CWeft

/// The switch protocol (Docs/Architecture.md, "Switch protocol").
///
/// A worker runs fibers from its scheduler loop on the thread's own stack. A switch goes
/// fiber → loop, loop → fiber, or (S4) fiber → fiber; in every case the fiber that switched
/// out is published as parked, re-queued or freed only once its switch has completed — on
/// the loop's side of the switch, or in a hook on the incoming fiber's stack.
///
/// - S1: the side that receives control stores the context it came from: the loop stores
///   the fiber's, the fiber stores its current worker's loop context.
/// - S2: Swift's exclusivity access set is saved into the fiber's two words just before it
///   switches out and restored just after it switches in, so a fiber that suspends inside
///   a `modify` access and resumes on another thread carries its accesses with it.
/// - S2a: the thread's own access set is empty whenever a fiber switches in: the loop switches
///   with no dynamic access live, and a fiber switching out (directly to another, S4, or to
///   the loop) has just moved its accesses out. The runtime's enter is a no-op for a fiber
///   whose saved set is empty (its first word zero) on such a thread, so that call is skipped
///   (~35 instructions per switch-in, two per hand-off round trip); debug builds check S2a
///   with a probe instead.
/// - S3: under ThreadSanitizer, the annotation and the jump happen in one uninstrumented C
///   function (`weft_switch`, `weft_switch_ontop`).
/// - S4 (direct switch, Worker+Switch.swift D1, D2): a fiber that switches out while its
///   worker's run-next slot holds the fiber it would run next jumps straight into that fiber
///   with `ontop_fcontext`; `directSwitchHook` runs first on the incoming fiber's stack and
///   completes the outgoing fiber's switch there (S1, F2), then hands the incoming fiber the
///   worker's loop context, as a switch from the loop would have.
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
    let t: weft_transfer_t
    if let next = worker.takeDirectSwitchTarget(finishing: false) {
      t = next.with { weft_switch_ontop($0.context, nil, $0.tsanFiber, directSwitchHook) }  // S4
    } else {
      t = weft_switch(worker.loopContext, nil, worker.tsanFiber)
    }
    resumed(fiber, loopContext: t.fctx)
  }

  @inline(__always)
  static func resumed(_ fiber: AnyFiber, loopContext: UnsafeMutableRawPointer?) {
    // A fiber only ever runs on a worker thread, whose slot holds its Worker.
    Worker.withCurrent { $0.loopContext = loopContext }  // S1
    if exclusivityHooksEnabled { enterExclusivityContext(fiber) }  // S2
  }

  /// S2, S2a.
  @inline(__always)
  private static func enterExclusivityContext(_ fiber: AnyFiber) {
    assert(threadAccessSetIsEmpty(), "BUG IN Weft: a fiber switched in with a dynamic access live on its thread (S2a)")
    if fiber.word(FiberCore.Word.exclusivity).loadRelaxed() == 0 { return }  // S2a: nothing saved
    swift_task_enterThreadLocalContext(fiber.exclusivityState)
  }

  /// S2a's probe (debug builds): entering an empty saved set records the thread's access set
  /// head in the set's first word and changes nothing else, so a zero there means the thread
  /// had none.
  static func threadAccessSetIsEmpty() -> Bool {
    var probe: (UInt, UInt) = (0, 0)
    return withUnsafeMutableBytes(of: &probe) { raw -> Bool in
      swift_task_enterThreadLocalContext(raw.baseAddress.unsafelyUnwrapped.assumingMemoryBound(to: CChar.self))
      return raw.load(as: UInt.self) == 0
    }
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
  static func setCurrentStack(_ stack: FiberStack?) { weft_set_tls_stack_inline(stack.map { UnsafePointer($0.info) }) }

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
  if exit.direct {
    _ = weft_switch_ontop(exit.context, nil, exit.tsanFiber, directSwitchHook)  // S4
  } else {
    _ = weft_switch(exit.context, nil, exit.tsanFiber)
  }
  fatalError("BUG IN Weft: a finished fiber was switched in again")
}

/// S4: runs on the incoming fiber's stack, right after the direct switch saved the outgoing
/// fiber's context (`transfer.fctx`): completes the outgoing fiber's switch as the loop
/// would, then gives the incoming fiber the loop context to store (S1).
private let directSwitchHook: @convention(c) (weft_transfer_t) -> weft_transfer_t = { transfer in
  Worker.withCurrent { worker in
    worker.completeSwitch(saved: transfer.fctx)
    return weft_transfer_t(fctx: worker.loopContext, data: nil)
  }
}

private struct FinalSwitch {
  var context: UnsafeMutableRawPointer?
  var tsanFiber: UnsafeMutableRawPointer?
  /// S4: `context` is a fiber's, switched to directly.
  var direct = false
}

@inline(never)
private func fiberMain(loopContext: UnsafeMutableRawPointer?) -> FinalSwitch {
  // Borrowed: the run reference (FiberRef O1) keeps the fiber alive until the loop has taken
  // its final switch, after this frame is gone. (When it runs a child inline, Completion I1,
  // the worker's `current` becomes the child, and a loop that takes the child over may be
  // another worker's: `current` does not keep this fiber alive, its run reference does.)
  let me = Worker.withCurrent { $0.current.unsafelyUnwrapped }
  return me.with { fiber -> FinalSwitch in
    Context.resumed(fiber, loopContext: loopContext)
    fiber.runBody()
    // The body is done and waiters are woken; the loop (or, S4, the hook on the next fiber's
    // stack) frees the stack after this switch. The worker may differ from the first one.
    return Worker.withCurrent { last -> FinalSwitch in
      last.pending = .finish
      if Context.exclusivityHooksEnabled { swift_task_exitThreadLocalContext(fiber.exclusivityState) }
      if let next = last.takeDirectSwitchTarget(finishing: true) {
        return next.with { FinalSwitch(context: $0.context, tsanFiber: $0.tsanFiber, direct: true) }
      }
      return FinalSwitch(context: last.loopContext, tsanFiber: last.tsanFiber)
    }
  }
}

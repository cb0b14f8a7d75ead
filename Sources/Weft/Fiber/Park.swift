#if canImport(Glibc)
import Glibc
#endif

// Parking and waking: the one mechanism every blocking primitive uses (FiberState F1–F4).

extension AnyFiber {
  /// Borrows the fiber running on this thread (or its thread fiber) for `body`, counting
  /// nothing on a worker: the running fiber is alive by its run reference (FiberRef O1).
  @inline(__always)
  static func withCurrentContext<R>(_ body: (AnyFiber) throws -> R) rethrows -> R {
    if let p = ThreadLocal.fiber { return try Unmanaged<AnyFiber>.fromOpaque(p)._withUnsafeGuaranteedRef(body) }
    return try body(currentContext)
  }

  /// The fiber running on this thread, or this thread's own thread fiber.
  static var currentContext: AnyFiber {
    if let p = ThreadLocal.fiber {
      // SAFETY: the slot holds a fiber kept alive by its worker (while it runs) or by the
      // thread-exit destructor (thread fibers).
      return Unmanaged<AnyFiber>.fromOpaque(p).takeUnretainedValue()
    }
    // On a worker outside any fiber: a Swift job on Weft's TaskExecutor (misuse), or a bug.
    if ThreadLocal.worker != nil { noFiberOnWorker() }  // Interop/BlockingFromAsync.swift
    return ThreadFiberSlot.create()
  }

  /// `currentContext` uncounted (FiberRef O2a), for the running fiber's own frame.
  static var currentContextRef: FiberRef {
    if let p = ThreadLocal.fiber { return FiberRef(bits: UInt(bitPattern: p)).unsafelyUnwrapped }
    return FiberRef(currentContext)  // creates the thread fiber (its slot keeps it alive)
  }

  /// True when this is the fiber (or thread fiber) running on the calling thread.
  var isCurrentContext: Bool { ThreadLocal.fiber == Unmanaged.passUnretained(self).toOpaque() }

  /// Suspends the calling context until `wake()`. Must be called by the fiber itself.
  /// Returns at once if a wake arrived since the last park (F3).
  func park() {
    if isThreadFiber { parkThread(deadline: nil, onTimeout: nil); return }
    // Full CAS: pairs with the waker's CAS running → notified (F3).
    if state.compareExchangeFull(FiberState.notified, FiberState.running) { return }
    // Borrowed, not counted: the worker is not used after the switch (the fiber may resume
    // on another one).
    Unmanaged<Worker>.fromOpaque(ThreadLocal.worker.unsafelyUnwrapped)._withUnsafeGuaranteedRef { worker in
      worker.pending = .park
      Context.switchOut(self, from: worker)
    }
  }

  /// Like `park()`, but at `deadline` (monotonic ns) `onTimeout` runs once, on some thread,
  /// unless the fiber was woken first. `onTimeout` must decide, under the lock of whatever
  /// the fiber waits on, whether the wait timed out, and then wake the fiber itself.
  func park(deadline: UInt64, onTimeout: @escaping @Sendable () -> Void) {
    if isThreadFiber { parkThread(deadline: deadline, onTimeout: onTimeout); return }
    let scheduler = Worker.currentUnchecked.scheduler
    let timer = scheduler.timers.add(deadline: deadline, action: onTimeout)
    park()
    scheduler.timers.cancel(timer)
  }

  /// Parks for the wait of `r` (registered, WaitRecord R1) until its notifier or an
  /// interrupter wakes it; with a `deadline`, a timer interrupts it then (`.timedOut`, R6).
  func parkWaiting(_ r: UnsafeMutablePointer<WaitRecord>, deadline: UInt64?) {
    setWaitingOn(r.pointee.what)
    if let d = deadline {
      let ref = RecordRef(pointer: r)
      park(deadline: d) { [self] in self.interrupt(.timedOut, only: ref.pointer) }
    } else {
      park()
    }
    setWaitingOn("")
  }

  /// Makes a parked (or parking) fiber runnable; see F3, F4.
  func wake() {
    var s = state.loadAcquire()
    while true {
      switch s {
      case FiberState.parked where isThreadFiber:
        // Until the CAS, the parked thread keeps its thread fiber alive; after it, the thread
        // may return, exit and release the fiber (ThreadFiberSlot) before the futex wake
        // below. Retained first, the fiber outlives the wake whatever the caller holds.
        let kept = Unmanaged.passRetained(self)
        defer { kept.release() }
        // Full CAS: pairs with parkThread's acquire load of `runnable`.
        let seen = state.fetchCompareExchangeFull(FiberState.parked, FiberState.runnable)
        if seen == FiberState.parked { state.futexWake(1); return }
        s = seen
      case FiberState.parked:
        // Full CAS: pairs with the loop's CAS running → parked (F2).
        let seen = state.fetchCompareExchangeFull(FiberState.parked, FiberState.runnable)
        if seen == FiberState.parked {
          Scheduler.enqueueWoken(FiberRef(self))  // FiberRef O3: `self` is not touched after this
          return
        }
        s = seen
      case FiberState.running:
        let seen = state.fetchCompareExchangeFull(FiberState.running, FiberState.notified)
        if seen == FiberState.running { return }
        s = seen
      case FiberState.inspected:
        // F5: a backtrace walker reads the stack; it gives the fiber back as `parked` soon.
        waitWhileInspected()
        s = state.loadAcquire()
      case FiberState.created:
        preconditionFailure("Weft misuse: woke fiber \(id), which was never scheduled; use schedule(_:) to start it")
      case FiberState.freed:
        preconditionFailure("BUG IN Weft: woke a fiber after it was freed (its block is poisoned, FiberCore A2)")
      default:
        preconditionFailure("Weft misuse: schedule(_:) of fiber \(id), which is \(FiberState.name(s)); "
          + "a fiber can be woken only while it waits (it was scheduled twice, or has finished)")
      }
    }
  }

  /// Thread fibers park on a futex over their state word.
  private func parkThread(deadline: UInt64?, onTimeout: (@Sendable () -> Void)?) {
    if state.compareExchangeFull(FiberState.notified, FiberState.running) { return }
    if !state.compareExchangeFull(FiberState.running, FiberState.parked) {
      // A wake arrived between the two CASes (F3).
      let ok = state.compareExchangeFull(FiberState.notified, FiberState.running)
      precondition(ok, "BUG IN Weft: thread fiber \(id) parked in state \(stateDescription)")
      return
    }
    // For the deadlock report (cold: this thread is about to sleep on a futex).
    DeadlockDetector.threadWillBlock(timed: deadline != nil)
    BlockingFromAsync.threadWillBlock()  // Interop: warns once when this thread runs a Swift task
    defer { DeadlockDetector.threadDidWake(timed: deadline != nil) }
    var timeoutHandled = false
    while true {
      // Acquire: pairs with the waker's CAS parked → runnable.
      if state.loadAcquire() == FiberState.runnable {
        state.storeRelease(FiberState.running)
        return
      }
      if let d = deadline, !timeoutHandled {
        let now = monotonicNanoseconds()
        if now >= d {
          timeoutHandled = true
          onTimeout?()
          continue
        }
        state.futexWait(expected: FiberState.parked, timeoutNanoseconds: Int64(d - now))
      } else {
        state.futexWait(expected: FiberState.parked)
      }
    }
  }
}

/// The thread fiber of each non-worker OS thread, created on first use and released when
/// the thread exits.
enum ThreadFiberSlot {
  private static let key: pthread_key_t = {
    var k = pthread_key_t()
    pthread_key_create(&k) { p in
      guard let p else { return }
      ThreadLocal.setFiber(nil)
      Unmanaged<AnyFiber>.fromOpaque(p).release()
    }
    return k
  }()

  static func create() -> AnyFiber {
    let f = AnyFiber.make(AnyFiber.self, sticky: true, stackSize: 0, pool: .default, isThreadFiber: true)
    let p = Unmanaged.passRetained(f).toOpaque()
    ThreadLocal.setFiber(p)
    pthread_setspecific(key, p)
    return f
  }
}

import CWeftIO

// The scheduler's side of the reactor: created on first use (a scheduler that does no I/O
// has no reactor, no monitor thread and no extra cost but one atomic load per idle park), and
// the two hooks the worker loop calls (Worker.run and Worker.parkIdle).
//
// | field          | written by                                  | read by              |
// |----------------|---------------------------------------------|----------------------|
// | words[0]       | `reactor()` once, under words[1] (release)  | hooks (acquire)      |

/// One scheduler's I/O state: its reactor, once any descriptor was opened.
final class SchedulerIO: @unchecked Sendable {
  // SAFETY: the reactor pointer is written once (release, under the lock) and retained for
  // the scheduler's lifetime; the lock serialises creation.
  private let words = AtomicBlock(count: 2)  // 0: Unmanaged<Reactor> or 0, 1: creation lock
  unowned(unsafe) var scheduler: Scheduler!

  init() {}

  deinit {
    let p = words[0].loadAcquire()
    if p != 0 { Unmanaged<Reactor>.fromOpaque(UnsafeRawPointer(bitPattern: p).unsafelyUnwrapped).release() }
    words.deallocate()
  }

  /// The reactor if one was started.
  @inline(__always) var started: Reactor? {
    // Acquire: pairs with the release store in `reactor()`.
    let p = words[0].loadAcquire()
    if p == 0 { return nil }
    // SAFETY: retained by this object until its deinit.
    return Unmanaged<Reactor>.fromOpaque(UnsafeRawPointer(bitPattern: p).unsafelyUnwrapped).takeUnretainedValue()
  }

  /// The reactor, started (with its monitor) on first use.
  func reactor() throws -> Reactor {
    if let r = started { return r }
    let lock = FutexLock(words[1])
    lock.lock()
    defer { lock.unlock() }
    if let r = started { return r }
    precondition(!scheduler.isShuttingDown, "Weft misuse: opened a descriptor on a scheduler that is shutting down")
    let r = Reactor(scheduler: scheduler, backend: try EpollBackend())
    r.startMonitor()
    words[0].storeRelease(UInt(bitPattern: Unmanaged.passRetained(r).toOpaque()))
    return r
  }

  // MARK: Worker hooks

  /// Worker.run, before `parkIdle`: idle workers poll without blocking (P1). True when it
  /// made fibers runnable (the loop looks for work again instead of parking).
  @inline(__always) func pollBeforeParking(worker: Int) -> Bool {
    guard let r = started else { return false }
    return r.pollNow(by: worker)
  }

  /// Worker.parkIdle, instead of `parker.park`: with fibers waiting on I/O and the poller role
  /// free, the parking worker becomes the blocking poller and sleeps in the backend's wait
  /// with the same timeout (the earliest timer's, when it holds the timer role: timers and
  /// I/O share the one wait); else it parks as before. Returns the fibers the poll made
  /// runnable; the worker wakes them once it counts as unparked again (`wake(_:)`).
  func park(_ parker: Parker, timeoutNanoseconds: Int64, worker: Int) -> [AnyFiber] {
    guard let r = started, r.hasWaiters else {
      parker.park(timeoutNanoseconds: timeoutNanoseconds)
      return []
    }
    if r.anotherWorkerPollsHot(me: worker) {
      // P5: leave the role to the worker polling hot; look again soon (a negative timeout
      // means none).
      let recheck = timeoutNanoseconds < 0 ? Reactor.hotPollRecheck : min(timeoutNanoseconds, Reactor.hotPollRecheck)
      parker.park(timeoutNanoseconds: recheck)
      return []
    }
    guard r.tryAcquire(Reactor.blocking) else {
      parker.park(timeoutNanoseconds: timeoutNanoseconds)
      return []
    }
    var ready: [AnyFiber] = []
    parker.parkPolling(timeoutNanoseconds: timeoutNanoseconds, interruptFD: r.backend.interruptDescriptor) { t in
      r.poll(timeoutNanoseconds: t, into: &ready)
    }
    r.releaseRole(by: worker)
    return ready
  }

  /// Wakes what `park` returned.
  @inline(__always) func wake(_ ready: [AnyFiber]) {
    for f in ready { f.wake() }
  }

  /// Scheduler.shutdown, after the workers stopped.
  func shutdown() { started?.shutdown() }
}

/// Parker P3: interrupts a worker polling in the reactor.
@inline(__always) func reactorSignal(_ fd: Int32) { weft_eventfd_signal(fd) }

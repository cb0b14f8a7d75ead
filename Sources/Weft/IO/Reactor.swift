#if canImport(Glibc)
import Glibc
#endif

// The reactor of one scheduler (DESIGN.md layer 10, Docs/Reactor.md): Go's netpoll shape on
// Weft's idle protocol. One backend (epoll) watches every descriptor Weft opened,
// edge-triggered, registered once. Nobody "runs" the reactor: workers poll it.
//
// - P1 (the poller role): `role` is FREE, POLLING (a non-blocking poll by an idle worker or
//   the monitor) or BLOCKING (the worker that parks in the backend's wait). One thread holds
//   it at a time (CAS FREE → x, store FREE after), so events are handled by one poller and
//   no fiber runs on a worker while it holds the role.
// - P2 (no lost wake of the blocked poller): the BLOCKING worker parks through
//   `Parker.parkPolling`; an `unpark` (new work, a timer that became earliest, shutdown)
//   that finds the parker POLLING signals the backend's eventfd, so the wait returns.
// - P3 (slot lifetime, IODescriptor D3): every registered descriptor is retained by its
//   token; a finally-closed descriptor is deregistered first, then retired; retired
//   descriptors are released by the next poll, at its start, under the role: any poll that
//   could have returned their token began before the deregistration and has ended (P1).
// - P4 (the monitor): a thread that, every 10 ms, if fibers wait on the reactor and no
//   poll has run for 10 ms (every worker is computing), polls without blocking and fires due
//   timers, so a read completes and a sleep ends although no worker is idle.
// - P5 (one hot poller): a worker that runs out of fibers polls before it searches
//   (Worker.readyIO), so fibers handing off through sockets stay on it. An idle worker must
//   not take the BLOCKING role from under such a worker (the hot one could not poll any more,
//   and every event became a kernel wake of the blocked one and a context switch): while
//   another worker polled within `hotPollWindow`, a parking worker sleeps on its futex for
//   at most `hotPollRecheck` and looks again, instead of blocking in the backend. A fiber
//   that starts to wait kicks a parked worker to poll only when its own worker has other
//   fibers queued (else that worker polls next itself).
//
// | field             | written by                                | read by                |
// |-------------------|-------------------------------------------|------------------------|
// | role              | pollers (CAS / release store, P1)         | pollers, monitor       |
// | waiters           | waiting fibers (fetch-add/sub, full)      | idle workers, monitor  |
// | lastPoll          | pollers (relaxed store)                   | monitor (relaxed)      |
// | registered        | register (full add), releaseRetired (sub) | poll (acquire), tests  |
// | stop              | shutdown (release store + futex wake)     | monitor                |
// | retired, buffers  | under `lock` / the role holder            | the same               |

final class Reactor: @unchecked Sendable {
  // SAFETY: `retired` is guarded by `lock`; `masks`/`tokens` are used only by the holder of
  // the poller role (P1); the rest is atomic or immutable after init.
  let backend: any ReactorBackend
  unowned(unsafe) let scheduler: Scheduler
  private let words = AtomicBlock(count: 7)  // 0 role, 1 waiters, 2 lastPoll, 3 stop, 4 lock, 5 registered, 6 lastPoller
  private var role: AtomicWord { words[0] }
  private var waiters: AtomicWord { words[1] }
  private var lastPoll: AtomicWord { words[2] }
  private var stop: AtomicWord { words[3] }
  private var lock: FutexLock { FutexLock(words[4]) }
  private var registered: AtomicWord { words[5] }
  /// P5: who released the role last: a worker's index + 1, or 0 (the monitor, a thread).
  private var lastPoller: AtomicWord { words[6] }
  private var retired: [Unmanaged<IODescriptor>] = []
  static let capacity = 256
  private let masks = UnsafeMutablePointer<UInt32>.allocate(capacity: Reactor.capacity)
  private let tokens = UnsafeMutablePointer<UInt64>.allocate(capacity: Reactor.capacity)
  private var monitorThread: pthread_t? = nil

  static let free: UInt = 0, polling: UInt = 1, blocking: UInt = 2
  /// P4: how long nobody may have polled before the monitor does.
  static let monitorInterval: UInt64 = 10_000_000
  /// P5: a worker that polled this recently is polling hot; one that parks meanwhile looks
  /// again after `hotPollRecheck` (well under io_wake_latency's 1 ms).
  static let hotPollWindow: UInt64 = 50_000
  static let hotPollRecheck: Int64 = 250_000

  init(scheduler: Scheduler, backend: any ReactorBackend) {
    self.scheduler = scheduler
    self.backend = backend
    lastPoll.storeRelaxed(UInt(monotonicNanoseconds()))
  }

  deinit {
    for d in retired { d.release() }
    masks.deallocate()
    tokens.deallocate()
    words.deallocate()
  }

  // MARK: Descriptors

  func register(_ d: IODescriptor) -> Int32 {
    let token = Unmanaged.passRetained(d)  // P3: released after retirement
    // Full (a release): publishes the descriptor's fields to the poller that will get its
    // token from the kernel; pairs with the acquire load in `poll` (the kernel orders the two
    // anyway, through epoll_ctl and epoll_wait, but ThreadSanitizer cannot see that).
    registered.fetchAddFull(1)
    let rc = backend.register(fd: d.fd, token: UInt64(UInt(bitPattern: token.toOpaque())))
    if rc != 0 {
      registered.fetchSubFull(1)
      token.release()
    }
    return rc
  }

  func deregister(_ d: IODescriptor) {
    if stop.loadAcquire() == 0 { backend.deregister(fd: d.fd) }
  }

  /// P3: after `deregister` and the close of the number.
  func retire(_ d: IODescriptor) {
    let u = Unmanaged.passUnretained(d)  // the token's reference, released by a later poll
    lock.withLock { retired.append(u) }
  }

  /// Descriptors registered and not yet released (for leak tests).
  var liveDescriptors: Int { Int(registered.loadRelaxed()) }

  // MARK: Waiters

  @inline(__always) func waiterArrived() {
    // Full: pairs with the idle worker's load in `hasWaiters` (a parking worker that misses
    // this increment re-checks after its own fence, W1 style; the kick below covers the rest).
    waiters.fetchAddFull(1)
    // A fiber now waits on I/O: make sure somebody will poll. With a BLOCKING poller in
    // place this is one load. A worker with nothing else queued polls next itself (P5);
    // else wake a parked worker (if any, and none searches) so that it parks again as the
    // poller. Its cost is the wake of Timers T2.
    if role.loadAcquire() != Reactor.blocking && !callerPollsNext() { scheduler.wakeParkedWorkerForTimers() }
  }

  /// P5: the calling thread is a worker of this scheduler with no other fiber queued, so once
  /// the calling fiber parks its loop polls before anything else (Worker.readyIO).
  @inline(__always) private func callerPollsNext() -> Bool {
    guard let w = ThreadLocal.worker else { return false }
    return Unmanaged<Worker>.fromOpaque(w)._withUnsafeGuaranteedRef { worker in
      worker.schedulerRaw == Unmanaged.passUnretained(scheduler).toOpaque() && worker.hasNothingQueued
    }
  }

  /// P5: whether a worker other than `me` (an index) polled within `hotPollWindow` of `now`.
  func anotherWorkerPollsHot(me: Int, now: UInt64 = monotonicNanoseconds()) -> Bool {
    let by = lastPoller.loadRelaxed()
    guard by != 0, by != UInt(me + 1) else { return false }
    return now &- UInt64(lastPoll.loadRelaxed()) < Reactor.hotPollWindow
  }

  /// When the role was last released (monotonic ns; P4, P5).
  var lastPollTime: UInt64 { UInt64(lastPoll.loadRelaxed()) }

  @inline(__always) func waiterLeft() { waiters.fetchSubFull(1) }

  var hasWaiters: Bool { waiters.loadAcquire() != 0 }

  // MARK: Polling (P1)

  /// Takes the role as `kind`; false when another thread holds it.
  @inline(__always) func tryAcquire(_ kind: UInt) -> Bool {
    // Acquire CAS: pairs with `releaseRole`'s release store (the buffers and `retired`
    // handled by the previous holder).
    role.compareExchangeAcquire(Reactor.free, kind)
  }

  /// - Parameter worker: the releasing worker's index, or nil (the monitor).
  func releaseRole(by worker: Int?) {
    lastPoll.storeRelaxed(UInt(monotonicNanoseconds()))  // P4, P5: only heuristics
    lastPoller.storeRelaxed(worker.map { UInt($0 + 1) } ?? 0)
    role.storeRelease(Reactor.free)  // pairs with the next tryAcquire
  }

  /// Role held. Waits up to `timeoutNanoseconds` for events and appends the fibers they make
  /// runnable to `ready` (the caller wakes them, after giving up the role).
  func poll(timeoutNanoseconds: Int64, into ready: inout [AnyFiber]) {
    releaseRetired()
    let n = backend.wait(masks: masks, tokens: tokens, capacity: Reactor.capacity, timeoutNanoseconds: timeoutNanoseconds)
    // Acquire: pairs with `register`'s full add (the tokens' descriptors are initialised).
    if n > 0 { _ = registered.loadAcquire() }
    for i in 0..<n {
      let mask = Readiness(rawValue: masks[i])
      // SAFETY: P3: the token's reference keeps the descriptor alive during this poll.
      let d = Unmanaged<IODescriptor>.fromOpaque(UnsafeRawPointer(bitPattern: UInt(tokens[i])).unsafelyUnwrapped)
        .takeUnretainedValue()
      if !mask.isDisjoint(with: .wakesReader), let f = d.notify(.read) { ready.append(f) }
      if !mask.isDisjoint(with: .wakesWriter), let f = d.notify(.write) { ready.append(f) }
    }
  }

  private func releaseRetired() {
    let done: [Unmanaged<IODescriptor>] = lock.withLock {
      if retired.isEmpty { return [] }
      let r = retired
      retired.removeAll(keepingCapacity: true)
      return r
    }
    for d in done { d.release() }
    if !done.isEmpty { registered.fetchSubFull(UInt(done.count)) }
  }

  /// A non-blocking poll, if nobody polls now and fibers wait; wakes what it found. Returns
  /// whether it woke any fiber.
  /// - Parameter worker: the polling worker's index, or nil (the monitor).
  func pollNow(by worker: Int?) -> Bool {
    guard hasWaiters, tryAcquire(Reactor.polling) else { return false }
    var ready: [AnyFiber] = []
    poll(timeoutNanoseconds: 0, into: &ready)
    releaseRole(by: worker)
    for f in ready { f.wake() }
    return !ready.isEmpty
  }

  // MARK: The monitor (P4)

  func startMonitor() {
    var t = pthread_t()
    let box = Unmanaged.passRetained(self).toOpaque()
    let rc = pthread_create(&t, nil, { arg in
      let r = Unmanaged<Reactor>.fromOpaque(arg!).takeRetainedValue()
      r.monitorLoop()
      return nil
    }, box)
    if rc == 0 { monitorThread = t } else { Unmanaged<Reactor>.fromOpaque(box).release() }
  }

  private func monitorLoop() {
    while stop.loadAcquire() == 0 {
      // Not a synchronisation sleep: the monitor's period (P4). Shutdown wakes it early.
      stop.futexWait(expected: 0, timeoutNanoseconds: Int64(Reactor.monitorInterval))
      if stop.loadAcquire() != 0 { break }
      let idleFor = monotonicNanoseconds() &- UInt64(lastPoll.loadRelaxed())
      if idleFor >= Reactor.monitorInterval { _ = pollNow(by: nil) }
      scheduler.timers.fireDue()
    }
  }

  /// Stops the monitor and closes the backend (Scheduler.shutdown, after the workers stopped).
  func shutdown() {
    stop.storeRelease(1)
    stop.futexWake(Int32.max)
    if let t = monitorThread { pthread_join(t, nil) }
    monitorThread = nil
    releaseRetired()  // no poller runs any more (workers joined, monitor stopped): P3 holds
    backend.close()
  }
}

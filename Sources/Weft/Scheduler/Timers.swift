/// The scheduler's deadline heap: `sleep`, timeouts and timed waits (DESIGN.md, layer 5).
///
/// A binary min-heap of `TimerEntry` under `lock`, ordered by (deadline, sequence).
/// - T1: `nextDeadline` (atomic) is the earliest deadline in the heap, or `UInt.max`; workers
///   read it without the lock at every switch (`fireDue`) and read the clock, and take the
///   lock, only when a timer is pending (resp. due). So a due timer fires at the next switch
///   on any worker: while fibers yield, it is late by about one slice at most.
/// - T2: at most one parked worker sleeps with a timeout ("the timer sleeper"); adding an
///   earlier deadline unparks it, or, with no timer sleeper, wakes a parked worker that will
///   become one. A sleeper woken for any reason (its inbox, work, its timeout) gives the
///   role up and, if timers are still pending once it fired the due ones, wakes a parked
///   worker to take it (`handOffSleeperRole`). So a due timer fires while any worker is
///   idle, even while the others are busy forever.
/// - T3: an entry's action runs at most once, outside the lock, and never after `cancel`
///   returned for it: `fireDue` marks the entries it takes `firing` under the lock, and
///   `cancel` of a firing entry waits until its action has returned (the action itself must
///   still tolerate racing with a wake: see `AnyFiber.park(deadline:onTimeout:)`). Without
///   the wait, a timeout taken by one worker just before a wake could run after the woken
///   fiber had started its next timed wait, and time that one out early.
final class Timers: @unchecked Sendable {
  // SAFETY: `heap`, `sequence`, `sleeper`, `lateness` are guarded by `lock`; `nextDeadline`
  // is atomic.
  // Every worker loads nextDeadline at every switch: its line holds nothing that is written
  // often (the lock is written at every timer operation).
  private let words = PaddedAtomicBlock(count: 2)  // 0: lock, 1: nextDeadline
  private var lock: FutexLock { FutexLock(words[0]) }
  private var nextDeadlineWord: AtomicWord { words[1] }
  private var heap: [TimerEntry] = []
  private var sequence: UInt64 = 0
  private var sleeper: Worker?
  /// Fired timers and how late they fired (ns after their deadline), for `Scheduler.metrics`:
  /// updated by `fireDue` under the lock it already holds, so it costs nothing when no timer
  /// fires.
  private var lateness = Lateness()
  struct Lateness { var fired = 0; var totalNanoseconds: UInt64 = 0; var maxNanoseconds: UInt64 = 0 }
  unowned(unsafe) var scheduler: Scheduler!

  init() { nextDeadlineWord.storeRelaxed(UInt.max) }
  deinit { words.deallocate() }

  var nextDeadline: UInt64 { UInt64(nextDeadlineWord.loadAcquire()) }
  /// T1's word itself, for workers to check without touching this object (`Worker.findLocalWork`).
  var nextDeadlineAtomic: AtomicWord { nextDeadlineWord }
  var count: Int { lock.withLock { heap.count } }
  /// Pending timers and the lateness figures, read together under the lock.
  var statistics: (pending: Int, lateness: Lateness) { lock.withLock { (heap.count, lateness) } }

  @discardableResult
  func add(deadline: UInt64, action: @escaping @Sendable () -> Void) -> TimerEntry {
    lock.lock()
    sequence &+= 1
    let e = TimerEntry(deadline: deadline, sequence: sequence, action: action)
    e.index = heap.count
    heap.append(e)
    siftUp(e.index)
    let earliest = heap[0] === e
    let s = sleeper
    if earliest { nextDeadlineWord.storeRelease(UInt(deadline)) }
    lock.unlock()
    if earliest {
      fenceFull()  // T2 pairs with claimSleeper in the parking worker (W1 style)
      if let s { s.parker.unpark() } else { scheduler.wakeParkedWorkerForTimers() }
    }
    return e
  }

  /// T3: after this returns the action will not start and is not running (it may have run).
  func cancel(_ e: TimerEntry) {
    lock.lock()
    if e.index >= 0 { removeAt(e.index) }
    var firing = e.firing
    lock.unlock()
    // Another worker took the entry and is running its action (short: it locks a wait list
    // and wakes a fiber). The caller holds no lock the action could need.
    while firing {
      cpuRelax()
      firing = lock.withLock { e.firing }
    }
  }

  /// Runs the actions of every entry due now. Returns how many ran. With no timer pending it
  /// costs one atomic load (T1) and reads no clock; workers do the same load at every switch
  /// on their own copy of the word (`Worker.findLocalWork`) and then call `fireDue(next:)`.
  @discardableResult @inline(__always)
  func fireDue() -> Int {
    // Acquire: pairs with the release stores of `nextDeadline` in `add` and `removeAt`.
    let next = UInt64(nextDeadlineWord.loadAcquire())  // T1
    if next == UInt64(UInt.max) { return 0 }
    return fireDue(next: next)
  }

  /// `fireDue` once a timer is pending: `next` is the earliest deadline seen (T1).
  @discardableResult @inline(never)
  func fireDue(next: UInt64) -> Int {
    let now = monotonicNanoseconds()
    if next > now { return 0 }
    var due: [TimerEntry] = []
    lock.lock()
    while let first = heap.first, first.deadline <= now {
      first.firing = true  // T3
      let late = now - first.deadline
      lateness.fired += 1
      lateness.totalNanoseconds &+= late
      if late > lateness.maxNanoseconds { lateness.maxNanoseconds = late }
      due.append(first)
      removeAt(0)
    }
    lock.unlock()
    for e in due {
      e.action()
      lock.withLock { e.firing = false }  // T3: a waiting `cancel` may return now
    }
    return due.count
  }

  /// T2: called by a worker about to park; returns how long it may sleep (ns; -1: forever).
  func claimSleeper(_ w: Worker) -> Int64 {
    lock.lock()
    defer { lock.unlock() }
    guard let first = heap.first else { return -1 }
    if sleeper == nil { sleeper = w }
    guard sleeper === w else { return -1 }
    let now = monotonicNanoseconds()
    return first.deadline > now ? Int64(first.deadline - now) : 0
  }

  /// T2: a worker that was woken gives the timer role up; true if it held it.
  func releaseSleeper(_ w: Worker) -> Bool {
    lock.lock()
    defer { lock.unlock() }
    guard sleeper === w else { return false }
    sleeper = nil
    return true
  }

  /// T2: called by a worker that left the timer role once it has fired what was due. With
  /// timers still pending, it may now run a fiber that never yields while the other workers
  /// sleep without a timeout, so it wakes a parked worker that claims the role when it parks
  /// again (`Scheduler.wakeParkedWorkerForTimers`: one worker, and none while one searches —
  /// a searcher parks or, finding work, wakes the next, W2). No timer pending: nothing to do.
  func handOffSleeperRole() {
    lock.lock()
    let orphaned = !heap.isEmpty && sleeper == nil
    lock.unlock()
    if orphaned { scheduler.wakeParkedWorkerForTimers() }
  }

  /// For `Timers+Testing.swift`.
  func withLockForTesting<R>(_ body: () -> R) -> R { lock.withLock(body) }
  var sleeperForTesting: Worker? { sleeper }

  // MARK: Heap

  private func less(_ a: TimerEntry, _ b: TimerEntry) -> Bool {
    a.deadline != b.deadline ? a.deadline < b.deadline : a.sequence < b.sequence
  }

  private func swapAt(_ i: Int, _ j: Int) {
    heap.swapAt(i, j)
    heap[i].index = i
    heap[j].index = j
  }

  private func siftUp(_ start: Int) {
    var i = start
    while i > 0 {
      let parent = (i - 1) / 2
      if !less(heap[i], heap[parent]) { break }
      swapAt(i, parent)
      i = parent
    }
  }

  private func siftDown(_ start: Int) {
    var i = start
    while true {
      let l = 2 * i + 1, r = l + 1
      var m = i
      if l < heap.count && less(heap[l], heap[m]) { m = l }
      if r < heap.count && less(heap[r], heap[m]) { m = r }
      if m == i { return }
      swapAt(i, m)
      i = m
    }
  }

  private func removeAt(_ i: Int) {
    let removed = heap[i]
    let last = heap.count - 1
    if i != last { swapAt(i, last) }
    heap.removeLast()
    removed.index = -1
    if i < heap.count { siftDown(i); siftUp(i) }
    nextDeadlineWord.storeRelease(heap.first.map { UInt($0.deadline) } ?? UInt.max)
  }
}

/// One pending timer.
final class TimerEntry: @unchecked Sendable {
  // SAFETY: all fields but the immutable ones are guarded by the owning `Timers.lock`.
  let deadline: UInt64
  let sequence: UInt64
  let action: @Sendable () -> Void
  var index = -1
  /// True from when `fireDue` takes the entry until its action has returned (T3).
  var firing = false
  init(deadline: UInt64, sequence: UInt64, action: @escaping @Sendable () -> Void) {
    self.deadline = deadline
    self.sequence = sequence
    self.action = action
  }
}

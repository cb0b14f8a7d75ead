/// A pool's injector: the FIFO for fibers made runnable from outside its workers
/// (non-worker threads, other pools, timers fired there) and for yields while workers idle.
///
/// A lock-protected ring, as Tokio's inject queue and Go's global run queue are: it is off the
/// hot path (workers look at it when their own queues are empty, and every 61st tick).
/// - J1: `count` equals the ring's length whenever the lock is free; it is read without the
///   lock (acquire) only to skip taking the lock when empty.
final class Injector: @unchecked Sendable {
  // SAFETY: `ring` is guarded by `lock`; `count` is atomic (J1).
  private let words = AtomicBlock(cacheAlignedCount: 2)  // 0: lock, 1: count
  private var lock: FutexLock { FutexLock(words[0]) }
  private var countWord: AtomicWord { words[1] }
  private let ring = LocalQueue.boxed()

  deinit {
    while let f = ring.pointee.popFirst() { f.dropRunReference() }  // abandoned at shutdown (FiberRef O1)
    LocalQueue.freeBoxed(ring)
    words.deallocate()
  }

  func push(_ fiber: FiberRef) {
    lock.lock()
    ring.pointee.append(fiber)
    countWord.storeRelease(UInt(ring.pointee.count))
    lock.unlock()
  }

  func pop() -> FiberRef? {
    if countWord.loadAcquire() == 0 { return nil }
    lock.lock()
    let f = ring.pointee.popFirst()
    countWord.storeRelease(UInt(ring.pointee.count))
    lock.unlock()
    return f
  }

  var isEmpty: Bool { countWord.loadAcquire() == 0 }
  var approximateCount: Int { Int(countWord.loadAcquire()) }
}

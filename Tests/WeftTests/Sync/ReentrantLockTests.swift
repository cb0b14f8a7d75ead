import Foundation
import Testing
@testable import Weft

@Suite struct SyncReentrantLockTests {
  @Test func lockUnlockTryLockIsLocked() throws {
    try withWatchdog {
      let l = ReentrantLock()
      #expect(!l.isLocked)
      #expect(l.ownerID == nil)
      // islocked false ⇒ an immediate trylock succeeds (Julia's documented property).
      #expect(l.tryLock())
      #expect(l.isLocked)
      #expect(l.isHeldByCurrentFiber)
      #expect(l.ownerID == Fiber.current.id)
      l.unlock()
      #expect(!l.isLocked)
      l.lock()
      // Another fiber cannot take it, not even with tryLock.
      let other = try spawn { l.tryLock() }.fetch()
      #expect(!other)
      #expect(try spawn { l.isHeldByCurrentFiber }.fetch() == false)
      l.unlock()
      #expect(try spawn { () -> Bool in let ok = l.tryLock(); if ok { l.unlock() }; return ok }.fetch())
    }
  }

  @Test func recursionCounts() {
    withWatchdog {
      let l = ReentrantLock()
      l.lock()
      l.lock()
      #expect(l.tryLock())
      #expect(l.recursionCount == 3)
      l.unlock()
      #expect(l.recursionCount == 2)
      #expect(l.isLocked)
      l.unlock()
      l.unlock()
      #expect(!l.isLocked)
      #expect(l.recursionCount == 0)
    }
  }

  @Test func withLockReleasesOnThrow() throws {
    struct Boom: Error {}
    let l = ReentrantLock()
    #expect(throws: Boom.self) { try l.withLock { throw Boom() } }
    #expect(!l.isLocked)
    // Julia's `@lock l expr`.
    let v = l.withLock { 41 + 1 }
    #expect(v == 42)
  }

  /// 10,000 increments of an unsynchronised counter by fibers on two workers.
  @Test(arguments: [(fibers: 4, each: 2_500), (fibers: 100, each: 100), (fibers: 16, each: 5_000)])
  func lockedIncrementsAcrossWorkers(fibers: Int, each: Int) throws {
    let each = syncScaled(each)
    let total = try onScheduler(threads: 2) { () -> Int in
      let l = ReentrantLock()
      let box = UnsafeBox(0)
      let fs = (0..<fibers).map { _ in
        spawn { for _ in 0..<each { l.lock(); box.value += 1; l.unlock() } }
      }
      for f in fs { try f.wait() }
      #expect(!l.isLocked)
      return l.withLock { box.value }
    }
    #expect(total == fibers * each)
  }

  @Test func incrementsWithFourWorkersAndRecursion() throws {
    let total = try onScheduler(threads: 4) { () -> Int in
      let l = ReentrantLock()
      let box = UnsafeBox(0)
      let fs = (0..<8).map { _ in
        spawn {
          for i in 0..<2_500 {
            l.withLock {
              if i % 3 == 0 { l.withLock { box.value += 1 } } else { box.value += 1 }
            }
            if i % 100 == 0 { yield() }
          }
        }
      }
      for f in fs { try f.wait() }
      return l.withLock { box.value }
    }
    #expect(total == 20_000)
  }

  /// Fibers and plain OS threads (the test's own thread and Foundation threads) share a lock.
  @Test func fibersAndThreadsShareALock() throws {
    try withWatchdog {
      let l = ReentrantLock()
      let box = UnsafeBox(0)
      let perThread = 2_000
      let threads = (0..<3).map { _ in
        JoinableThread { for _ in 0..<perThread { l.lock(); box.value += 1; l.unlock() } }
      }
      let fibers = (0..<4).map { _ in
        spawn { for _ in 0..<perThread { l.withLock { box.value += 1 } } }
      }
      for _ in 0..<perThread { l.lock(); box.value += 1; l.unlock() }
      for t in threads { t.join() }
      for f in fibers { try f.wait() }
      #expect(l.withLock { box.value } == 8 * perThread)
    }
  }

  /// A lock held while its holder parks (sleeps) does not hold up its worker.
  @Test func parkedWaiterNeverHoldsAWorker() throws {
    let ran = try onScheduler(threads: 1) { () -> Bool in
      let l = ReentrantLock()
      let holding = Event()
      let release = Event()
      let holder = spawn { l.lock(); holding.notify(); try release.wait(); l.unlock() }
      try holding.wait()
      // With one worker, the waiter must park (not spin forever) for `other` to run.
      let waiter = spawn { l.lock(); l.unlock() }
      let other = spawn { release.notify() }
      try other.wait()
      try waiter.wait()
      try holder.wait()
      return !l.isLocked
    }
    #expect(ran)
  }

  @Test func unlockOfUnlockedLockIsMisuse() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      ReentrantLock().unlock()
    }
    #expect(standardError(result).contains("Weft misuse: unlock() of a ReentrantLock that is not locked"))
  }

  @Test func unlockByAnotherFiberIsMisuse() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      let l = ReentrantLock()
      l.lock()
      try? spawn { l.unlock() }.wait()
    }
    #expect(standardError(result).contains("Weft misuse: unlock() of a ReentrantLock held by another fiber"))
  }
}

import Foundation
import Testing
@testable import Weft

@Suite struct SyncSemaphoreTests {
  /// The reference's example: Semaphore(2) and 100 spawned fibers each calling foo() inside
  /// `acquire { }`: never more than 2 inside at once.
  @Test func referenceExampleAtMostTwo() throws {
    let (maximum, total) = try onScheduler(threads: 4) { () -> (Int, Int) in
      let s = Semaphore(2)
      let meter = OccupancyMeter()
      @Sendable func foo() { meter.enter(); for _ in 0..<10 { yield() }; meter.leave() }
      try sync {
        for _ in 0..<100 {
          spawn { try s.acquire { foo() } }
        }
      }
      #expect(s.inUse == 0)
      return (meter.maximum, meter.total)
    }
    #expect(maximum <= 2)
    #expect(maximum >= 1)
    #expect(total == 100)
  }

  @Test func acquireAndReleaseCounts() throws {
    try withWatchdog {
      let s = Semaphore(3)
      #expect(s.size == 3)
      try s.acquire(); try s.acquire()
      #expect(s.inUse == 2)
      s.release()
      #expect(s.inUse == 1)
      s.release()
      #expect(s.inUse == 0)
    }
  }

  @Test func acquireBodyReleasesOnError() throws {
    struct Boom: Error {}
    let s = Semaphore(1)
    #expect(throws: Boom.self) { try s.acquire { throw Boom() } }
    #expect(s.inUse == 0)
    #expect(try s.acquire { 5 } == 5)
    #expect(s.inUse == 0)
  }

  /// A full semaphore blocks; release hands the permit to the first waiter (FIFO).
  @Test func waitersAreServedInOrder() throws {
    let order = try onScheduler(threads: 2) { () -> [Int] in
      let s = Semaphore(1)
      let rec = LineRecorder()
      try s.acquire()
      var fs: [Fiber<Void>] = []
      for i in 0..<4 {
        fs.append(spawn { try s.acquire(); rec.record("\(i)"); s.release() })
        while s.queue.withLockedCount() < i + 1 { yield() }
      }
      s.release()
      for f in fs { try f.wait() }
      return rec.all.map { Int($0)! }
    }
    #expect(order == [0, 1, 2, 3])
  }

  /// 100 fibers, more than workers, on Semaphore(2) with heavy churn: holders never exceed 2.
  @Test func hundredFibersNeverExceedTwoHolders() throws {
    let iterations = syncScaled(200)
    let (maximum, total) = try onScheduler(threads: 3) { () -> (Int, Int) in
      let s = Semaphore(2)
      let meter = OccupancyMeter()
      let fs = (0..<100).map { i in
        spawn {
          for k in 0..<iterations {
            try s.acquire()
            meter.enter()
            if (i + k) % 5 == 0 { yield() }
            meter.leave()
            s.release()
          }
        }
      }
      for f in fs { try f.wait() }
      return (meter.maximum, meter.total)
    }
    #expect(maximum <= 2)
    #expect(total == 100 * iterations)
  }

  /// Semaphore(1) as a mutex under churn (many releases racing the last waiter's hand-off):
  /// the unsynchronised counter is exact and ThreadSanitizer sees the ordering.
  @Test func semaphoreOfOneIsAMutex() throws {
    let each = syncScaled(2_000)
    let total = try onScheduler(threads: 3) { () -> Int in
      let s = Semaphore(1)
      let box = UnsafeBox(0)
      let fs = (0..<16).map { _ in spawn { for _ in 0..<each { try s.acquire { box.value += 1 } } } }
      for f in fs { try f.wait() }
      return try s.acquire { box.value }
    }
    #expect(total == 16 * each)
  }

  /// Plain threads and fibers share a semaphore.
  @Test func threadsAndFibersShareASemaphore() throws {
    try withWatchdog {
      let s = Semaphore(2)
      let meter = OccupancyMeter()
      let work: @Sendable () -> Void = {
        for _ in 0..<500 { try! s.acquire { meter.enter(); meter.leave() } }
      }
      let threads = (0..<3).map { _ in JoinableThread(work) }
      let fibers = (0..<3).map { _ in spawn(work) }
      work()
      for t in threads { t.join() }
      for f in fibers { try f.wait() }
      #expect(meter.maximum <= 2)
      #expect(meter.total == 7 * 500)
    }
  }

  @Test func releaseWithoutAcquireIsMisuse() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      let s = Semaphore(2)
      try! s.acquire()
      s.release()
      s.release()
    }
    #expect(standardError(result).contains("Weft misuse: Semaphore.release() with no permit in use"))
  }

  @Test func sizeBelowOneIsMisuse() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      _ = Semaphore(0)
    }
    #expect(standardError(result).contains("Weft misuse: Semaphore size must be ≥ 1"))
  }
}

extension WaitQueue {
  /// Test helper: the number of waiters, read under the lock.
  func withLockedCount() -> Int {
    lock()
    defer { unlock() }
    return count
  }
}

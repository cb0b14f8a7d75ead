import Foundation
import Testing
@testable import Weft

@Suite struct SyncLockableTests {
  /// The reference's example: `locked_list = Lockable(Int[])`; `@lock locked_list push!(locked_list[], 1)`;
  /// `lock(summary, locked_list)`.
  @Test func referenceExample() {
    let lockedList = Lockable([Int]())
    let after = lockedList.withLock { () -> [Int] in  // @lock locked_list …
      lockedList[].append(1)  // must hold the lock to access the value
      return lockedList[]
    }
    #expect(after == [1])
    let summary = lockedList.withLock { list in "\(list.count)-element Array<Int>" }  // lock(summary, l)
    #expect(summary == "1-element Array<Int>")
    #expect(!lockedList.isLocked)
  }

  @Test func lockUnlockTryLockForwarding() throws {
    try withWatchdog { () throws -> Void in
      let l = Lockable(0)
      #expect(l.tryLock())
      #expect(l.isLocked)
      l[] += 5
      l.unlock()
      l.lock()
      #expect(l[] == 5)
      l.unlock()
      #expect(try spawn { l.withLock { $0 += 1; return $0 } }.fetch() == 6)
      #expect((l.underlyingLock as? ReentrantLock) != nil)
    }
  }

  @Test func withLockReleasesOnThrow() {
    struct Boom: Error {}
    let l = Lockable([1, 2])
    #expect(throws: Boom.self) { try l.withLock { (v: inout [Int]) in v.append(3); throw Boom() } }
    #expect(!l.isLocked)
    #expect(l.withLock { $0 } == [1, 2, 3])
  }

  /// 10,000 increments by fibers on two workers plus a Foundation thread.
  @Test func incrementsAcrossWorkersAndThreads() throws {
    let l = Lockable(0)
    let total = try onScheduler(threads: 2) { () -> Int in
      let t = JoinableThread { for _ in 0..<2_000 { l.withLock { $0 += 1 } } }
      let fs = (0..<8).map { _ in spawn { for _ in 0..<1_000 { l.withLock { $0 += 1 } } } }
      for f in fs { try f.wait() }
      t.join()
      return l.withLock { $0 }
    }
    #expect(total == 10_000)
  }

  @Test func worksWithAPlainAbstractLock() throws {
    let l = Lockable("a", lock: SemaphoreLock())
    l.withLock { $0 += "b" }
    l.lock()
    l[] += "c"
    #expect(l[] == "abc")
    l.unlock()
  }

  @Test func accessWithoutTheLockIsMisuse() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      let l = Lockable([Int]())
      l[].append(1)
    }
    #expect(standardError(result).contains("Weft misuse: Lockable value accessed without holding its lock"))
  }

  @Test func accessWhileAnotherFiberHoldsTheLockIsMisuse() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      let l = Lockable(1)
      l.lock()
      _ = try? spawn { l[] }.fetch()
    }
    #expect(standardError(result).contains("Weft misuse: Lockable value accessed without holding its lock"))
  }
}

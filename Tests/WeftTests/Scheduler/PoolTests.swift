import Testing
@testable import Weft

// Julia's thread pools: interactive workers are numbered first (threadid 1…i), then default
// ones; `spawn(pool: .interactive)` is never queued behind long-running default work; an
// empty interactive pool means the default one.

@Suite struct PoolTests {
  /// Every default worker is busy in a long spin; an interactive fiber still runs at once, on
  /// the interactive worker (spawned from the test thread and from a default-pool fiber).
  @Test func interactiveFibersRunWhileEveryDefaultWorkerIsBusy() throws {
    try withScheduler(threads: 2, interactiveThreads: 1) { s in
      let spinning = Counter()
      let release = Counter()
      let spinners = (0..<2).map { _ in
        s.spawn { () -> (Int, ThreadPool?) in
          spinning.increment()
          release.spin { $0 == 1 }
          return (Threads.threadid(), Threads.threadpool())
        }
      }
      spinning.spin { $0 == 2 }  // both default workers are taken
      let fromThread = try s.spawn(pool: .interactive) {
        (Threads.threadid(), Threads.threadpool(), Threads.nthreads(.interactive), Threads.nthreads(.default))
      }.fetch()
      #expect(fromThread.0 == 1)
      #expect(fromThread.1 == .interactive)
      #expect(fromThread.2 == 1 && fromThread.3 == 2)
      // Sticky interactive work from outside goes to an interactive worker too.
      let sticky = try s.spawn(pool: .interactive, sticky: true) { Threads.threadid() }.fetch()
      #expect(sticky == 1)
      release.store(1)
      let ids = try spinners.map { try $0.fetch() }
      #expect(Set(ids.map(\.0)) == [2, 3])
      #expect(ids.allSatisfy { $0.1 == .default })
    }
  }

  /// A default-pool fiber spawning interactive work hands it to the interactive pool, and an
  /// interactive fiber spawning default work hands it back.
  @Test func spawningAcrossPools() throws {
    try withScheduler(threads: 1, interactiveThreads: 1) { s in
      let (inter, back) = try s.spawn { () throws -> (ThreadPool?, ThreadPool?) in
        let i = try spawn(pool: .interactive) { () throws -> (ThreadPool?, ThreadPool?) in
          (Threads.threadpool(), try spawn { Threads.threadpool() }.fetch())
        }.fetch()
        return i
      }.fetch()
      #expect(inter == .interactive)
      #expect(back == .default)
    }
  }

  /// No interactive workers: `.interactive` falls back to the default pool (Julia does too).
  @Test func emptyInteractivePoolFallsBackToDefault() throws {
    try withScheduler(threads: 1) { s in
      let (pool, id, n) = try s.spawn(pool: .interactive) {
        (Threads.threadpool(), Threads.threadid(), Threads.nthreads(.interactive))
      }.fetch()
      #expect(pool == .default && id == 1 && n == 0)
      #expect(s.threadCount(.interactive) == 0 && s.threadCount() == 1)
    }
  }

  @Test func offTheWorkers() {
    #expect(Threads.threadid() == 0)
    #expect(Threads.threadpool() == nil)
    #expect(Threads.nthreads() == Scheduler.shared.threadCount())
  }
}

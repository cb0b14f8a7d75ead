import CWeft  // weft_gettid
import Testing
@testable import Weft

/// The thread-local slots are read inline (CWeft.h, `weft_tls_worker_inline`) as volatile
/// asm, so that a read after a switch is never the value read before it on another thread.
/// Migratable fibers yield in a loop on 2 workers, so they move between threads inside one
/// function; every observation pairs the worker the slot names with the kernel's thread id
/// (a system call, which nothing can cache): each worker must be seen on one thread only.
/// (A reused read would show up in an optimised build; Scripts/test.sh's release stress run
/// covers that build.)
@Suite struct ThreadLocalTests {
  @Test func aFiberThatMovesThreadReadsItsNewWorker() throws {
    let seen = Locked<[Int: Set<Int>]>([:])  // worker index → kernel thread ids
    try withScheduler(threads: 2) { s in
      let fibers = (0..<8).map { _ in
        s.spawn {
          for _ in 0..<500 {
            let worker = Worker.current.unsafelyUnwrapped.index
            let tid = Int(weft_gettid())
            seen.withLock { $0[worker, default: []].insert(tid) }
            yield()
          }
        }
      }
      for f in fibers { try f.wait() }
    }
    let map = seen.snapshot
    #expect(map.values.allSatisfy { $0.count == 1 }, "a worker was seen on two threads: \(map)")
    #expect(Set(map.values.flatMap { $0 }).count == map.count, "two workers were seen on one thread: \(map)")
  }
}

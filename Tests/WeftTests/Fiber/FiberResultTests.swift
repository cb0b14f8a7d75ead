import Testing
@testable import Weft

/// The body and then its result share one storage in the fiber's block (FiberCore O1): a
/// result of up to four words (8-byte aligned) in place, a bigger or more aligned one in a
/// heap slot. These check every shape comes back intact from `fetch`, and that whatever
/// the body captured and the result holds is destroyed exactly when it should be: the body
/// once it has run (or with a fiber that never ran), the result with the fiber.
@Suite struct FiberResultTests {
  final class Tracked: @unchecked Sendable {
    let tag: Int
    init(_ tag: Int) { self.tag = tag }
  }

  struct Big: Equatable, Sendable { var a, b, c, d, e, f: Int }  // six words: a heap slot
  struct BigWithReference: Sendable { var words: (Int, Int, Int, Int, Int); var object: Tracked }

  @Test func everyResultShapeComesBackIntact() throws {
    try withScheduler(threads: 2) { s in
      #expect(try s.spawn { 42 }.fetch() == 42)
      #expect(try s.spawn { "a string of more than fifteen bytes" }.fetch() == "a string of more than fifteen bytes")
      let five = try s.spawn { (1, 2, 3, 4, 5) }.fetch()  // exactly five words: in place
      #expect(five == (1, 2, 3, 4, 5))
      let big = s.spawn { Big(a: 1, b: 2, c: 3, d: 4, e: 5, f: 6) }
      #expect(try big.fetch() == Big(a: 1, b: 2, c: 3, d: 4, e: 5, f: 6))
      #expect(try big.fetch() == Big(a: 1, b: 2, c: 3, d: 4, e: 5, f: 6), "a second fetch reads the same result")
      let wide = UInt128(UInt64.max) << 64 | 7  // 16-byte aligned: a heap slot
      #expect(try s.spawn { wide }.fetch() == wide)
      #expect(try s.spawn { [1, 2, 3] }.fetch() == [1, 2, 3])
      try s.spawn {}.fetch()
    }
  }

  @Test(arguments: [false, true])
  func theResultLivesAsLongAsTheFiber(big: Bool) throws {
    weak var held: Tracked?
    weak var fiber: AnyFiber?
    try withScheduler(threads: 1) { s in
      do {
        let f: AnyFiber
        if big {
          let typed = s.spawn { BigWithReference(words: (1, 2, 3, 4, 5), object: Tracked(7)) }
          let r = try typed.fetch()
          #expect(r.object.tag == 7 && r.words == (1, 2, 3, 4, 5))
          held = r.object
          f = typed
        } else {
          let typed = s.spawn { Tracked(8) }
          held = try typed.fetch()
          f = typed
        }
        #expect(held != nil, "the fiber still holds its result")
        fiber = f
      }
      // The worker drops its run reference after the fiber's last switch, which may come
      // after fetch returned: wait for the fiber itself to go (bounded by the watchdog).
      spinUntil { fiber == nil }
    }
    // A weak reference reads nil as soon as the last release starts the deinit, which then
    // destroys the result on the worker's thread: checked right after the spin, the result
    // could still be there (it was, once, under ThreadSanitizer). The shutdown at the end of
    // `withScheduler` joined that thread, so its deinit has finished.
    #expect(held == nil, "the result was destroyed with the fiber")
  }

  @Test func theBodyIsDestroyedOnceItRanAndAFiberThatNeverRanDestroysIt() throws {
    try withScheduler(threads: 1) { s throws in
      weak var capturedByRun: Tracked?
      weak var capturedByFailed: Tracked?
      weak var capturedByNeverRun: Tracked?
      let ran: Fiber<Int>, failed: Fiber<Int>
      do {
        let a = Tracked(1), b = Tracked(2), c = Tracked(3)
        capturedByRun = a; capturedByFailed = b; capturedByNeverRun = c
        ran = s.spawn { a.tag }
        failed = s.spawn { () throws -> Int in if b.tag == 2 { throw Boom(tag: 2) }; return 0 }
        let neverRun = Fiber { c.tag }  // created, never scheduled
        _ = neverRun
      }
      #expect(capturedByNeverRun == nil, "a fiber that never ran destroyed its body with itself")
      #expect(try ran.fetch() == 1)
      #expect(throws: TaskFailedError.self) { try failed.fetch() }
      // Both fibers are alive here; their bodies are not: moved out and destroyed when run.
      #expect(capturedByRun == nil && capturedByFailed == nil, "the bodies were released once they ran")
      #expect(failed.isFailed && (failed.error as? Boom) == Boom(tag: 2))
    }
  }
}

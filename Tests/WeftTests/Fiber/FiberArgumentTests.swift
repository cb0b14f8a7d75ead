import Testing
@testable import Weft

/// `spawn(with:_:)` and `Fiber(with:_:)` (FiberCore O2): the body, a closure that need not
/// capture anything, and its argument are stored in the fiber's block, the argument after the
/// closure's two words when it fits in the three left (8-byte aligned), otherwise in a heap
/// slot. These check every shape reaches the body intact, and that the argument is destroyed
/// exactly when it should be: once the body ran (or threw), or with a fiber that never ran.
@Suite struct FiberArgumentTests {
  final class Tracked: @unchecked Sendable {
    let tag: Int
    init(_ tag: Int) { self.tag = tag }
  }

  @Test func everyArgumentShapeReachesTheBody() throws {
    try withScheduler(threads: 2) { s in
      #expect(try s.spawn(with: 20) { $0 + 1 }.fetch() == 21)
      #expect(try s.spawn(with: "an argument longer than fifteen bytes") { $0.count }.fetch() == 37)
      let three = try s.spawn(with: (1, 2, 3)) { $0.0 * 100 + $0.1 * 10 + $0.2 }.fetch()  // in place
      #expect(three == 123)
      let four = try s.spawn(with: (1, 2, 3, 4)) { [$0.0, $0.1, $0.2, $0.3] }.fetch()  // a heap slot
      #expect(four == [1, 2, 3, 4])
      let wide = UInt128(UInt64.max) << 64 | 7  // 16-byte aligned: a heap slot
      #expect(try s.spawn(with: wide) { $0 >> 64 }.fetch() == UInt128(UInt64.max))
      // A result bigger than the storage, from a body with an argument.
      let six = try s.spawn(with: 6) { n in (1, 2, 3, 4, 5, n) }.fetch()
      #expect(six == (1, 2, 3, 4, 5, 6))
      try s.spawn(with: ()) { _ in }.fetch()
      // The documentation's form: a tuple taken apart in the closure's parameter list.
      #expect(try s.spawn(with: (7, 6)) { (n, m) in n * m }.fetch() == 42)
    }
  }

  /// The benchmark's shape (skynet): each fiber spawns ten with arguments and sums them.
  @Test func aTreeOfFibersWithArgumentsSumsItsLeaves() throws {
    @Sendable func node(_ a: (ordinal: Int, size: Int)) throws -> Int {
      if a.size == 1 { return a.ordinal }
      let child = a.size / 10
      let kids = (0..<10).map { i in spawn(with: (a.ordinal + i * child, child), node) }
      return try kids.reduce(0) { $0 + (try $1.fetch()) }
    }
    let sum = try withScheduler(threads: 2) { s in try s.spawn(with: (0, 10_000), node).fetch() }
    #expect(sum == 10_000 * 9_999 / 2)
  }

  @Test(arguments: [false, true])
  func theArgumentIsDestroyedOnceTheBodyRan(heapSlot: Bool) throws {
    try withScheduler(threads: 1) { s throws in
      weak var argument: Tracked?
      let f: Fiber<Int>
      do {
        let t = Tracked(5)
        argument = t
        f = heapSlot ? s.spawn(with: (1, 2, 3, t)) { $0.3.tag + $0.0 } : s.spawn(with: t) { $0.tag }
      }
      #expect(try f.fetch() == (heapSlot ? 6 : 5))
      #expect(argument == nil, "the argument was released once the body ran; the fiber is alive")
    }
  }

  @Test(arguments: [false, true])
  func aFiberThatNeverRanDestroysItsArgument(heapSlot: Bool) {
    weak var argument: Tracked?
    do {
      let t = Tracked(5)
      argument = t
      if heapSlot {
        _ = Fiber(with: (t, 1, 2, 3)) { $0.0.tag }  // created, never scheduled
      } else {
        _ = Fiber(with: t) { $0.tag }
      }
    }
    #expect(argument == nil, "a fiber that never ran destroyed its argument with itself")
  }

  @Test func aBodyThatThrowsReleasesItsArgumentAndFailsTheFiber() throws {
    try withScheduler(threads: 1) { s throws in
      weak var argument: Tracked?
      let f: Fiber<Int>
      do {
        let t = Tracked(9)
        argument = t
        f = s.spawn(with: t) { (t: Tracked) throws -> Int in throw Boom(tag: t.tag) }
      }
      #expect(throws: TaskFailedError.self) { try f.fetch() }
      #expect(f.isFailed && (f.error as? Boom) == Boom(tag: 9))
      #expect(argument == nil)
    }
  }

  /// Julia's `Task(f)` then `schedule(t)`, with the argument form; and `sticky:` is honoured.
  @Test func aCreatedFiberWithAnArgumentRunsWhenScheduled() throws {
    try withScheduler(threads: 2) { s in
      let r = try s.spawn { () throws -> (Int, Bool, Bool) in
        let created = Fiber(with: 41) { ($0 + 1, Fiber.current.sticky) }
        #expect(!created.isStarted)
        schedule(created)
        let (v, sticky) = try created.fetch()
        let pinned = try spawn(sticky: true, with: 0) { _ in Fiber.current.sticky }.fetch()
        return (v, sticky, pinned)
      }.fetch()
      #expect(r.0 == 42 && r.1 && r.2, "Fiber(with:) is sticky by default, as Fiber { }; spawn(sticky: true) pins")
    }
  }
}

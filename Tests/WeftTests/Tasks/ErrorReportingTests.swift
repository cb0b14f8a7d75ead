import Testing
@testable import Weft

// A failure deep in a pipeline arrives wrapped: TaskFailedError around TaskFailedError, and
// CompositeErrors of those from each sync. rootCause and rootErrors see through the wrapping
// (each fiber's failure once), and the descriptions stay short.

/// The error `f.fetch()` throws (from the calling thread or fiber).
private func failure(_ f: AnyFiber) -> any Error {
  do { try f.wait(); return Boom(tag: -1) } catch { return error }
}

/// Tags of the `Boom`s in `errors` (-1 for any other error).
private func tags(_ errors: [any Error]) -> [Int] { errors.map { ($0 as? Boom)?.tag ?? -1 } }

@Suite struct ErrorReportingTests {
  /// fetch of fetch of fetch: four fibers deep, one root error, one line.
  @Test func fetchChainFourLevelsDeep() throws {
    try withScheduler(threads: 2) { s in
      let a = s.spawn { () throws -> Int in throw Boom(tag: 1) }
      let b = s.spawn { try a.fetch() + 1 }
      let c = s.spawn { try b.fetch() + 1 }
      let d = s.spawn { try c.fetch() + 1 }
      let e = try #require(failure(d) as? TaskFailedError)
      #expect(e.fiber === d)
      // The chain is still there, level by level.
      let levels = sequence(first: e as any Error) { ($0 as? TaskFailedError)?.underlying }.map { ($0 as? TaskFailedError)?.fiber }
      #expect(levels.count == 5)
      #expect(levels[0] === d && levels[1] === c && levels[2] === b && levels[3] === a && levels[4] == nil)
      #expect((e.rootCause as? Boom) == Boom(tag: 1))
      #expect(tags(e.rootErrors) == [1])
      #expect(e.description == "fiber \(d.id) failed: Boom(1) (raised in fiber \(a.id))")
      // The innermost wrapper names only its own fiber.
      let inner = try #require(failure(a) as? TaskFailedError)
      #expect(inner.description == "fiber \(a.id) failed: Boom(1)")
      #expect((inner.rootCause as? Boom) == Boom(tag: 1))
    }
  }

  /// A pipeline of syncs and fetches: d syncs over a1 (fails), b1 (fetches a1), b2 (a sync over
  /// two failing fibers) and b3 (fetches a1 too). a1's one failure is reached three ways and
  /// counts once; the composite says so.
  @Test func syncAndFetchPipeline() throws {
    try withScheduler(threads: 2) { s in
      let fibers = Locked<[String: AnyFiber]>([:])
      let d = s.spawn { () throws -> Int in
        try sync {
          let a1 = spawn { () throws -> Int in throw Boom(tag: 1) }
          let b1 = spawn { try a1.fetch() * 2 }
          let b2 = spawn { () throws -> Int in
            try sync {
              let c1 = spawn { () throws -> Int in throw Boom(tag: 2) }
              let c2 = spawn { () throws -> Int in throw Boom(tag: 3) }
              fibers.withLock { $0["c1"] = c1; $0["c2"] = c2 }
            }
            return 0
          }
          let b3 = spawn { try a1.fetch() * 3 }
          fibers.withLock { $0["a1"] = a1; $0["b1"] = b1; $0["b2"] = b2; $0["b3"] = b3 }
        }
        return 0
      }
      let e = try #require(failure(d) as? TaskFailedError)
      let f = fibers.snapshot
      let (a1, c1, c2) = (f["a1"]!, f["c1"]!, f["c2"]!)

      let composite = try #require(e.underlying as? CompositeError)
      #expect(composite.count == 4)  // a1, b1, b2, b3: the raw collection is unchanged
      #expect(tags(composite.rootErrors) == [1, 2, 3])
      #expect((composite.rootCause as? Boom) == Boom(tag: 1))
      #expect(composite.description == """
        CompositeError: 3 errors (from 4 failures):
          fiber \(a1.id) failed: Boom(1)
          fiber \(c1.id) failed: Boom(2)
          fiber \(c2.id) failed: Boom(3)
        """)

      #expect(tags(e.rootErrors) == [1, 2, 3])
      #expect((e.rootCause as? Boom) == Boom(tag: 1))
      #expect(e.description == "fiber \(d.id) failed: Boom(1) (raised in fiber \(a1.id)); 2 more root errors")

      // b2's own failure: its sync's two children, three levels below d.
      let b2 = try #require(composite[2] as? TaskFailedError)
      #expect(b2.fiber === f["b2"])
      #expect(tags(b2.rootErrors) == [2, 3])
      #expect(b2.description == "fiber \(b2.fiber.id) failed: Boom(2) (raised in fiber \(c1.id)); 1 more root error")
      // b3 reaches a1 through a fetch: one root, a1's.
      let b3 = try #require(composite[3] as? TaskFailedError)
      #expect(b3.description == "fiber \(b3.fiber.id) failed: Boom(1) (raised in fiber \(a1.id))")
    }
  }

  /// The same failure through two wrappers counts once; two fibers that threw equal errors
  /// count twice.
  @Test func duplicatesAreTheSameFailureNotEqualErrors() {
    withScheduler(threads: 2) { s in
      let a = s.spawn { () throws -> Int in throw Boom(tag: 5) }
      let twin = s.spawn { () throws -> Int in throw Boom(tag: 5) }
      let viaFetch = s.spawn { try a.fetch() }
      let same = CompositeError([failure(a), failure(viaFetch), failure(a)])
      #expect(tags(same.rootErrors) == [5])
      #expect(same.description == "CompositeError: 1 error (from 3 failures):\n  fiber \(a.id) failed: Boom(5)")
      let equal = CompositeError([failure(a), failure(twin)])
      #expect(tags(equal.rootErrors) == [5, 5])
      #expect(equal.description == "CompositeError: 2 errors:\n  fiber \(a.id) failed: Boom(5)\n  fiber \(twin.id) failed: Boom(5)")
    }
  }

  /// A sync whose body throws besides a failed child: the body's error is a root too, raised
  /// in the fiber that ran the sync (so its line names no other fiber).
  @Test func bodyErrorAndChildFailure() throws {
    try withScheduler(threads: 2) { s in
      let child = Locked<AnyFiber?>(nil)
      let outer = s.spawn { () throws -> Int in
        try sync {
          child.withLock { $0 = spawn { () throws -> Int in throw Boom(tag: 2) } }
          throw Boom(tag: 1)
        }
      }
      let e = try #require(failure(outer) as? TaskFailedError)
      let c = try #require(child.snapshot)
      #expect(tags(e.rootErrors) == [1, 2])
      #expect(e.description == "fiber \(outer.id) failed: Boom(1); 1 more root error")
      let composite = try #require(e.underlying as? CompositeError)
      #expect(composite.description == "CompositeError: 2 errors:\n  Boom(1)\n  fiber \(c.id) failed: Boom(2)")
    }
  }

  /// Composites built by hand: plain errors are their own roots; nested composites flatten;
  /// an empty one is its own root cause.
  @Test func handBuiltComposites() {
    let nested = CompositeError([Boom(tag: 1), CompositeError([Boom(tag: 2), CompositeError([Boom(tag: 3)])])])
    #expect(tags(nested.rootErrors) == [1, 2, 3])
    #expect((nested.rootCause as? Boom) == Boom(tag: 1))
    #expect(nested.description == "CompositeError: 3 errors (from 2 failures):\n  Boom(1)\n  Boom(2)\n  Boom(3)")
    let empty = CompositeError()
    #expect(empty.rootErrors.isEmpty)
    #expect(empty.rootCause is CompositeError)
    #expect(empty.description == "CompositeError: 0 errors")
    #expect(CompositeError([ArgumentError("x")]).description == "CompositeError: 1 error:\n  ArgumentError: x")
  }
}

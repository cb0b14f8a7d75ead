import Testing
@testable import Weft

// Julia's @sync: `sync { }` waits for every fiber spawned by the calling fiber inside it and
// collects failures into CompositeError.

@Suite struct SyncTests {
  /// Failures are collected (one TaskFailedError per failed fiber, in spawn order), and only
  /// after every spawned fiber has finished, including a slow one that outlives the failures.
  @Test func collectsFailuresAfterWaitingForAll() throws {
    let seen = try withScheduler(threads: 2) { s in
      try s.spawn { () -> [String] in
        var f1: Fiber<Int>!, f2: Fiber<Int>!, slow: Fiber<Int>!, ok: Fiber<Int>!
        do {
          try sync {
            let a = spawn { () throws -> Int in throw Boom(tag: 1) }
            ok = spawn { 10 }
            let b = spawn(sticky: true) { () throws -> Int in throw Boom(tag: 2) }
            f1 = a
            f2 = b
            slow = spawn {
              _ = try? a.wait()
              _ = try? b.wait()
              for _ in 0..<200 { yield() }
              return 3
            }
          }
          return ["no error"]
        } catch let e as CompositeError {
          var out = ["count \(e.errors.count)", "slow done \(slow.isDone)", "ok \(try ok.fetch())"]
          for err in e.errors {
            guard let tf = err as? TaskFailedError else { out.append("not a TaskFailedError"); continue }
            out.append("\(tf.fiber === f1 ? "f1" : tf.fiber === f2 ? "f2" : "?") \((tf.underlying as? Boom)?.tag ?? -1)")
          }
          out.append(e.description.contains("2 errors") ? "described" : e.description)
          return out
        }
      }.fetch()
    }
    #expect(seen == ["count 2", "slow done true", "ok 10", "f1 1", "f2 2", "described"])
  }

  /// A sync whose fibers all succeed returns the body's value after they are done.
  @Test func returnsTheBodyValueWhenAllSucceed() throws {
    try withWatchdog {
      let counter = Counter()
      var fibers: [Fiber<Void>] = []
      let r = try sync { () -> String in
        for _ in 0..<20 { fibers.append(spawn { try sleep(seconds: 0.001); counter.increment() }) }
        return "body"
      }
      #expect(r == "body")
      #expect(counter.value == 20)
      let allDone = fibers.allSatisfy { $0.isDone }
      #expect(allDone)
    }
  }

  /// If the body throws, the spawned fibers are still awaited; the body's error comes first.
  @Test func bodyErrorComesFirstAndFibersAreStillAwaited() throws {
    try withWatchdog {
      var child: Fiber<Void>!
      var other: Fiber<Int>!
      do {
        try sync {
          child = spawn { try sleep(seconds: 0.01) }
          other = spawn { () throws -> Int in throw Boom(tag: 2) }
          throw Boom(tag: 1)
        }
        Issue.record("sync did not throw")
      } catch let e as CompositeError {
        #expect(e.errors.count == 2)
        #expect((e.errors.first as? Boom) == Boom(tag: 1))
        #expect(((e.errors.last as? TaskFailedError)?.underlying as? Boom) == Boom(tag: 2))
      }
      #expect(child.isDone && other.isDone)

      // Only the body failed: its own error, unwrapped.
      do {
        try sync { child = spawn { }; throw Boom(tag: 3) }
      } catch let e as Boom {
        #expect(e.tag == 3)
        #expect(child.isDone)
      }
    }
  }

  /// Scopes are dynamic and per fiber: spawns in called functions join the innermost scope;
  /// spawns by other fibers (grandchildren) do not.
  @Test func scopesAreDynamicAndPerFiber() throws {
    let seen = try withScheduler(threads: 2) { s in
      try s.spawn { () throws -> [Bool] in
        let release = Latch()
        var inner: Fiber<Void>!
        let grandchild = Locked<Fiber<Void>?>(nil)
        var outer: Fiber<Void>!
        func helper() -> Fiber<Void> { spawn { } }
        try sync {
          outer = helper()
          try sync { inner = spawn { grandchild.withLock { $0 = spawn { release.wait() } } } }
          precondition(inner.isDone, "inner sync returned early")
        }
        let g = grandchild.snapshot!
        let grandchildStillRunning = !g.isDone  // not part of either scope
        release.open()
        try g.wait()
        return [outer.isDone, inner.isDone, grandchildStillRunning]
      }.fetch()
    }
    #expect(seen == [true, true, true])
  }

  /// Julia's CompositeException() / push! / length / isempty / iterate: a composite built up
  /// one error at a time; a copy is not changed by a later append (value semantics).
  @Test func compositeErrorIsBuiltUpWithAppend() throws {
    var c = CompositeError()
    #expect(c.isEmpty)
    #expect(c.count == 0)
    c.append(Boom(tag: 1))
    let snapshot = c
    c.append(Boom(tag: 2))
    c.append(ArgumentError("three"))
    #expect(!c.isEmpty)
    #expect(c.count == 3)
    #expect(c.errors.count == 3)
    #expect(snapshot.count == 1)
    #expect((c.first as? Boom)?.tag == 1)
    #expect((c[1] as? Boom)?.tag == 2)
    #expect(c.last is ArgumentError)
    var tags: [Int] = []
    for e in c { tags.append((e as? Boom)?.tag ?? 0) }
    #expect(tags == [1, 2, 0])
    #expect(c.description == "CompositeError: 3 errors:\n  Boom(1)\n  Boom(2)\n  ArgumentError: three")
    #expect(CompositeError([Boom(tag: 9)]).count == 1)
    // Thrown and caught like the ones sync builds.
    #expect(throws: CompositeError.self) { if !c.isEmpty { throw c } }
  }

}

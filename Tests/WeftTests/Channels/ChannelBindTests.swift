import Foundation
import Testing
@testable import Weft

@Suite("Channel bind and iteration")
struct ChannelBindTests {
  /// Julia's bind example: a bound producer's channel closes when it ends; `for i in c`
  /// takes every item, then `isopen(c)` is false.
  @Test func bindClosesWhenTheFiberEnds() throws {
    try withWatchdog { () throws in
      let c = Channel<Int>(capacity: 0)
      let task = spawn(sticky: true) { for i in 1...4 { try c.put(i) } }
      c.bind(to: task)
      var seen: [Int] = []
      for i in c { seen.append(i) }
      #expect(seen == [1, 2, 3, 4])
      #expect(!c.isOpen)
    }
  }

  /// Julia's second bind example: `take!` returns 1, then `put!` throws TaskFailedException.
  @Test func bindPropagatesTheFibersError() throws {
    try withWatchdog { () throws in
      let c = Channel<Int>(capacity: 0)
      let task = spawn(sticky: true) { try c.put(1); throw TestError("foo") }
      c.bind(to: task)
      #expect(try c.take() == 1)
      do {
        try c.put(1)
        Issue.record("put on a channel bound to a failed fiber succeeded")
      } catch let e as TaskFailedError {
        #expect(e.fiber === task)
        #expect(e.underlying as? TestError == TestError("foo"))
      }
      // Every later caller sees the same error.
      #expect(throws: TaskFailedError.self) { try c.take() }
      #expect(throws: TaskFailedError.self) { try c.wait() }
    }
  }

  /// Waiters blocked when the bound fiber fails get its error.
  @Test func bindWakesBlockedWaitersWithTheError() throws {
    try withWatchdog { () throws in
      let c = Channel<Int>(capacity: 1)
      let gate = Channel<Void>(capacity: 0)
      let task = spawn { try gate.take(); throw TestError("late") }
      c.bind(to: task)
      let takers = (0..<5).map { _ in spawn { () -> Bool in
        do { _ = try c.take(); return false } catch is TaskFailedError { return true }
      } }
      for t in takers { waitUntilParkedOrDone(t) }
      try gate.put(())
      for t in takers { #expect(try t.fetch()) }
    }
  }

  /// Several channels bound to one fiber all close; one channel bound to several fibers
  /// closes when the first ends, and later ends change nothing.
  @Test func severalChannelsAndSeveralFibers() throws {
    try withWatchdog { () throws in
      let a = Channel<Int>(capacity: 4), b = Channel<Int>(capacity: 4)
      let gate = Channel<Int>(capacity: 0)
      let one = Fiber(sticky: false) { _ = try gate.take() }
      a.bind(to: one)
      b.bind(to: one)
      schedule(one)
      #expect(a.isOpen && b.isOpen)
      try gate.put(0)
      try one.wait()
      #expect(throws: ChannelClosedError.self) { try a.take() }  // waits for the close
      #expect(throws: ChannelClosedError.self) { try b.take() }

      let shared = Channel<Int>(capacity: 4)
      let first = spawn { _ = try gate.take() }
      let second = spawn { _ = try gate.take(); throw TestError("second") }
      shared.bind(to: first)
      shared.bind(to: second)
      try gate.put(1)
      try gate.put(2)
      // Whichever ends first closes it (see firstBoundFiberToEndWins for the error).
      #expect(throws: (any Error).self) { try shared.wait() }
      #expect(!shared.isOpen)
      #expect(throws: (any Error).self) { try shared.put(9) }
      _ = try? first.wait()
      _ = try? second.wait()
    }
  }

  /// The first bound fiber to end decides the close error, deterministically ordered here.
  @Test func firstBoundFiberToEndWins() throws {
    try withWatchdog { () throws in
      let c = Channel<Int>(capacity: 1)
      let gateA = Channel<Int>(capacity: 0), gateB = Channel<Int>(capacity: 0)
      let a = spawn { _ = try gateA.take(); throw TestError("a") }
      let b = spawn { _ = try gateB.take() }
      c.bind(to: a)
      c.bind(to: b)
      try gateA.put(0)
      _ = try? c.wait()  // returns (throwing) once a's end has closed c
      try gateB.put(0)
      try b.wait()
      #expect(throws: TaskFailedError.self) { try c.put(1) }
      // And the reverse order: a normal end first, then a failure.
      let d = Channel<Int>(capacity: 1)
      let ok = spawn { _ = try gateA.take() }
      let bad = spawn { _ = try gateB.take(); throw TestError("bad") }
      d.bind(to: ok)
      d.bind(to: bad)
      try gateA.put(0)
      _ = try? d.wait()
      try gateB.put(0)
      _ = try? bad.wait()
      #expect(throws: ChannelClosedError.self) { try d.put(1) }
    }
  }

  @Test func bindingToAFinishedFiberClosesAtOnce() throws {
    let f = spawn { 1 }
    _ = try f.fetch()
    let c = Channel<Int>(capacity: 1).bind(to: f)
    #expect(!c.isOpen)
    let g = spawn { throw TestError("x") }
    _ = try? g.wait()
    let d = Channel<Int>(capacity: 1).bind(to: g)
    #expect(throws: TaskFailedError.self) { try d.take() }
  }

  /// Julia's taskref example: the constructor's fiber is exposed; it takes and ends.
  @Test func boundFiberIsTheTaskref() throws {
    try withWatchdog { () throws in
      let printed = Recorder<String>()
      let chnl = Channel<String>() { ch in printed.append(try ch.take()) }
      let task = try #require(chnl.boundFiber)
      #expect(task.sticky)
      try chnl.put("Hello")
      try task.wait()
      #expect(task.isDone)
      #expect(printed.values == ["Hello"])
      // The bound close runs just after the fiber's waiters are woken (as in Julia, where a
      // separate task closes it), so wait for it through the channel itself.
      #expect(throws: ChannelClosedError.self) { try chnl.take() }
      #expect(!chnl.isOpen)
      #expect(Channel<Int>(capacity: 1).boundFiber == nil)
    }
  }

  /// Julia's `Channel{Char}(1, spawn=true)` example: "hello world" through a migratable
  /// producer.
  @Test func spawnedProducerHelloWorld() throws {
    try withWatchdog { () throws in
      let chnl = Channel<Character>(capacity: 1, spawn: true) { ch in
        for c in "hello world" { try ch.put(c) }
      }
      #expect(chnl.boundFiber?.sticky == false)
      #expect(String(chnl) == "hello world")
      let pooled = Channel<Int>(capacity: 2, pool: .interactive) { ch in try ch.put(Threads.threadid()) }
      #expect(pooled.boundFiber?.sticky == false)  // pool: implies spawn
      #expect(try pooled.take() >= 1)
    }
  }

  /// A producer that throws: its channel closes with TaskFailedError after the items put.
  @Test func producerFailureEndsIterationAndDrainThrows() throws {
    try withWatchdog { () throws in
      let make = { Channel<Int>(capacity: 2, spawn: true) { ch in
        for i in 0..<5 { try ch.put(i) }
        throw TestError("producer")
      } }
      // Plain iteration ends quietly.
      #expect(Array(make()) == [0, 1, 2, 3, 4])
      // drain and collect report the error once the items are drained.
      var got: [Int] = []
      do {
        try make().drain { got.append($0) }
        Issue.record("drain did not throw")
      } catch let e as TaskFailedError {
        #expect(e.underlying as? TestError == TestError("producer"))
      }
      #expect(got == [0, 1, 2, 3, 4])
      #expect(throws: TaskFailedError.self) { try make().collect() }
      // A plain close ends drain without an error; an error from the body stops it.
      let c = Channel<Int>(capacity: 4)
      for i in 0..<4 { try c.put(i) }
      c.close()
      #expect(throws: TestError("body")) { try c.drain { if $0 == 1 { throw TestError("body") } } }
      #expect(try c.collect() == [2, 3])
    }
  }

  /// `for x in channel` from a Foundation thread while fibers produce.
  @Test func iterationFromAThread() throws {
    try withWatchdog { () throws in
      let c = Channel<Int>(capacity: 3, spawn: true) { ch in for i in 0..<100 { try ch.put(i) } }
      let out = Recorder<[Int]>()
      let done = Channel<Void>(capacity: 1)
      let t = Thread {
        out.append(Array(c))
        try? done.put(())
      }
      t.start()
      try done.take()
      #expect(out.values == [Array(0..<100)])
    }
  }
}

import Testing
@testable import Weft

@Suite("Channel basics")
struct ChannelBasicsTests {
  @Test func bufferedIsFIFO() throws {
    let c = Channel<Int>(capacity: 8)
    for i in 0..<8 { try c.put(i) }
    #expect(c.isReady)
    for i in 0..<8 { #expect(try c.take() == i) }
    #expect(!c.isReady)
    #expect(c.capacity == 8)
  }

  @Test func bufferedWrapsAroundAndGrows() throws {
    let c = Channel<String>(capacity: 100)
    var next = 0, expected = 0
    for round in 0..<50 {
      for _ in 0..<(round % 7 + 1) where next - expected < 100 { try c.put("\(next)"); next += 1 }
      for _ in 0..<(round % 5 + 1) where expected < next { #expect(try c.take() == "\(expected)"); expected += 1 }
    }
    while expected < next { #expect(try c.take() == "\(expected)"); expected += 1 }
  }

  @Test func unboundedNeverBlocks() throws {
    let c = Channel<Int>.unbounded()
    #expect(c.capacity == .max)
    for i in 0..<100_000 { try c.put(i) }
    for i in 0..<100_000 { #expect(try c.take() == i) }
    let d = Channel<Int>(capacity: .max)
    for i in 0..<1000 { try d.put(i) }
    d.close()
    #expect(Array(d) == Array(0..<1000))
  }

  /// An unbuffered put waits until a take receives the item, and vice versa.
  @Test func unbufferedIsARendezvous() throws {
    try withWatchdog { () throws in
      let c = Channel<Int>(capacity: 0)
      let putter = spawn { try c.put(42) }
      try c.wait()  // returns once the putter waits (Julia: isready with a waiting putter)
      #expect(c.isReady)
      #expect(!putter.isDone)
      #expect(try c.take() == 42)
      try putter.wait()
      #expect(!c.isReady)

      let got = Recorder<Int>()
      let taker = spawn { got.append(try c.take()) }
      #expect(!c.isReady)  // a waiting taker does not make the channel ready
      try c.put(7)         // returns only once the taker has the item
      try taker.wait()
      #expect(got.values == [7])
    }
  }

  /// The reference's close example: `put!` fails after close; `fetch` and `take!` still see
  /// the buffered item, then fail.
  @Test func closeSemanticsFromTheManual() throws {
    let c = Channel<Int>(capacity: 2)
    try c.put(1)
    #expect(c.isOpen)
    c.close()
    #expect(!c.isOpen)
    #expect(throws: ChannelClosedError.self) { try c.put(2) }
    #expect(try c.fetch() == 1)
    #expect(try c.fetch() == 1)
    #expect(try c.take() == 1)
    #expect(throws: ChannelClosedError.self) { try c.take() }
    #expect(throws: ChannelClosedError.self) { try c.fetch() }
    #expect(throws: ChannelClosedError.self) { try c.wait() }
    c.close()  // a second close is a no-op
    #expect(!c.isOpen)
  }

  @Test func closeWithErrorIsThrownToLaterCallers() throws {
    let c = Channel<Int>(capacity: 4)
    try c.put(1)
    c.close(error: TestError("boom"))
    c.close(error: TestError("second"))  // the first close wins
    #expect(throws: TestError("boom")) { try c.put(2) }
    try c.wait()  // an item is still ready
    #expect(try c.take() == 1)
    #expect(throws: TestError("boom")) { try c.take() }
    #expect(throws: TestError("boom")) { try c.wait() }
  }

  /// Closing wakes every blocked taker and putter; blocked putters throw and their items are
  /// not delivered; buffered items stay.
  @Test func closeWakesEveryBlockedCaller() throws {
    try withWatchdog { () throws in
      let empty = Channel<Int>(capacity: 0)
      let full = Channel<Int>(capacity: 2)
      try full.put(100)
      try full.put(101)
      let failures = TestCounter()
      var fibers: [Fiber<Void>] = []
      for i in 0..<10 {
        fibers.append(spawn { do { _ = try empty.take() } catch { failures.increment() } })
        fibers.append(spawn { do { try empty.put(i) } catch { failures.increment() } })
        fibers.append(spawn { do { try full.put(i) } catch { failures.increment() } })
      }
      for f in fibers { waitUntilParkedOrDone(f) }
      empty.close(error: TestError("closed"))
      full.close()
      for f in fibers { try f.wait() }
      // Takers and putters of `empty` may have met each other before the close.
      #expect(failures.value >= 10)
      #expect(try full.collect() == [100, 101])
    }
  }

  /// Julia's `wait(c)` example: a fiber waiting on an empty channel ends after a put.
  @Test func waitExample() throws {
    try withWatchdog { () throws in
      let c = Channel<Int>(capacity: 1)
      #expect(!c.isReady)
      let task = Fiber { try c.wait() }
      schedule(task)
      #expect(!task.isDone)  // it cannot finish before the put
      try c.put(1)
      try task.wait()
      #expect(task.isDone)
      #expect(c.isReady)
    }
  }

  /// Julia's `isready` examples, buffered and unbuffered.
  @Test func isReadyExamples() throws {
    try withWatchdog { () throws in
      let c = Channel<Int>(capacity: 1)
      #expect(!c.isReady)
      try c.put(1)
      #expect(c.isReady)

      let u = Channel<Int>()
      #expect(!u.isReady)  // no fiber waiting to put
      let task = Fiber { try u.put(1) }
      schedule(task)
      try u.wait()
      #expect(u.isReady)
      #expect(try u.take() == 1)
      try task.wait()
    }
  }

  /// Julia's `take!` unbuffered example: a created, then scheduled, fiber puts.
  @Test func takeFromScheduledPutter() throws {
    try withWatchdog { () throws in
      let c = Channel<Int>(capacity: 0)
      let task = Fiber { try c.put(1) }
      schedule(task)
      #expect(try c.take() == 1)
      try task.wait()
    }
  }

  @Test func fetchDoesNotRemove() throws {
    try withWatchdog { () throws in
      // Julia: c = Channel(3) do ch foreach(i -> put!(ch, i), 1:3) end; fetch(c); collect(c)
      let c = Channel<Int>(capacity: 3) { ch in for i in 1...3 { try ch.put(i) } }
      #expect(try c.fetch() == 1)
      #expect(try c.fetch() == 1)
      #expect(try c.collect() == [1, 2, 3])
    }
  }

  /// A fetch waiting on an empty channel sees the item a later put buffers.
  @Test func fetchWaitsForAnItem() throws {
    try withWatchdog { () throws in
      let c = Channel<Int>(capacity: 2)
      let fetched = spawn { try c.fetch() }
      let waited = spawn { try c.wait() }
      waitUntilParkedOrDone(fetched)
      try c.put(5)
      #expect(try fetched.fetch() == 5)
      try waited.wait()
      #expect(try c.take() == 5)
    }
  }

  @Test func descriptionShowsState() throws {
    let c = Channel<Int>(capacity: 2)
    try c.put(1)
    #expect(c.description == "Channel<Int>(capacity: 2, open, 1 item buffered)")
    c.close()
    #expect(c.description == "Channel<Int>(capacity: 2, closed, 1 item buffered)")
    #expect(Channel<Int>.unbounded().description == "Channel<Int>(unbounded, open, 0 items buffered)")
  }

  /// Items of any `Sendable` type, including existentials (Julia's `Channel{Any}`).
  @Test func producerConsumerFromTheManual() throws {
    try withWatchdog { () throws in
      let chnl = Channel<any Sendable>() { c in
        try c.put("start")
        for n in 1...4 { try c.put(2 * n) }
        try c.put("stop")
      }
      #expect(try chnl.take() as? String == "start")
      for n in 1...4 { #expect(try chnl.take() as? Int == 2 * n) }
      #expect(try chnl.take() as? String == "stop")
      #expect(throws: ChannelClosedError.self) { try chnl.take() }  // bound: closed when it ends
    }
  }
}

/// Polls (with yield) until `f` is parked or finished: orders "the fiber is blocked" before a
/// test's next step. Never sleeps.
func waitUntilParkedOrDone(_ f: AnyFiber) {
  while true {
    let s = f.stateDescription
    if s == "parked" || s == "done" { return }
    yield()
  }
}

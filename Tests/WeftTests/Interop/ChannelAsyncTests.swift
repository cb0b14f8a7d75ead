import Testing
@testable import Weft

/// Channels from async code: suspending put/take, AsyncSequence, mixed with fibers.
@Suite("Channels from async code")
struct ChannelAsyncTests {
  @Test func asyncPutThenAsyncTake() async throws {
    try await withAsyncWatchdog {
      let c = Channel<Int>(capacity: 2)
      try await c.put(1)
      try await c.put(2)
      #expect(try await c.take() == 1)
      #expect(try await c.take() == 2)
    }
  }

  /// An unbuffered put from a task suspends until a fiber takes it, and the reverse.
  @Test func unbufferedRendezvousBetweenTaskAndFiber() async throws {
    try await withAsyncWatchdog {
      let c = Channel<Int>(capacity: 0)
      let taker = spawn { try c.take() }
      try await c.put(5)
      #expect(try await taker.value == 5)
      let putter = spawn { try c.put(6) }
      #expect(try await c.take() == 6)
      try await putter.value
    }
  }

  @Test func asyncSequenceEndsAtCloseAndThrowsTheCloseError() async throws {
    try await withAsyncWatchdog {
      let c = Channel<Int>(capacity: 4)
      spawn { for i in 0..<3 { try c.put(i) }; c.close() }
      var got: [Int] = []
      for try await x in c { got.append(x) }
      #expect(got == [0, 1, 2])

      let d = Channel<Int>(capacity: 4)
      spawn { try d.put(1); d.close(error: Boom(tag: 2)) }
      var seen: [Int] = []
      await #expect(throws: Boom(tag: 2)) { for try await x in d { seen.append(x) } }
      #expect(seen == [1])
    }
  }

  @Test func closeErrorsReachAsyncPutAndTake() async throws {
    try await withAsyncWatchdog {
      let c = Channel<Int>(capacity: 0)
      let waiting = Task(executorPreference: Scheduler.shared) { try await c.take() }
      while !hasTaker(c) { await Task.yield() }
      c.close(error: Boom(tag: 5))
      await #expect(throws: Boom(tag: 5)) { try await waiting.value }
      await #expect(throws: Boom(tag: 5)) { try await c.put(1) }
      let plain = Channel<Int>(capacity: 1)
      plain.close()
      await #expect(throws: ChannelClosedError.self) { try await plain.put(1) }
      await #expect(throws: ChannelClosedError.self) { try await plain.take() }
    }
  }

  /// H2: a cancelled async take leaves the channel (no item taken), the next item goes on.
  @Test func cancellingAnAsyncTakeTakesNothing() async throws {
    try await withAsyncWatchdog {
      let c = Channel<Int>(capacity: 0)
      let waiting = Task(executorPreference: Scheduler.shared) { try await c.take() }
      while !hasTaker(c) { await Task.yield() }
      waiting.cancel()
      await #expect(throws: CancellationError.self) { try await waiting.value }
      let taker = spawn { try c.take() }
      try await c.put(9)
      #expect(try await taker.value == 9)
    }
  }

  @Test func asyncTakeTimesOut() async throws {
    try await withAsyncWatchdog {
      let c = Channel<Int>(capacity: 1)
      await #expect(throws: TimeoutError.self) { try await c.take(timeout: .milliseconds(2)) }
    }
  }

  /// Async and fiber producers and consumers on one channel under load: every item is
  /// received exactly once (ledger), whichever side put or took it.
  @Test(arguments: [0, 1, 64])
  func mixedProducersAndConsumersLoseNothing(capacity: Int) async throws {
    try await withAsyncWatchdog {
      let perProducer = underTSan ? 300 : 2_000
      let producers = 4, consumers = 4
      let total = perProducer * producers
      let c = Channel<Int>(capacity: capacity)
      let ledger = ItemLedger(count: total)
      let received = Counter()
      // Producers: two tasks, two fibers.
      var producerTasks: [Task<Void, any Error>] = []
      var producerFibers: [Fiber<Void>] = []
      for p in 0..<producers {
        let items = (p * perProducer)..<((p + 1) * perProducer)
        if p % 2 == 0 {
          producerTasks.append(Task(executorPreference: Scheduler.shared) { for i in items { try await c.put(i) } })
        } else {
          producerFibers.append(spawn { for i in items { try c.put(i) } })
        }
      }
      // Consumers: two tasks iterating asynchronously, two fibers iterating synchronously.
      var consumerTasks: [Task<Void, any Error>] = []
      var consumerFibers: [Fiber<Void>] = []
      for k in 0..<consumers {
        if k % 2 == 0 {
          consumerTasks.append(Task(executorPreference: Scheduler.shared) { for try await i in c { ledger.record(i); received.increment() } })
        } else {
          consumerFibers.append(spawn { try c.drain { i in ledger.record(i); received.increment() } })
        }
      }
      for t in producerTasks { try await t.value }
      for f in producerFibers { try await f.value }
      c.close()
      for t in consumerTasks { try await t.value }
      for f in consumerFibers { try await f.value }
      #expect(received.value == total)
      #expect(ledger.missing.isEmpty, "missing: \(ledger.missing.prefix(10))")
    }
  }
}

/// Whether a taker (an async take's helper fiber, or a fiber) waits on `c`.
func hasTaker<T>(_ c: Channel<T>) -> Bool {
  c.guts.lock()
  defer { c.guts.unlock() }
  return !c.core.pointee.takers.isEmpty
}

import Testing
@testable import Weft

/// Julia's `tskoid() = objectid(current_task())`.
@Sendable func tskoid() -> ObjectIdentifier { ObjectIdentifier(Fiber.current) }

/// Tracks how many calls run at once.
final class Concurrency: Sendable {
  private let state = Guarded<(now: Int, peak: Int, calls: Int)>((0, 0, 0))
  func enter() { state.withLock { $0.now += 1; $0.calls += 1; $0.peak = max($0.peak, $0.now) } }
  func leave() { state.withLock { $0.now -= 1 } }
  var now: Int { state.withLock { $0.now } }
  var peak: Int { state.withLock { $0.peak } }
  var calls: Int { state.withLock { $0.calls } }
}

@Suite("asyncMap")
struct AsyncMapTests {
  /// Reference: with ntasks unset, each of 5 elements is processed in a different fiber.
  @Test func defaultUsesOneFiberPerElementUpTo100() throws {
    try withWatchdog { () throws in
      let ids = try asyncMap(1...5) { _ in tskoid() }
      #expect(ids.count == 5)
      #expect(Set(ids).count == 5)
      let many = try asyncMap(0..<300) { _ in tskoid() }
      #expect(Set(many).count == 100)
    }
  }

  /// Reference: with ntasks=2, all elements are processed in 2 fibers.
  @Test func ntasksTwoUsesTwoFibers() throws {
    try withWatchdog { () throws in
      let ids = try asyncMap(1...5, ntasks: 2) { _ in tskoid() }
      #expect(ids.count == 5)
      #expect(Set(ids).count == 2)
    }
  }

  /// Reference: batch_size=2 with ntasks=2; the function maps a batch of argument tuples.
  @Test func batchModeFromTheReference() throws {
    try withWatchdog { () throws in
      @Sendable func batchFunc(_ input: [Int]) -> [String] {
        input.map { "args_tuple: (\($0),), element_val: \($0), task: \(tskoid().hashValue)" }
      }
      let out = try asyncMap(1...5, ntasks: 2, batchSize: 2, batchFunc)
      #expect(out.count == 5)
      var tasks: [String] = []
      for (i, s) in out.enumerated() {
        #expect(s.hasPrefix("args_tuple: (\(i + 1),), element_val: \(i + 1), task: "))
        tasks.append(String(s.split(separator: " ").last!))
      }
      #expect(Set(tasks).count == 2)
      #expect(tasks[0] == tasks[1] && tasks[2] == tasks[3])  // a batch runs in one fiber
      let sizes = Recorder<Int>()
      let flat = try asyncMap(0..<10, ntasks: 3, batchSize: 4) { b in sizes.append(b.count); return b.map { $0 * 2 } }
      #expect(flat == (0..<10).map { $0 * 2 })
      #expect(sizes.values.sorted() == [2, 4, 4])
    }
  }

  @Test func resultsComeInInputOrderAndConcurrencyIsBounded() throws {
    try withWatchdog { () throws in
      let c = Concurrency()
      let sticky = TestCounter()
      let out = try asyncMap(0..<200, ntasks: 7) { i -> Int in
        c.enter()
        defer { c.leave() }
        for _ in 0..<(i % 5) { yield() }
        if Fiber.current.sticky { sticky.increment() }
        return i * i
      }
      #expect(out == (0..<200).map { $0 * $0 })
      #expect(sticky.value == 0)  // the mapping fibers are migratable
      #expect(c.peak <= 7)
      #expect(c.calls == 200)
      #expect(c.now == 0)
    }
  }

  /// ntasks as a closure is read before every element; a larger value starts a new fiber.
  @Test func ntasksClosureIsReadBeforeEachElement() throws {
    try withWatchdog { () throws in
      var reads = 0
      let ids = try asyncMap(0..<30, ntasks: { reads += 1; return reads <= 10 ? 1 : (reads <= 20 ? 2 : 4) }) { _ -> ObjectIdentifier in
        yield()
        return tskoid()
      }
      #expect(reads == 30)
      #expect(Set(ids).count == 4)
      // A closure returning 0 or less still gets one fiber.
      let one = try asyncMap(0..<5, ntasks: { 0 }) { _ in tskoid() }
      #expect(Set(one).count == 1)
      var batchReads = 0
      let b = try asyncMap(0..<9, ntasks: { batchReads += 1; return 2 }, batchSize: 3) { $0.map { -$0 } }
      #expect(b == (0..<9).map { -$0 })
      #expect(batchReads == 3)
    }
  }

  @Test func twoCollectionsElementWise() throws {
    try withWatchdog { () throws in
      let out = try asyncMap([1, 2, 3], ["a", "b", "c"]) { n, s in "\(n)\(s)" }
      #expect(out == ["1a", "2b", "3c"])
      let sums = try asyncMap(0..<50, (100..<150).reversed(), ntasks: 4) { $0 + $1 }
      #expect(sums == [Int](repeating: 149, count: 50))
      let batched = try asyncMap([1, 2, 3, 4, 5], [10, 20, 30, 40, 50], batchSize: 2) { pairs in
        pairs.map { $0.0 * $0.1 }
      }
      #expect(batched == [10, 40, 90, 160, 250])
      let dyn = try asyncMap([1, 2], [3, 4], ntasks: { 2 }) { $0 * $1 }
      #expect(dyn == [3, 8])
      let dynBatch = try asyncMap([1, 2, 3], [3, 4, 5], ntasks: { 2 }, batchSize: 2) { $0.map { $0.0 + $0.1 } }
      #expect(dynBatch == [4, 6, 8])
    }
  }

  @Test func unequalLengthsAreAnError() throws {
    #expect(throws: ArgumentError.self) { try asyncMap([1, 2, 3], [1, 2]) { $0 + $1 } }
    #expect(throws: ArgumentError.self) { try asyncMap([1], [1, 2], batchSize: 1) { $0.map { $0.0 } } }
    var r = [0, 0]
    #expect(throws: ArgumentError.self) { try asyncMap(into: &r, [1, 2], [1]) { $0 + $1 } }
  }

  @Test func badArgumentsAreErrors() throws {
    #expect(throws: ArgumentError.self) { try asyncMap([1, 2], ntasks: -1) { $0 } }
    #expect(throws: ArgumentError.self) { try asyncMap([1, 2], batchSize: 0) { $0 } }
    #expect(throws: ArgumentError.self) { try asyncMap([1, 2], ntasks: { 1 }, batchSize: -2) { $0 } }
    // A batch function must return one result per element.
    #expect(throws: ArgumentError.self) { try asyncMap([1, 2, 3], batchSize: 2) { Array($0.dropFirst()) } }
  }

  @Test func emptyInput() throws {
    #expect(try asyncMap([Int]()) { $0 }.isEmpty)
    #expect(try asyncMap([Int](), batchSize: 3) { $0 }.isEmpty)
  }

  /// The first error is thrown after the other fibers stop; with one fiber it is the first
  /// failing element, and nothing after it runs.
  @Test func firstErrorIsThrownAfterTheOthersStop() throws {
    try withWatchdog { () throws in
      let c = Concurrency()
      #expect(throws: TestError("3")) {
        try asyncMap(0..<10, ntasks: 1) { i -> Int in
          c.enter(); defer { c.leave() }
          if i >= 3 { throw TestError("\(i)") }
          return i
        }
      }
      #expect(c.calls == 4)

      let busy = Concurrency()
      do {
        _ = try asyncMap(0..<1000, ntasks: 8) { i -> Int in
          busy.enter(); defer { busy.leave() }
          for _ in 0..<3 { yield() }
          if i == 40 || i == 41 { throw TestError("fail") }
          return i
        }
        Issue.record("asyncMap did not throw")
      } catch let e as TestError {
        #expect(e == TestError("fail"))
      }
      #expect(busy.now == 0)  // every fiber had stopped before the error was thrown
      #expect(busy.calls < 1000)
    }
  }

  @Test func intoWritesTheResults() throws {
    try withWatchdog { () throws in
      var r = [Int](repeating: 0, count: 7)
      try asyncMap(into: &r, 1...5) { $0 * 2 }
      #expect(r == [2, 4, 6, 8, 10, 0, 0])
      try asyncMap(into: &r, 1...7, ntasks: { 3 }) { $0 }
      #expect(r == [1, 2, 3, 4, 5, 6, 7])
      try asyncMap(into: &r, 0..<7, batchSize: 3) { $0.map { $0 * 10 } }
      #expect(r == [0, 10, 20, 30, 40, 50, 60])
      var s = ["", "", ""]
      try asyncMap(into: &s, ["a", "b", "c"], [1, 2, 3], ntasks: 2) { "\($0)\($1)" }
      #expect(s == ["a1", "b2", "c3"])
      var short = [0]
      #expect(throws: ArgumentError.self) { try asyncMap(into: &short, [1, 2]) { $0 } }
    }
  }

  /// Called from a fiber (sticky or not) and from inside another asyncMap.
  @Test func fromFibersAndNested() throws {
    try withWatchdog { () throws in
      let out = try spawn { try asyncMap(0..<50, ntasks: 5) { $0 + 1 } }.fetch()
      #expect(out == Array(1...50))
      let sticky = try spawn(sticky: true) { try asyncMap(0..<50, ntasks: 5) { $0 - 1 } }.fetch()
      #expect(sticky == Array(-1..<49))
      let nested = try asyncMap(0..<10, ntasks: 3) { i in try asyncMap(0..<10, ntasks: 2) { i * 10 + $0 }.reduce(0, +) }
      #expect(nested == (0..<10).map { i in (0..<10).reduce(0) { $0 + i * 10 + $1 } })
    }
  }

  /// Many elements with sleeping work (the workload is the sleep), 100 fibers at a time.
  @Test func sleepingWorkOverlaps() throws {
    try withWatchdog { () throws in
      let out = try asyncMap(0..<200, ntasks: 100) { i -> Int in try sleep(seconds: 0.002); return 2 * i }
      #expect(out == (0..<200).map { 2 * $0 })
    }
  }

  // MARK: Any sequence, a Channel included

  /// Sequences that are not collections (no count up front): results in input order, across
  /// several result segments (1024, 2048, 4096, … slots), element-wise and in batches.
  @Test func anySequenceInInputOrder() throws {
    try withWatchdog { () throws in
      let strided = try asyncMap(stride(from: 0, to: 30, by: 3), ntasks: 4) { $0 + 1 }
      #expect(strided == [1, 4, 7, 10, 13, 16, 19, 22, 25, 28])
      let n = 10_000  // segments 0 to 3
      var k = 0
      let generated = AnyIterator { () -> Int? in defer { k += 1 }; return k < n ? k : nil }
      let c = Concurrency()
      let squares = try asyncMap(generated, ntasks: 7) { i -> Int in
        c.enter(); defer { c.leave() }
        if i % 100 == 0 { yield() }
        return i * i
      }
      #expect(squares == (0..<n).map { $0 * $0 })
      #expect(c.peak <= 7)
      let fibers = try asyncMap(sequence(first: 1) { $0 < 5 ? $0 + 1 : nil }) { _ in tskoid() }
      #expect(Set(fibers).count == 5)  // one fiber per element, as for a collection
      let limited = try asyncMap(stride(from: 0, to: 50, by: 1), ntasks: { 3 }) { _ in tskoid() }
      #expect(Set(limited).count == 3)
      let sizes = Recorder<Int>()
      let batched = try asyncMap(stride(from: 0, to: 5_000, by: 1), ntasks: 3, batchSize: 999) { b -> [Int] in
        sizes.append(b.count)
        return b.map { -$0 }
      }
      #expect(batched == (0..<5_000).map { -$0 })
      #expect(sizes.values.sorted() == [5, 999, 999, 999, 999, 999])
      let batchedLimit = try asyncMap(stride(from: 0, to: 10, by: 1), ntasks: { 2 }, batchSize: 4) { $0.map { $0 * 3 } }
      #expect(batchedLimit == (0..<10).map { $0 * 3 })
      #expect(try asyncMap(stride(from: 0, to: 0, by: 1)) { $0 }.isEmpty)
      #expect(throws: ArgumentError.self) { try asyncMap(stride(from: 0, to: 3, by: 1), ntasks: -1) { $0 } }
      #expect(throws: ArgumentError.self) { try asyncMap(stride(from: 0, to: 3, by: 1), batchSize: 0) { $0 } }
    }
  }

  /// Julia's asyncmap over a channel: a producer fiber feeds it and closes it; the mapping
  /// ends once it is closed and drained, with the results in the order the items were put.
  @Test func channelFedByAProducerThatCloses() throws {
    try withWatchdog { () throws in
      let n = 3_000
      let ch = Channel<Int>(capacity: 16)
      let producer = spawn {
        for i in 0..<n { try ch.put(i) }
        ch.close()
      }
      let out = try asyncMap(ch, ntasks: 5) { i -> Int in
        if i % 50 == 0 { yield() }
        return 2 * i
      }
      try producer.wait()
      #expect(out == (0..<n).map { 2 * $0 })
      // Unbuffered, bound to its producer, in batches.
      let bound = Channel<String>(spawn: true) { ch in for s in ["a", "b", "c", "d", "e"] { try ch.put(s) } }
      let upper = try asyncMap(bound, ntasks: 2, batchSize: 2) { $0.map { $0.uppercased() } }
      #expect(upper == ["A", "B", "C", "D", "E"])
    }
  }

  /// A channel closed with an error: every item is mapped, then that error is thrown (as
  /// Channel.collect() does); a failed bound producer's TaskFailedError likewise; an error
  /// thrown by the function comes first.
  @Test func channelClosedWithAnErrorThrowsItAfterDraining() throws {
    try withWatchdog { () throws in
      let ch = Channel<Int>(capacity: 4)
      let mapped = Counter()
      let producer = spawn {
        for i in 0..<20 { try ch.put(i) }
        ch.close(error: Boom(tag: 2))
      }
      #expect(throws: Boom(tag: 2)) {
        try asyncMap(ch, ntasks: 3) { i -> Int in mapped.increment(); return i }
      }
      try producer.wait()
      #expect(mapped.value == 20)

      let failing = Channel<Int>(spawn: true) { ch in
        try ch.put(1)
        throw Boom(tag: 3)
      }
      do {
        _ = try asyncMap(failing, batchSize: 2) { $0 }
        Issue.record("asyncMap over a failed bound channel did not throw")
      } catch let e as TaskFailedError {
        #expect((e.underlying as? Boom)?.tag == 3)
      }

      let both = Channel<Int>.unbounded()
      for i in 0..<10 { try both.put(i) }
      both.close(error: Boom(tag: 2))
      #expect(throws: Boom(tag: 1)) {
        try asyncMap(both, ntasks: 2) { i -> Int in if i == 3 { throw Boom(tag: 1) }; return i }
      }
    }
  }

}

import Testing
@testable import Weft

@Suite("Channel as a lock")
struct ChannelLockTests {
  @Test func lockUnlockTryLockIsLocked() throws {
    try withWatchdog { () throws in
      let c = Channel<Int>(capacity: 1)
      #expect(!c.isLocked)
      c.lock()
      #expect(c.isLocked)
      #expect(c.tryLock())  // re-entrant for the holder
      c.unlock()
      #expect(c.isLocked)
      let other = spawn { c.tryLock() }
      #expect(try other.fetch() == false)  // another fiber cannot take it
      c.unlock()
      #expect(!c.isLocked)
      let again = spawn { () -> Bool in
        guard c.tryLock() else { return false }
        c.unlock()
        return true
      }
      #expect(try again.fetch())
    }
  }

  /// `withLock` gives mutual exclusion among fibers that lock the channel.
  @Test func withLockIsMutuallyExclusive() throws {
    try withWatchdog { () throws in
      let c = Channel<Int>(capacity: 1)
      let inside = TestCounter(), overlaps = TestCounter(), total = TestCounter()
      let fibers = (0..<8).map { _ in
        spawn {
          for _ in 0..<200 {
            c.withLock {
              if inside.increment() != 1 { overlaps.increment() }
              yield()
              total.increment()
              inside.decrement()
            }
          }
        }
      }
      for f in fibers { try f.wait() }
      #expect(overlaps.value == 0)
      #expect(total.value == 1600)
    }
  }

  /// Holding the channel's lock does not block put/take (they use the internal lock), and
  /// producers that all lock keep their batches contiguous.
  @Test func lockIsIndependentOfPutAndTake() throws {
    try withWatchdog { () throws in
      let c = Channel<Int>(capacity: 2)
      try c.withLock {
        try c.put(1)
        let taker = spawn { try c.take() }  // not blocked by the lock we hold
        #expect(try taker.fetch() == 1)
        #expect(c.isLocked)
      }
      let out = Channel<Int>(capacity: 3)  // small: batched puts block while holding the lock
      let producers = (0..<6).map { p in
        spawn { try out.withLock { for k in 0..<5 { try out.put(p * 10 + k) } } }
      }
      let closer = spawn { for f in producers { try f.wait() }; out.close() }
      let items = try out.collect()
      try closer.wait()
      #expect(items.count == 30)
      for batch in stride(from: 0, to: 30, by: 5) {
        let p = items[batch] / 10
        #expect(Array(items[batch..<batch + 5]) == (0..<5).map { p * 10 + $0 })
      }
    }
  }

  @Test func unlockWithoutHoldingIsMisuse() async {
    let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
      Channel<Int>(capacity: 1).unlock()
    }
    let text = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
    #expect(text.contains("Weft misuse:"))
  }
}

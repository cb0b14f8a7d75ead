import Foundation
import Testing
@testable import Weft

/// Multiplies the sizes of the stress tests (`WEFT_STRESS_SCALE=0.1` for a quick run,
/// `10` for a long one). Default 1: 10,000 producers and 10,000 consumers.
let stressScale: Double = {
  if let s = ProcessInfo.processInfo.environment["WEFT_STRESS_SCALE"], let v = Double(s), v > 0 { return v }
  return 1
}()

func scaled(_ n: Int) -> Int { max(1, Int(Double(n) * stressScale)) }

/// Counts every item put and every item taken; traps on a double take and lists what is
/// missing (put but never taken) or phantom (taken but whose put failed or never happened).
final class Ledger: @unchecked Sendable {
  // SAFETY: both blocks are touched only through atomic operations; freed in deinit.
  private let puts: AtomicBlock
  private let takes: AtomicBlock
  let size: Int

  init(size: Int) {
    self.size = size
    puts = AtomicBlock(count: size)
    takes = AtomicBlock(count: size)
  }

  deinit { puts.deallocate(); takes.deallocate() }

  func recordPut(_ item: Int) { puts[item].fetchAddFull(1) }

  func recordTake(_ item: Int) {
    let before = takes[item].fetchAddFull(1)
    precondition(before == 0, "ledger: item \(item) was taken twice")
  }

  var putCount: Int { (0..<size).reduce(0) { $0 + Int(puts[$1].loadAcquire()) } }
  var takeCount: Int { (0..<size).reduce(0) { $0 + Int(takes[$1].loadAcquire()) } }

  /// Items whose put succeeded but which nobody took.
  var missing: [Int] { (0..<size).filter { puts[$0].loadAcquire() == 1 && takes[$0].loadAcquire() == 0 } }
  /// Items taken although no put of them succeeded.
  var phantom: [Int] { (0..<size).filter { puts[$0].loadAcquire() == 0 && takes[$0].loadAcquire() != 0 } }
}

/// True when the tests run under ThreadSanitizer (it then hands out fiber handles).
let underThreadSanitizer = Context.currentTSanFiber() != nil

/// The scheduler the stress tests run on: one for the whole suite, never shut down, so that
/// its stacks are reused from test to test (a scheduler's stacks are not unmapped when it shuts
/// down). Under ThreadSanitizer every fiber also costs TSan mappings of its own, so fewer
/// stacks get guard pages (two mappings each) to stay under vm.max_map_count with 20,000 live
/// fibers; the rest come from slabs.
let stressScheduler = Scheduler(threads: max(2, Scheduler.cpuCount), interactiveThreads: 0, stackSize: nil,
                                guardedStackLimit: underThreadSanitizer ? 4_000 : 20_000)

/// Runs `body` on a fiber of `stressScheduler`, under a watchdog, and returns its result.
func onStressScheduler<R>(_ what: String = #function, _ body: @escaping @Sendable () throws -> R) throws -> R {
  try withWatchdog(180, what, scheduler: stressScheduler) { try stressScheduler.spawn(body).fetch() }
}

/// Serialized: each test has up to 20,000 live fibers; running them side by side would only
/// multiply the memory.
@Suite("Channel stress", .serialized)
struct ChannelStressTests {
  static let capacities = [0, 1, 32, Int.max]

  /// 10,000 producers each put 3 items, 10,000 consumers take until the channel is closed
  /// and drained; every item is delivered exactly once.
  @Test(arguments: capacities)
  func manyProducersManyConsumers(capacity: Int) throws {
    let producers = scaled(10_000), consumers = scaled(10_000), perProducer = 3
    let ledger = Ledger(size: producers * perProducer)
    try onStressScheduler { () throws in
      let c = Channel<Int>(capacity: capacity)
      let consumerFibers = (0..<consumers).map { k in
        spawn(sticky: k % 4 == 0) { for item in c { ledger.recordTake(item) } }
      }
      let producerFibers = (0..<producers).map { p in
        spawn(sticky: p % 4 == 1) { for k in 0..<perProducer { try c.put(p * perProducer + k); ledger.recordPut(p * perProducer + k) } }
      }
      for f in producerFibers { try f.wait() }
      c.close()
      for f in consumerFibers { try f.wait() }
    }
    #expect(ledger.missing == [])
    #expect(ledger.phantom == [])
    #expect(ledger.takeCount == producers * perProducer)
  }

  /// Close while producers and consumers are busy: exactly the items whose put succeeded are
  /// taken (buffered ones are drained after the close); failed puts deliver nothing.
  @Test(arguments: capacities)
  func closeInTheMiddleOfTraffic(capacity: Int) throws {
    let producers = scaled(2_000), consumers = scaled(2_000), perProducer = 50
    let ledger = Ledger(size: producers * perProducer)
    let taken = TestCounter()
    let failedPuts = TestCounter()
    try onStressScheduler { () throws in
      let c = Channel<Int>(capacity: capacity)
      let closeAfter = producers * perProducer / 3
      let consumerFibers = (0..<consumers).map { k in
        spawn(sticky: k % 3 == 0) {
          for item in c {
            ledger.recordTake(item)
            if taken.increment() == closeAfter { c.close() }
          }
        }
      }
      let producerFibers = (0..<producers).map { p in
        spawn(sticky: p % 3 == 1) {
          for k in 0..<perProducer {
            do { try c.put(p * perProducer + k) } catch { failedPuts.increment(); return }
            ledger.recordPut(p * perProducer + k)
          }
        }
      }
      for f in producerFibers { try f.wait() }
      c.close()  // in case the threshold was not reached (cannot happen with these sizes)
      for f in consumerFibers { try f.wait() }
    }
    #expect(ledger.missing == [])
    #expect(ledger.phantom == [])
    #expect(ledger.takeCount == ledger.putCount)
    #expect(taken.value >= producers * perProducer / 3)
    #expect(failedPuts.value > 0)
  }

  /// Foundation threads and fibers as producers and consumers of the same channels.
  @Test(arguments: [0, 4, Int.max])
  func threadsAndFibersTogether(capacity: Int) throws {
    let threadProducers = 4, fiberProducers = scaled(200), perProducer = scaled(500)
    let producers = threadProducers + fiberProducers
    let ledger = Ledger(size: producers * perProducer)
    try onStressScheduler { () throws in
      let c = Channel<Int>(capacity: capacity)
      let finished = Channel<Void>(capacity: .max)  // threads report their end here
      @Sendable func produce(_ p: Int) throws {
        for k in 0..<perProducer { try c.put(p * perProducer + k); ledger.recordPut(p * perProducer + k) }
      }
      @Sendable func consume() { for item in c { ledger.recordTake(item) } }
      for p in 0..<threadProducers {
        Thread { try? produce(p); try? finished.put(()) }.start()
      }
      for _ in 0..<4 {
        Thread { consume(); try? finished.put(()) }.start()
      }
      let fibers = (threadProducers..<producers).map { p in spawn { try produce(p) } }
      let consumerFibers = (0..<scaled(200)).map { _ in spawn { consume() } }
      for f in fibers { try f.wait() }
      for _ in 0..<threadProducers { try finished.take() }
      c.close()
      for f in consumerFibers { try f.wait() }
      for _ in 0..<4 { try finished.take() }
    }
    #expect(ledger.missing == [])
    #expect(ledger.phantom == [])
    #expect(ledger.takeCount == producers * perProducer)
  }

  /// With one consumer, each producer's items arrive in the order it put them (FIFO).
  @Test(arguments: capacities)
  func perProducerOrderIsKept(capacity: Int) throws {
    let producers = 64, perProducer = scaled(300)
    let (outOfOrder, next) = try onStressScheduler { () throws -> (Int, [Int]) in
      let c = Channel<(Int, Int)>(capacity: capacity)
      let fibers = (0..<producers).map { p in spawn { for k in 0..<perProducer { try c.put((p, k)) } } }
      let closer = spawn { for f in fibers { try f.wait() }; c.close() }
      var next = [Int](repeating: 0, count: producers)
      var outOfOrder = 0
      for (p, k) in c {
        if k != next[p] { outOfOrder += 1 }
        next[p] = k + 1
      }
      try closer.wait()
      return (outOfOrder, next)
    }
    #expect(outOfOrder == 0)
    #expect(next == [Int](repeating: perProducer, count: producers))
  }

  /// Many fibers blocked in `wait()` and `fetch()` are all released by puts and by close.
  @Test func manyReadinessWaiters() throws {
    let n = scaled(1000)
    let (released, closedOut) = try onStressScheduler { () throws -> ([Int], [Bool]) in
      let c = Channel<Int>(capacity: 1)
      let waiters = (0..<n).map { i in
        spawn { () -> Int in
          if i % 2 == 0 { try c.wait(); return -1 }
          return try c.fetch()
        }
      }
      let closers = Channel<Int>(capacity: 1)
      let waitersOnClose = (0..<n).map { _ in spawn { () -> Bool in
        do { try closers.wait(); return false } catch { return true }
      } }
      try c.put(9)
      let released = try waiters.map { try $0.fetch() }
      closers.close()
      return (released, try waitersOnClose.map { try $0.fetch() })
    }
    #expect(released == (0..<n).map { $0 % 2 == 0 ? -1 : 9 })
    #expect(closedOut == [Bool](repeating: true, count: n))
  }
}

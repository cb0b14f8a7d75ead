import Foundation
#if canImport(Glibc)
import Glibc
#endif
@testable import Weft

// Conservation for the lock-free structure tests (STYLE.md habit 11): fibers created without
// being started (`Fiber { }`), one atomic slot per fiber, keyed by the fiber's id. A double
// take traps at once (it would also be a double release of the queue's retain, D3/M2);
// what was never taken is listed at the end.

final class FiberLedger: @unchecked Sendable {
  // SAFETY: `fibers` and `positions` are written in init only (before any thread sees the
  // ledger) and read-only afterwards; `slots` is only accessed atomically.
  let fibers: [AnyFiber]
  private let positions: [UInt64: Int]
  private let slots: AtomicBlock

  /// `count` fresh, never-started fibers; `fibers[i]` is "item i" (its position).
  init(count: Int, sticky: Bool = false) {
    fibers = (0..<count).map { _ in Fiber<Void>(sticky: sticky) {} }
    positions = Dictionary(uniqueKeysWithValues: fibers.enumerated().map { ($1.id, $0) })
    slots = AtomicBlock(count: max(count, 1))
  }

  deinit { slots.deallocate() }

  var count: Int { fibers.count }

  /// The position of `f` in `fibers`; traps for a fiber that is not from this ledger.
  func position(of f: AnyFiber) -> Int {
    guard let i = positions[f.id] else { fatalError("LEDGER: fiber \(f.id) was never put in") }
    return i
  }

  /// Records that `f` was taken (any thread); returns its position. Traps on a second take.
  @discardableResult
  func take(_ f: AnyFiber) -> Int {
    let i = position(of: f)
    let before = slots[i].fetchAddFull(1)
    if before != 0 { fatalError("LEDGER: item \(i) (fiber \(f.id)) taken \(before + 1) times") }
    return i
  }

  /// How many times item `i` was taken so far (0 or 1).
  func takes(of i: Int) -> Int { Int(slots[i].loadAcquire()) }

  /// Items never taken, in order.
  var missing: [Int] { (0..<count).filter { slots[$0].loadAcquire() == 0 } }

  /// "" when every item was taken exactly once, else a description of what is missing.
  var problems: String {
    let m = missing
    return m.isEmpty ? "" : "\(m.count) of \(count) items never taken; first: \(Array(m.prefix(12)))"
  }
}

/// Runs `body(i)` for every `i` in `0..<count`, each on its own new OS thread (not a Weft
/// worker), released together by a start gate; returns when all have returned.
func onThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
  let ready = Counter()
  let go = Counter()
  let finished = DispatchGroup()
  for i in 0..<count {
    finished.enter()
    let thread = Thread {
      ready.increment()
      go.spinYielding { $0 != 0 }
      body(i)
      finished.leave()
    }
    thread.stackSize = 1 << 20
    thread.start()
  }
  ready.spinYielding { $0 >= count }
  go.store(1)
  finished.wait()
}

extension Counter {
  /// Spins until `value` satisfies `condition`, giving the CPU away (sched_yield, not a sleep)
  /// every 64 tries: the lock-free stress tests run more spinning threads than there are
  /// cores, and a handshake must not wait for a time slice to end. Bounded by the watchdog.
  func spinYielding(until condition: (Int) -> Bool) {
    var tries = 0
    while !condition(value) { backOff(&tries) }
  }
}

/// One step of a failed spin: a CPU hint, and every 64th time sched_yield.
@inline(__always)
func backOff(_ tries: inout Int) {
  tries &+= 1
  if tries & 63 == 0 { sched_yield() } else { cpuRelax() }
}

/// A random pause of 0 to about 2,000 spin hints (never a sleep), to shift interleavings.
@inline(__always)
func dawdle(_ rng: inout SplitMix) {
  let x = rng.next()
  switch x % 4 {
  case 0, 1: return
  case 2: for _ in 0..<(x >> 8) % 64 { cpuRelax() }
  default: for _ in 0..<(x >> 8) % 2048 { cpuRelax() }
  }
}

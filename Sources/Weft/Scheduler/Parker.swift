/// Puts one OS thread (a worker) to sleep on a futex until another thread unparks it.
///
/// States: 0 empty, 1 parked, 2 notified. The protocol of Rust's futex-based thread parker:
/// - P1: `unpark` before `park` leaves `notified`, and that `park` returns at once: no lost
///   wake-up.
/// - P2: `unpark` calls futex_wake only when it replaced `parked`.
final class Parker: @unchecked Sendable {
  private let block = AtomicBlock(cacheAlignedCount: 1)  // one worker's: a line of its own
  private var word: AtomicWord { block[0] }
  static let empty: UInt = 0, parked: UInt = 1, notified: UInt = 2

  deinit { block.deallocate() }

  /// Sleeps until unparked, or until `timeoutNanoseconds` passed (< 0: no timeout).
  func park(timeoutNanoseconds: Int64 = -1) {
    // Full CAS: pairs with unpark's exchange (P1).
    if word.compareExchangeFull(Parker.notified, Parker.empty) { return }
    if !word.compareExchangeFull(Parker.empty, Parker.parked) {
      word.storeRelease(Parker.empty)  // it was notified in between
      return
    }
    let deadline = timeoutNanoseconds >= 0 ? monotonicNanoseconds() &+ UInt64(timeoutNanoseconds) : UInt64.max
    while true {
      var remaining: Int64 = -1
      if deadline != UInt64.max {
        let now = monotonicNanoseconds()
        if now >= deadline {
          // Timed out: leave `parked` unless an unpark raced in (then consume it).
          if word.compareExchangeFull(Parker.parked, Parker.empty) { return }
          word.storeRelease(Parker.empty)
          return
        }
        remaining = Int64(deadline - now)
      }
      word.futexWait(expected: Parker.parked, timeoutNanoseconds: remaining)
      if word.compareExchangeFull(Parker.notified, Parker.empty) { return }
    }
  }

  func unpark() {
    // Full exchange: pairs with park's CASes (P1); wake only a sleeper (P2).
    if word.exchangeFull(Parker.notified) == Parker.parked { word.futexWake(1) }
  }
}

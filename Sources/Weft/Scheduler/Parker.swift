/// Puts one OS thread (a worker) to sleep on a futex until another thread unparks it.
///
/// States: 0 empty, 1 parked, 2 notified, 3 polling. The protocol of Rust's futex-based
/// thread parker:
/// - P1: `unpark` before `park` leaves `notified`, and that `park` returns at once: no lost
///   wake-up.
/// - P2: `unpark` calls futex_wake only when it replaced `parked`.
/// - P3 (I/O, Docs/Reactor.md): a worker that holds the reactor's blocking-poller role parks
///   in the reactor's wait instead of on the futex (`parkPolling`, state `polling`); an
///   `unpark` that replaces `polling` signals the reactor's eventfd (word 1), which makes that
///   wait return. Same P1: an unpark before the wait leaves `notified` and the wait is skipped.
final class Parker: @unchecked Sendable {
  private let block = AtomicBlock(cacheAlignedCount: 2)  // 0: state, 1: the eventfd to signal while polling (P3); one worker's: a line of its own
  private var word: AtomicWord { block[0] }
  static let empty: UInt = 0, parked: UInt = 1, notified: UInt = 2, polling: UInt = 3

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

  /// P3: like `park`, but sleeps in `wait` (the reactor's blocking wait, given the timeout),
  /// which an `unpark` interrupts by signalling `interruptFD`.
  func parkPolling(timeoutNanoseconds: Int64, interruptFD: Int32, _ wait: (Int64) -> Void) {
    // Release: pairs with unpark's full exchange, which reads word 1 after seeing `polling`.
    block[1].storeRelease(UInt(bitPattern: Int(interruptFD)))
    // Full CAS: pairs with unpark's exchange (P1).
    if word.compareExchangeFull(Parker.notified, Parker.empty) { return }
    if !word.compareExchangeFull(Parker.empty, Parker.polling) {
      word.storeRelease(Parker.empty)  // it was notified in between
      return
    }
    wait(timeoutNanoseconds)
    // Consumes a notification that came during the wait (its eventfd signal, if not yet read,
    // only makes a later poll return early once).
    _ = word.exchangeFull(Parker.empty)
  }

  func unpark() {
    // Full exchange: pairs with park's CASes (P1); wake only a sleeper (P2), or interrupt a
    // polling one (P3).
    switch word.exchangeFull(Parker.notified) {
    case Parker.parked: word.futexWake(1)
    case Parker.polling: reactorSignal(Int32(truncatingIfNeeded: Int(bitPattern: block[1].loadAcquire())))
    default: break
    }
  }
}

// Event: Julia's level-triggered `Event([autoreset])` (base/lock.jl).
//
// Algorithm: one atomic `flag` word (set or not) plus a `WaitQueue`, as in Julia. `wait` returns at once
// when the event is set (autoreset: consumes it with one CAS); otherwise it re-checks under
// the queue lock and registers. `notify` takes the queue lock: without autoreset it sets the
// word and takes every waiter; with autoreset it hands the notification to the first waiter
// directly, and sets the word only when nobody waits.
//
// Invariants:
// - E1: `flag` changes 0 → 1 only under the queue lock (notify); waiters register only under
//   the queue lock after seeing 0 there. So a notify either finds the waiter registered or
//   the waiter sees 1: no lost wake-up.
// - E2: without autoreset, `flag` = 1 ⇒ no waiter is registered (notify took them all with the
//   same lock hold), until `reset()`.
// - E3: with autoreset, `flag` = 1 ⇒ no waiter is registered: notify hands the notification
//   to a waiter instead of setting the word when one waits, so each notify releases at most
//   one waiter, and a waiter consumes `flag` with a CAS 1 → 0 (only one can win).
// - E4: ordering: notify's release (the store of 1, or the queue unlock before the wake)
//   pairs with wait's acquire (the load/CAS of 1, or the fiber resuming after the wake).
//
// | field (word) | written by                                  | read by                   |
// |--------------|---------------------------------------------|---------------------------|
// | flag (0)     | notify (under queue lock), reset, autoreset waiters (CAS) | wait, isSet |
// | waiters      | queue-lock holders                          | queue-lock holders        |

/// Julia's `Event`: a level-triggered event that fibers (and threads) wait for.
///
/// - **Triggering:** level: after `notify()` the event stays set and `wait()` returns at once,
///   until `reset()`. With `autoreset: true`, each `notify()` releases at most one waiter (or,
///   with none waiting, the next `wait()`), and that release resets the event.
/// - **Memory ordering:** acquire/release: what the notifier did before `notify()` is visible
///   to the fiber after its `wait()` returns.
/// - **Blocks:** `wait()` parks the calling fiber (never its worker) or, off the workers, the
///   calling thread.
/// - **Errors:** an event cannot be closed or fail; `wait` throws `TimeoutError`, or the error
///   of an interruption or cancellation.
/// - **Julia:** `Event(autoreset=false)`, `wait`, `notify`, `reset`. Weft adds `isSet` and
///   `wait(timeout:)`.
public final class Event: @unchecked Sendable {
  // SAFETY (for @unchecked Sendable): `flag` is atomic; the list is guarded by the queue lock.
  let queue = WaitQueue(stateWords: 1)
  @inline(__always) private var flag: AtomicWord { queue.stateWord(0) }
  /// Whether each `notify()` releases at most one waiter and is consumed by it.
  public let autoreset: Bool

  /// Creates an event that is not set.
  /// - Parameter autoreset: true: each `notify()` releases at most one `wait()`.
  public init(autoreset: Bool = false) {
    self.autoreset = autoreset
  }

  /// Whether the event is set now (a snapshot).
  public var isSet: Bool { flag.loadAcquire() != 0 }

  /// Julia's `wait(e)`: returns at once if the event is set (consuming it with autoreset),
  /// otherwise blocks until `notify()`.
  /// - Parameter timeout: give up after this long (nil: wait for ever).
  /// - Throws: `TimeoutError`; the error of an interruption (`schedule(_:error:)`), or
  ///   `CancellationError` after `cancel()` (then the event is not consumed).
  @inline(__always)
  public func wait(timeout: Duration? = nil) throws {
    if let timeout { try checkTimeout(timeout, "Event.wait") }
    if tryConsume() { return }
    try waitSlow(timeout)
  }

  /// Julia's `notify(e)`: sets the event and releases every waiter; with autoreset, releases
  /// the first waiter only, or, if none waits, leaves the event set for the next `wait()`.
  public func notify() {
    if !autoreset && flag.loadAcquire() != 0 { return }  // E2: already set, nobody waits
    queue.lock()
    if autoreset {
      if let f = queue.dequeue() {  // E3: hand the notification to one waiter
        queue.unlock()
        f.wake()
        return
      }
      flag.storeRelease(1)  // E4: pairs with the waiter's acquire CAS
      queue.unlock()
      return
    }
    if flag.loadRelaxed() != 0 { queue.unlock(); return }
    flag.storeRelease(1)  // E4: pairs with the waiter's acquire load
    var all = queue.dequeueAll()  // E2
    queue.unlock()
    WaitQueue.wakeAll(&all)
  }

  /// Julia's `reset(e)`: un-sets the event; later `wait()`s block until the next `notify()`.
  public func reset() {
    flag.storeRelease(0)
  }

  /// How many fibers wait now (for tests and dumps).
  var waiterCount: Int {
    queue.lock()
    defer { queue.unlock() }
    return queue.count
  }

  @inline(__always)
  private func tryConsume() -> Bool {
    // Acquire (load or CAS): pairs with notify's release store (E4).
    if autoreset { return flag.compareExchangeAcquire(1, 0) }
    return flag.loadAcquire() != 0
  }

  @inline(never)
  private func waitSlow(_ timeout: Duration?) throws {
    let due = timeout.map(deadline(after:))
    try AnyFiber.withCurrentContext { me in
      queue.lock()
      if tryConsume() { queue.unlock(); return }  // E1
      // Woken only by a notify that took us from the queue (E2, E3) or by an interrupter.
      if let i = queue.parkUnlocking(me, reason: "Event.wait", deadline: due) {
        throw i.error("Event.wait", timeout: timeout)
      }
    }
  }
}

/// An intrusive FIFO list of waiting fibers, linked through `AnyFiber.waitNextRaw`.
///
/// Not thread-safe: its owner guards it with a lock. A fiber is in at most one waiter list at
/// a time (it waits for one thing at a time), so the single link suffices.
///
/// Links are uncounted fiber addresses (FiberRef O2: a fiber in a wait list is blocked in
/// that wait, so alive), so appending, popping and relinking count nothing (strong links cost
/// ~9 retain/release pairs per append in the event ping-pong profile).
/// - L1: `count` is the number of members; `headRaw == 0` exactly when it is 0.
/// - L2: the members move with the list value (`takeAll` empties the source); a list is
///   emptied before it is dropped, or its members' waits would never end.
/// - L3: a member's link is never 0: the last member's is `end` (1, never an address), so
///   `waitNextRaw != 0` exactly while a fiber is in some list, and appending a fiber that is
///   already in one ("already in a wait list") is caught.
struct WaiterList {
  /// The link of the last member (L3).
  static let end: UInt = 1

  private var headRaw: UInt = 0
  private var tailRaw: UInt = 0
  private(set) var count = 0

  var isEmpty: Bool { headRaw == 0 }

  /// The member at `raw`, borrowed (FiberRef O2).
  @inline(__always) private static func with<R>(_ raw: UInt, _ body: (AnyFiber) -> R) -> R {
    FiberRef(bits: raw).unsafelyUnwrapped.with(body)
  }

  @inline(__always) private static func link(_ next: UInt) -> UInt { next == end ? 0 : next }

  mutating func append(_ f: AnyFiber) {
    precondition(f.waitNextRaw == 0, "BUG IN Weft: fiber \(f.id) is already in a wait list (L3)")
    let raw = FiberRef(f).bits
    f.waitNextRaw = WaiterList.end
    if tailRaw != 0 { WaiterList.with(tailRaw) { $0.waitNextRaw = raw } } else { headRaw = raw }
    tailRaw = raw
    count += 1
  }

  mutating func prepend(_ f: AnyFiber) {
    precondition(f.waitNextRaw == 0, "BUG IN Weft: fiber \(f.id) is already in a wait list (L3)")
    let raw = FiberRef(f).bits
    f.waitNextRaw = headRaw == 0 ? WaiterList.end : headRaw
    headRaw = raw
    if tailRaw == 0 { tailRaw = raw }
    count += 1
  }

  mutating func popFirst() -> FiberRef? {
    guard let f = FiberRef(bits: headRaw) else { return nil }
    headRaw = f.with { f in
      let next = f.waitNextRaw
      f.waitNextRaw = 0
      return WaiterList.link(next)
    }
    if headRaw == 0 { tailRaw = 0 }
    count -= 1
    return f
  }

  /// Removes `f` if present (O(n)); true when it was there.
  mutating func remove(_ f: AnyFiber) -> Bool {
    let target = FiberRef(f).bits
    var prev: UInt = 0
    var cur = headRaw
    while cur != 0 {
      let next = WaiterList.link(WaiterList.with(cur) { $0.waitNextRaw })
      if cur == target {
        if prev != 0 { WaiterList.with(prev) { $0.waitNextRaw = next == 0 ? WaiterList.end : next } } else { headRaw = next }
        if tailRaw == cur { tailRaw = prev }
        f.waitNextRaw = 0
        count -= 1
        return true
      }
      prev = cur
      cur = next
    }
    return false
  }

  /// Takes every waiter, leaving the list empty (L2).
  mutating func takeAll() -> WaiterList {
    let all = self
    self = WaiterList()
    return all
  }

  /// Visits the waiters in order (for dumps), without removing them.
  func forEach(_ body: (AnyFiber) -> Void) {
    var cur = headRaw
    while let f = FiberRef(bits: cur) {
      cur = f.with { WaiterList.link($0.waitNextRaw) }
      f.with(body)
    }
  }
}

/// An intrusive FIFO list of waiting fibers, linked through `AnyFiber.waitNextRaw`.
///
/// Not thread-safe: its owner guards it with a lock. A fiber is in at most one waiter list at
/// a time (it waits for one thing at a time), so the single link suffices.
///
/// Links are raw `Unmanaged` pointers: the list holds exactly one retain per member, taken by
/// `append`/`prepend` and handed to the caller by `popFirst` (or dropped by `remove`), so
/// relinking costs no reference counting (strong links cost ~9 retain/release pairs per
/// append in the event ping-pong profile).
/// - L1: `count` is the number of members; `headRaw == 0` exactly when it is 0.
/// - L2: ownership of the members moves with the list value (`takeAll` empties the source);
///   a list must be emptied before it is dropped, or its members stay retained.
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

  @inline(__always) private static func fiber(_ raw: UInt) -> AnyFiber {
    // SAFETY: `raw` came from `passRetained` in append/prepend and the list still holds that retain (L2).
    Unmanaged<AnyFiber>.fromOpaque(UnsafeRawPointer(bitPattern: raw).unsafelyUnwrapped).takeUnretainedValue()
  }

  @inline(__always) private static func link(_ next: UInt) -> UInt { next == end ? 0 : next }

  mutating func append(_ f: AnyFiber) {
    precondition(f.waitNextRaw == 0, "BUG IN Weft: fiber \(f.id) is already in a wait list (L3)")
    let raw = UInt(bitPattern: Unmanaged.passRetained(f).toOpaque())
    f.waitNextRaw = WaiterList.end
    if tailRaw != 0 { WaiterList.fiber(tailRaw).waitNextRaw = raw } else { headRaw = raw }
    tailRaw = raw
    count += 1
  }

  mutating func prepend(_ f: AnyFiber) {
    precondition(f.waitNextRaw == 0, "BUG IN Weft: fiber \(f.id) is already in a wait list (L3)")
    let raw = UInt(bitPattern: Unmanaged.passRetained(f).toOpaque())
    f.waitNextRaw = headRaw == 0 ? WaiterList.end : headRaw
    headRaw = raw
    if tailRaw == 0 { tailRaw = raw }
    count += 1
  }

  mutating func popFirst() -> AnyFiber? {
    guard headRaw != 0 else { return nil }
    let raw = headRaw
    let f = Unmanaged<AnyFiber>.fromOpaque(UnsafeRawPointer(bitPattern: raw).unsafelyUnwrapped).takeRetainedValue()
    headRaw = WaiterList.link(f.waitNextRaw)
    if headRaw == 0 { tailRaw = 0 }
    f.waitNextRaw = 0
    count -= 1
    return f
  }

  /// Removes `f` if present (O(n)); true when it was there.
  mutating func remove(_ f: AnyFiber) -> Bool {
    let target = UInt(bitPattern: Unmanaged.passUnretained(f).toOpaque())
    var prev: UInt = 0
    var cur = headRaw
    while cur != 0 {
      let next = WaiterList.link(WaiterList.fiber(cur).waitNextRaw)
      if cur == target {
        if prev != 0 { WaiterList.fiber(prev).waitNextRaw = next == 0 ? WaiterList.end : next } else { headRaw = next }
        if tailRaw == cur { tailRaw = prev }
        f.waitNextRaw = 0
        count -= 1
        Unmanaged.passUnretained(f).release()  // the list's retain (L2)
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
    while cur != 0 {
      let f = WaiterList.fiber(cur)
      cur = WaiterList.link(f.waitNextRaw)
      body(f)
    }
  }
}

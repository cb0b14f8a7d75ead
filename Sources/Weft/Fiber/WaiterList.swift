/// An intrusive FIFO list of waiting fibers, linked through `AnyFiber.waitNext`.
///
/// Not thread-safe: its owner guards it with a lock. A fiber is in at most one waiter list at
/// a time (it waits for one thing at a time), so the single link suffices.
struct WaiterList {
  private(set) var head: AnyFiber?
  private(set) var tail: AnyFiber?
  private(set) var count = 0

  var isEmpty: Bool { head == nil }

  mutating func append(_ f: AnyFiber) {
    f.waitNext = nil
    if let t = tail { t.waitNext = f } else { head = f }
    tail = f
    count += 1
  }

  mutating func prepend(_ f: AnyFiber) {
    f.waitNext = head
    head = f
    if tail == nil { tail = f }
    count += 1
  }

  mutating func popFirst() -> AnyFiber? {
    guard let h = head else { return nil }
    head = h.waitNext
    if head == nil { tail = nil }
    h.waitNext = nil
    count -= 1
    return h
  }

  /// Removes `f` if present (O(n)); true when it was there.
  mutating func remove(_ f: AnyFiber) -> Bool {
    var prev: AnyFiber? = nil
    var cur = head
    while let c = cur {
      if c === f {
        if let p = prev { p.waitNext = c.waitNext } else { head = c.waitNext }
        if tail === c { tail = prev }
        c.waitNext = nil
        count -= 1
        return true
      }
      prev = c
      cur = c.waitNext
    }
    return false
  }

  func contains(_ f: AnyFiber) -> Bool {
    var cur = head
    while let c = cur { if c === f { return true }; cur = c.waitNext }
    return false
  }

  /// Takes every waiter, leaving the list empty.
  mutating func takeAll() -> WaiterList {
    let all = self
    self = WaiterList()
    return all
  }

  /// Visits the waiters in order (for dumps).
  func forEach(_ body: (AnyFiber) -> Void) {
    var cur = head
    while let c = cur { body(c); cur = c.waitNext }
  }
}

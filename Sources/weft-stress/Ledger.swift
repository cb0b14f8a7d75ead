import Synchronization

/// Conservation bookkeeping (shared/STYLE.md, habit 11): one slot per thing that must happen
/// exactly once (a fiber running, an item taken, a wake-up arriving).
///
/// `take(i)` counts slot `i`; a second take of the same slot is reported at once, with the
/// ledger's name and the slot (and stops the program when `--trap` is given, so a debugger
/// or core dump shows the culprit). `verify()` then lists what was never taken. Takes are
/// relaxed atomic increments: the scenario joins every fiber (fetch/wait) before verifying,
/// and that join orders every take before the check. A slot can be marked as one that must
/// never be taken this round (`forbid`), for shapes where some things are not created.
final class Ledger: @unchecked Sendable {
  // SAFETY: `slots` is allocated in init, freed in deinit, and only accessed atomically.
  let name: String
  let count: Int
  private let slots: UnsafeMutablePointer<Atomic<UInt32>>
  private let failures: Failures

  init(_ name: String, count: Int, failures: Failures) {
    self.name = name
    self.count = count
    self.failures = failures
    slots = .allocate(capacity: max(count, 1))
    for i in 0..<count { (slots + i).initialize(to: Atomic(0)) }
  }

  deinit { slots.deinitialize(count: count); slots.deallocate() }

  /// Records that `i` happened; reports a double take (or an index out of range).
  private static let forbidden: UInt32 = 1 << 31

  /// Marks slot `i` as one that must never be taken (call before the round starts).
  func forbid(_ i: Int) { slots[i].store(Ledger.forbidden, ordering: .relaxed) }

  @inline(__always)
  func take(_ i: Int) {
    guard i >= 0 && i < count else {
      failures.record("ledger \(name): take of index \(i), outside 0..<\(count)")
      return
    }
    let before = slots[i].wrappingAdd(1, ordering: .relaxed).oldValue
    if before != 0 { doubleTake(i, times: Int(before) + 1) }
  }

  @inline(never)
  private func doubleTake(_ i: Int, times: Int) {
    if times > Int(Ledger.forbidden) {
      failures.record("ledger \(name): index \(i) taken, but nothing that takes it was created this round")
    } else {
      failures.record("ledger \(name): index \(i) taken \(times) times (double take)")
    }
  }

  /// How many times slot `i` was taken so far (1 << 31 and up: forbidden and taken).
  func takes(_ i: Int) -> Int {
    let v = slots[i].load(ordering: .relaxed)
    return v == Ledger.forbidden ? 0 : Int(v)
  }

  /// Checks that every slot was taken exactly once; records one failure listing the first
  /// missing slots. Returns the number of invariants checked (one per slot).
  @discardableResult
  func verify() -> Int {
    var missing: [Int] = []
    var missingCount = 0
    for i in 0..<count where slots[i].load(ordering: .relaxed) == 0 {  // (forbidden slots hold 1 << 31)
      missingCount += 1
      if missing.count < 20 { missing.append(i) }
    }
    if missingCount > 0 {
      failures.record("ledger \(name): \(missingCount) of \(count) never taken; first: "
        + missing.map(String.init).joined(separator: ", "))
    }
    return count
  }
}

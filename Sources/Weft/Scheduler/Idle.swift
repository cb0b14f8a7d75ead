/// The idle/wake protocol of one thread pool (Go's `wakep`/`stopm`, Tokio's `Idle`).
///
/// `state` packs the number of unparked workers (high bits) and of searching workers (low 16
/// bits). Parked workers are listed in `sleepers` under `lock`.
///
/// - W1 (no lost wake-up): a producer makes work visible, then a full fence, then reads
///   `state`; a worker going to sleep updates `state` and registers under `lock`, then a full
///   fence, then re-checks every queue it could take from. One of the two sees the other.
/// - W2 (no thundering herd): a producer wakes a parked worker only if none is searching;
///   at most half the workers search at once — approximately, as in Go and Tokio: the check and
///   the increment in `transitionToSearching` are separate, so workers entering together can
///   exceed the half by a few (a bound on wasted spinning, not a safety property; the
///   IdleStressTests assert the exact cap only for serialised entries); the last searcher to
///   find work wakes another.
/// - W3: whoever removes a worker from `sleepers` also counts it unparked in `state`, and
///   records in `wokeSearching` whether it counted it searching.
final class Idle: @unchecked Sendable {
  // SAFETY: `sleepers`, `sleeping`, `wokeSearching` are guarded by `lock`.
  private let words = AtomicBlock(cacheAlignedCount: 3)  // 0: state, 1: lock, 2: parks (for the deadlock report)
  private var stateWord: AtomicWord { words[0] }
  private var lock: FutexLock { FutexLock(words[1]) }
  private var sleepers: [Int] = []
  private var sleeping: [Bool]
  private var wokeSearching: [Bool]
  let workerCount: Int

  private static let unparkedUnit: UInt = 1 << 16
  private static let searchingMask: UInt = 0xFFFF

  init(workerCount: Int) {
    self.workerCount = workerCount
    sleeping = Array(repeating: false, count: workerCount)
    wokeSearching = Array(repeating: false, count: workerCount)
    stateWord.storeRelaxed(UInt(workerCount) * Idle.unparkedUnit)
  }

  deinit { words.deallocate() }

  private static func unparked(_ s: UInt) -> Int { Int(s >> 16) }
  private static func searching(_ s: UInt) -> Int { Int(s & searchingMask) }

  private func shouldWake() -> Bool {
    let s = stateWord.loadAcquire()
    return Idle.searching(s) == 0 && Idle.unparked(s) < workerCount
  }

  /// W1/W2, producer side (the caller has issued the full fence): picks a parked worker to
  /// wake, counting it unparked and searching, or nil when none should be woken.
  func workerToNotify() -> Int? {
    if !shouldWake() { return nil }
    lock.lock()
    defer { lock.unlock() }
    if !shouldWake() { return nil }
    guard let i = sleepers.popLast() else { return nil }
    sleeping[i] = false
    wokeSearching[i] = true
    stateWord.fetchAddFull(Idle.unparkedUnit + 1)  // W3
    return i
  }

  /// Removes worker `i` from the sleepers if it sleeps (to hand it sticky work); true when it did.
  func unparkSpecific(_ i: Int) -> Bool {
    lock.lock()
    defer { lock.unlock() }
    guard sleeping[i] else { return false }
    sleeping[i] = false
    wokeSearching[i] = false
    sleepers.removeAll { $0 == i }
    stateWord.fetchAddFull(Idle.unparkedUnit)  // W3
    return true
  }

  /// W2: a worker may start searching only while fewer than half search (approximate: see W2).
  func transitionToSearching() -> Bool {
    let s = stateWord.loadAcquire()
    if 2 * Idle.searching(s) >= workerCount { return false }
    stateWord.fetchAddFull(1)
    return true
  }

  /// Returns true when the caller was the last searcher (it must then wake another, W2).
  func transitionFromSearching() -> Bool {
    Idle.searching(stateWord.fetchSubFull(1)) == 1
  }

  /// W1, sleeper side, first half: registers worker `i` as parked.
  func transitionToParked(_ i: Int, searching: Bool) {
    lock.lock()
    stateWord.fetchSubFull(Idle.unparkedUnit + (searching ? 1 : 0))
    sleepers.append(i)
    sleeping[i] = true
    words[2].fetchAddRelaxed(1)  // no ordering: an activity epoch read by the deadlock check
    lock.unlock()
  }

  /// After waking (or deciding not to sleep): returns whether the worker now counts as
  /// searching. A worker still listed (spurious, timer or own decision) removes itself.
  func transitionFromParked(_ i: Int) -> Bool {
    lock.lock()
    defer { lock.unlock() }
    if sleeping[i] {
      sleeping[i] = false
      sleepers.removeAll { $0 == i }
      stateWord.fetchAddFull(Idle.unparkedUnit)  // W3
      return false
    }
    return wokeSearching[i]
  }

  /// How many times a worker of this pool has gone to park: it moves whenever any of them
  /// did anything since (DeadlockDetector's activity epoch).
  var parkCount: UInt { words[2].loadRelaxed() }

  /// (unparked, searching), for dumps and tests.
  var counts: (unparked: Int, searching: Int) {
    let s = stateWord.loadAcquire()
    return (Idle.unparked(s), Idle.searching(s))
  }
}

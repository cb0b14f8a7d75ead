import CWeft

/// A small mutual-exclusion lock for Weft's own short critical sections (queues, wait lists,
/// timers). It blocks the OS thread, so it is never held across anything that can park a
/// fiber. Users use `ReentrantLock`, which parks fibers instead.
///
/// Algorithm: Drepper, "Futexes Are Tricky" (2011), mutex 3. States: 0 unlocked, 1 locked,
/// 2 locked with possible sleepers. After a bounded spin the locker sets 2 and sleeps on the
/// futex; the unlocker wakes one sleeper only when the state was 2.
/// - I1: the word is 0 exactly when no thread holds the lock.
/// - I2: a thread sleeping in futex_wait has set the word to 2 first, so the unlocker sees 2.
/// - I3 (the spin, `LockSpin`): a waiter looks at the word only every `LockSpin.pausesPerLook`
///   pauses, `LockSpin.looks` times, before it sleeps (Go's `lock2`: 4 rounds of
///   `procyield(30)`). Each look pulls the word's cache line to the waiter's core; looking
///   after every pause kept the line moving while the holder worked, so its unlock and next
///   lock both missed. A channel shared by
///   fibers on two workers ran at 60–70 ns per item that way and at 17–22 ns with the spaced
///   spin (chan_throughput, Docs/Benchmarks.md step 9), with ten times more futex sleeps,
///   which cost less than the moving line.

struct FutexLock: @unchecked Sendable {
  let word: AtomicWord

  init(_ word: AtomicWord) { self.word = word }

  @inline(__always)
  func lock() {
    // Acquire: pairs with the release in `unlock` of the previous holder.
    if word.compareExchangeAcquire(0, 1) { return }
    lockSlow()
  }

  @inline(never)
  func lockSlow() {
    for _ in 0..<LockSpin.looks {
      LockSpin.pauseBeforeLook()
      // Relaxed look first (I3), then the acquire CAS that pairs with `unlock`'s release.
      if word.loadRelaxed() == 0 && word.compareExchangeAcquire(0, 1) { return }
    }
    // I2: announce a sleeper (2) before sleeping.
    while word.exchangeFull(2) != 0 {
      word.futexWait(expected: 2)
    }
  }

  @inline(__always)
  func tryLock() -> Bool { word.compareExchangeAcquire(0, 1) }

  @inline(__always)
  func unlock() {
    // Release: pairs with the acquire CAS/exchange of the next locker (I1).
    if word.compareExchangeRelease(1, 0) { return }
    word.storeRelease(0)
    word.futexWake(1)
  }

  @inline(__always)
  func withLock<R>(_ body: () throws -> R) rethrows -> R {
    lock()
    defer { unlock() }
    return try body()
  }
}

/// How a lock's waiter spins before it sleeps or parks (FutexLock I3; ReentrantLock spins the
/// same way before it yields): `looks` looks at the lock word, `pausesPerLook` pauses apart.
enum LockSpin {
  static let looks = 4
  static let pausesPerLook = 30

  /// The pauses a waiter makes before each look at the word.
  @inline(__always) static func pauseBeforeLook() {
    for _ in 0..<pausesPerLook { cpuRelax() }
  }
}

/// A `FutexLock` that owns its word, for objects that need just one lock.

final class OwnedFutexLock: @unchecked Sendable {
  // SAFETY: `block` is freed in deinit, after the last user dropped the lock.
  let block = AtomicBlock(count: 1)
  var lock: FutexLock { FutexLock(block[0]) }
  init() {}
  deinit { block.deallocate() }
}

import Testing
@testable import Weft

// FutexLock (I1–I3) driven directly by plain OS threads. A lost wake-up hangs the test and
// the watchdog aborts it.
// - aSleeperIsWoken: a locker that outwaits its spin announces itself (the word reads 2, I2)
//   and sleeps; the holder's unlock must wake it, and the word is 0 once it unlocks (I1).
// - excludes: threads, more than there are cores, increment a plain counter under the lock
//   with random pauses inside and outside, so that lockers spin, sleep and are woken; no
//   increment is lost.

extension LockFreeStressTests {
  @Suite struct FutexLockStressTests {
    @Test func aSleeperIsWoken() {
      let lock = OwnedFutexLock()
      let acquired = Counter()
      withWatchdog(60) {
        for round in 1...50 {
          lock.lock.lock()
          onThreads(2) { t in
            if t == 0 {
              lock.lock.lock()  // spins (I3), sets 2 and sleeps until the unlock below
              acquired.increment()
              lock.lock.unlock()
            } else {
              lock.lock.word.spinUntilSleeperAnnounced()
              #expect(acquired.value == round - 1, "the waiter got the lock while it was held")
              lock.lock.unlock()  // saw 2: must wake the sleeper (I2)
            }
          }
          #expect(acquired.value == round)
          #expect(lock.lock.word.loadAcquire() == 0, "the lock's word is not 0 with no holder (I1)")
        }
      }
    }

    @Test func excludes() {
      let threads = 4
      let perThread = scaled(underTSan ? 2_000 : 50_000)
      let lock = OwnedFutexLock()
      let box = UnsafeMutablePointer<Int>.allocate(capacity: 1)
      box.initialize(to: 0)
      defer { box.deallocate() }
      let counted = SendablePointer(box)
      withWatchdog(120) {
        onThreads(threads) { t in
          var rng = SplitMix(seed: 0xF0 &+ UInt64(t))
          for _ in 0..<perThread {
            lock.lock.lock()
            counted.pointer.pointee += 1  // plain read-modify-write: only the lock orders it
            if rng.next() % 16 == 0 { dawdle(&rng) }  // long holds make lockers sleep
            lock.lock.unlock()
            if rng.next() % 4 == 0 { dawdle(&rng) }
          }
        }
      }
      #expect(box.pointee == threads * perThread)
      #expect(lock.lock.word.loadAcquire() == 0)
    }
  }
}

/// A raw pointer the test's threads share; the lock under test orders every access.
private struct SendablePointer: @unchecked Sendable {
  // SAFETY: only dereferenced while holding the FutexLock under test.
  let pointer: UnsafeMutablePointer<Int>
  init(_ pointer: UnsafeMutablePointer<Int>) { self.pointer = pointer }
}

extension AtomicWord {
  /// Spins, giving the CPU away now and then, until a locker has announced it sleeps (2).
  fileprivate func spinUntilSleeperAnnounced() {
    var tries = 0
    while loadAcquire() != 2 { backOff(&tries) }
  }
}

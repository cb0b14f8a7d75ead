import CWeft
import Testing
@testable import Weft

// FiberCore A2 (Sources/CWeft/FiberObjects.c): a freed fiber's block is kept by the freeing
// thread and reused for the next fiber made there, without malloc or free. These tests run
// on one thread each (synchronous tests), so the thread's cache sees only their own fibers.
// Under ThreadSanitizer blocks are not reused (B4): the tests of reuse are off there.

@Suite struct FiberObjectCacheTests {
  private func address(_ f: AnyFiber) -> UnsafeMutableRawPointer { Unmanaged.passUnretained(f).toOpaque() }

  @Test(.enabled(if: weft_fiber_objects_reused()))
  func aFreedFibersBlockIsReusedByTheNextFiberOnTheSameThread() {
    var first: Fiber<Int>? = Fiber { 1 }
    var second: Fiber<Int>? = Fiber { 2 }
    let firstBlock = address(first!)
    first = nil   // B1: waits as the thread's pending block
    second = nil  // the first moves to the free list
    #expect(first == nil && second == nil)
    let reused = Fiber<String> { "three" }
    #expect(address(reused) == firstBlock, "the freed block was not reused")
    // The reused block is a fresh fiber: nothing of the old one is left in it.
    #expect(reused.stateDescription == "created" && !reused.isStarted && !reused.isDone)
    #expect(reused.error == nil && reused.localStorage.isEmpty && !reused.hasColdState)
    #expect(reused.sticky && reused.stackSize == 0)
    #expect(Fiber<Int>(sticky: false) { 4 }.id > reused.id)
  }

  @Test func aFiberWithAWeakReferenceIsFreedByTheRuntimeNotKept() {
    final class Box { weak var fiber: AnyFiber? }
    let box = Box()
    let before = weft_fiber_objects_cached()
    var f: Fiber<Int>? = Fiber { 5 }
    box.fiber = f  // a side table (B2)
    f = nil
    #expect(box.fiber == nil, "the weak reference outlived the fiber")
    #expect(weft_fiber_objects_cached() <= before, "a fiber with a side table was kept for reuse")
  }

  @Test func aFiberWithALiveUnownedReferenceIsNotReused() {
    final class Box { unowned(safe) var fiber: AnyFiber; init(_ f: AnyFiber) { fiber = f } }
    var f: Fiber<Int>? = Fiber { 6 }
    let block = address(f!)
    let box = Box(f!)
    let before = weft_fiber_objects_cached()
    f = nil  // deinit runs while `box` still holds its unowned reference (B2)
    #expect(weft_fiber_objects_cached() <= before)
    var made: [Fiber<Int>] = []
    for i in 0..<8 { made.append(Fiber { i }) }
    #expect(!made.contains { address($0) == block }, "a block with an unowned reference was reused")
    withExtendedLifetime(box) {}
  }

  #if DEBUG
  @Test func aFreedFibersBlockIsPoisonedInDebugBuilds() {
    var f: Fiber<Int>? = Fiber { 9 }
    let core = f!.core
    f = nil  // the block waits in this thread's cache (B1; under TSan, until the next free)
    #expect(f == nil)
    let words = UnsafeBufferPointer(start: core.assumingMemoryBound(to: UInt.self), count: FiberCore.totalSize / 8)
    #expect(words.allSatisfy { $0 == FiberState.freed }, "a freed fiber's block still holds its state")
    #expect(FiberState.name(words[FiberCore.Word.state]) == "freed")
  }
  #endif

  @Test func aNonWorkerThreadKeepsAtMostItsLimit() {
    var fibers: [Fiber<Int>] = (0..<500).map { i in Fiber { i } }
    fibers.removeAll()
    #expect(weft_fiber_objects_cached() <= Int(WEFT_FIBER_OBJECTS_THREAD_LIMIT) + 1)  // + pending
  }

  @Test(.enabled(if: weft_fiber_objects_reused()))
  func fibersFreedInsideAnotherFibersDeinitAreAllRecycled() {
    // The outer fiber's body captures the other two, and it is freed without having run: its
    // deinit destroys the body, which frees both others from inside it (nested destroyers, B1).
    var blocks: Set<UnsafeMutableRawPointer> = []
    do {
      let inner = Fiber<Int> { 7 }
      let held = Fiber<Int> { 8 }
      let outer = Fiber<[AnyFiber]> { [inner, held] }
      blocks = [address(inner), address(held), address(outer)]
    }
    // All three blocks are reusable, and each is handed out once.
    var made: [Fiber<Int>] = []
    for i in 0..<4 { made.append(Fiber { i }) }
    let addresses = made.map(address)
    #expect(Set(addresses).count == addresses.count, "a block was handed out twice")
    #expect(blocks.subtracting(addresses).count <= 1, "freed blocks were not reused")  // one pending
  }

  @Test(.enabled(if: weft_fiber_objects_reused()))
  func forkJoinOnAWorkerReusesAHandfulOfBlocks() throws {
    try withScheduler(threads: 1) { s in
      let distinct = try s.spawn { () throws -> Int in
        var seen: Set<UInt> = []
        for i in 0..<1_000 {
          let child = spawn { i * 2 }
          seen.insert(UInt(bitPattern: Unmanaged.passUnretained(child).toOpaque()))
          #expect(try child.fetch() == i * 2)
        }
        return seen.count
      }.fetch()
      #expect(distinct <= 4, "\(distinct) blocks for 1,000 sequential children")
    }
  }
}

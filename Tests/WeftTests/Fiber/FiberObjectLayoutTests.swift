import CWeft
import Testing
@testable import Weft

// FiberCore A1: a fiber is one allocation, the Swift object header followed by its state
// block, made by `AnyFiber.make` without a class initialiser. That holds only while the fiber
// classes have no stored properties of their own: one added would overlap the block.

@Suite struct FiberObjectLayoutTests {
  @Test func theFiberClassesHaveNoStoredProperties() {
    let f = Fiber<[Int]> { [1, 2, 3] }
    let mirror = Mirror(reflecting: f)
    #expect(mirror.children.isEmpty, "Fiber<Result> gained a stored property (FiberCore A1)")
    #expect(mirror.superclassMirror?.subjectType == AnyFiber.self)
    #expect(mirror.superclassMirror?.children.isEmpty == true, "AnyFiber gained a stored property (FiberCore A1)")
    #expect(Mirror(reflecting: Fiber<Never>.current).children.isEmpty)
  }

  @Test func theStateBlockIsTheObjectsTailInOneAllocation() {
    let f = Fiber<Int> { 7 }
    let object = Unmanaged.passUnretained(f).toOpaque()
    #expect(f.core == object + FiberCore.objectHeaderSize)
    // One malloc chunk holds the header and the whole block.
    #expect(weft_allocation_size(object) >= FiberCore.objectSize)
    // Docs/Architecture.md, "Hot-path layout": a 272-byte object (a 288-byte malloc chunk);
    // a field added to the block must be weighed against the bytes per blocked fiber.
    #expect(FiberCore.objectSize <= 272, "the fiber object grew to \(FiberCore.objectSize) bytes")
    // The block is initialised: a fresh fiber is created, not started, with its options.
    #expect(f.stateDescription == "created")
    #expect(!f.isStarted && !f.isDone && f.sticky && !f.isThreadFiber)
    let g = Fiber<Int>(sticky: false, stackSize: 64 * 1024) { 8 }
    #expect(!g.sticky && g.stackSize == 64 * 1024 && g.id != f.id)
  }

  @Test func aFiberMadeWithoutAnInitialiserRunsAndIsFreed() throws {
    final class WeakFiber: @unchecked Sendable { weak var fiber: AnyFiber? }  // set once, read after shutdown
    let gone = WeakFiber()
    let s = Scheduler(threads: 1)
    let text = try s.spawn { () throws -> String in
      let f = spawn { "fiber \(Fiber.current.id)" }
      gone.fiber = f
      return "\(try f.fetch()) of \(f.id)"
    }.fetch()
    s.shutdown()  // the loop has dropped every run reference (FiberRef O1)
    #expect(text.hasPrefix("fiber ") && text.split(separator: " ")[1] == text.split(separator: " ")[3])
    #expect(gone.fiber == nil, "the fiber object outlived every reference")
  }
}

import Testing
@testable import Weft

/// The registry's table against a model (a Swift Set), with ids spread as the registry
/// spreads them, through growth, backward-shift deletion and shrinking.
@Suite struct FiberRegistryTests {
  @Test func tableMatchesAModelUnderRandomInsertAndRemove() {
    var t = IDTable(shift: 3)
    defer { t.deallocate() }
    var model = Set<UInt64>()
    var rng: UInt64 = 0x1234_5678
    func next() -> UInt64 { rng = rng &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407; return rng >> 33 }
    let token = UnsafeMutableRawPointer(bitPattern: 0x1000)!
    var nextID: UInt64 = 1
    for step in 0..<200_000 {
      // Phases: mostly inserting, then mostly removing, so the table grows and shrinks.
      let inserting = (step / 20_000) % 2 == 0 ? next() % 4 != 0 : next() % 4 == 0
      if inserting || model.isEmpty {
        let id = nextID * 8 + 5  // same shard (low 3 bits), sequential above them
        nextID += 1
        t.insert(id, token)
        model.insert(id)
      } else {
        let victim = model.randomElement()!
        #expect(t.remove(victim) == token)
        model.remove(victim)
        #expect(t.remove(victim) == nil)
      }
      #expect(t.count == model.count)
    }
    var seen = 0
    t.forEach { _ in seen += 1 }
    #expect(seen == model.count)
    for id in model { #expect(t.remove(id) == token) }
    #expect(t.count == 0)
  }

  @Test func registryCountsLiveFibers() throws {
    let s = Scheduler(threads: 2, trackFibers: true)
    defer { s.shutdown() }
    try withWatchdog(60, scheduler: s) {
      let gate = s.spawn { _ = try wait() }
      let fibers = (0..<1000).map { _ in s.spawn { try gate.wait() } }
      while s.snapshot().blockedFibers.count < 1001 { yield() }
      #expect(s.liveFiberCount == 1001)
      schedule(gate)
      for f in fibers { try f.wait() }
      while s.liveFiberCount != 0 { yield() }
      #expect(s.snapshot().fibers.isEmpty)
    }
  }
}

import Testing
@testable import Weft

// Julia's task_local_storage(key), task_local_storage(key, value) and
// task_local_storage(body, key, value): Fiber.current.localStorage, taskLocalValue,
// setTaskLocalValue, withTaskLocal.

@Suite struct TaskLocalTests {
  /// Observations of one fiber's storage, in order, as strings ("nil" for absent).
  private static func scenario() throws -> [String] {
    func show(_ k: String) -> String { taskLocalValue(k).map { "\($0)" } ?? "nil" }
    var out: [String] = []
    out.append(show("k"))                          // nil
    setTaskLocalValue("k", 1)
    out.append(show("k"))                          // 1
    withTaskLocal("k", 2) { out.append(show("k")) } // 2
    out.append(show("k"))                          // 1 (restored)
    withTaskLocal("fresh", "x") { out.append(show("fresh")) }
    out.append(show("fresh"))                      // nil (absence restored)
    do {
      try withTaskLocal("k", 3) { out.append(show("k")); throw Boom() }
    } catch {}
    out.append(show("k"))                          // 1 (restored on throw)
    let nested: Int = withTaskLocal("k", 4) { withTaskLocal("k", 5) { taskLocalValue("k") as! Int } * 10 + (taskLocalValue("k") as! Int) }
    out.append("\(nested)")                        // 54
    Fiber.current.localStorage["direct"] = true
    out.append(show("direct"))                     // true
    setTaskLocalValue("direct", nil)
    out.append(show("direct"))                     // nil
    return out
  }

  private static let expected = ["nil", "1", "2", "1", "x", "nil", "3", "1", "54", "true", "nil"]

  @Test func getSetAndScopedValuesInAFiber() throws {
    let seen = try withWatchdog { try spawn { try TaskLocalTests.scenario() }.fetch() }
    #expect(seen == TaskLocalTests.expected)
  }

  /// A non-worker thread has its own storage too (its thread fiber's).
  @Test func getSetAndScopedValuesOnTheTestThread() throws {
    // Run on a fresh thread so that no other test's thread-fiber storage can interfere.
    let seen = try onNewThread { try TaskLocalTests.scenario() }
    #expect(seen == TaskLocalTests.expected)
  }

  /// Storage belongs to one fiber: a spawned fiber does not inherit it (also not from inside
  /// withTaskLocal), and its writes are not seen by the parent.
  @Test func storageIsNotInheritedOrShared() throws {
    let seen = try withScheduler(threads: 2) { s in
      try s.spawn { () throws -> [String] in
        setTaskLocalValue("k", "parent")
        let child: [String] = try withTaskLocal("scoped", 1) {
          try spawn { () -> [String] in
            let a = taskLocalValue("k").map { "\($0)" } ?? "nil"
            let b = taskLocalValue("scoped").map { "\($0)" } ?? "nil"
            setTaskLocalValue("k", "child")
            return [a, b]
          }.fetch()
        }
        let sticky = try spawn(sticky: true) { taskLocalValue("k").map { "\($0)" } ?? "nil" }.fetch()
        return child + [sticky, taskLocalValue("k") as? String ?? "nil"]
      }.fetch()
    }
    #expect(seen == ["nil", "nil", "nil", "parent"])
  }

  /// Storage stays with the fiber across waits, whichever worker resumes it.
  @Test func storageSurvivesSuspension() throws {
    let ok = try withScheduler(threads: 2) { s in
      try s.spawn { () throws -> Bool in
        setTaskLocalValue("n", 0)
        for i in 1...50 {
          try sleep(seconds: 0.001)
          guard taskLocalValue("n") as? Int == i - 1 else { return false }
          setTaskLocalValue("n", i)
        }
        return true
      }.fetch()
    }
    #expect(ok)
  }
}

import Weft

// weft-async-example: Weft from top-level async Swift (`@main` with an async `main`), the
// examples of Docs/Semantics.md, "Using Weft from async Swift". Scripts/test.sh runs it; it
// prints one line per step and exits 1 if any result is wrong.

@Sendable func fib(_ n: Int) throws -> Int {
  if n < 2 { return n }
  let a = spawn { try fib(n - 1) }
  return try fib(n - 2) + a.fetch()
}

@main
struct AsyncExample {
  static func main() async throws {
    var ok = true
    func check(_ what: String, _ good: Bool) {
      print("\(what): \(good ? "ok" : "WRONG")")
      ok = ok && good
    }

    // 1. Await a fiber without blocking a thread.
    let f = spawn { try fib(20) }
    check("await fiber.value", try await f.value == 6765)

    // 2. A failed fiber throws TaskFailedError.
    let bad = spawn { () throws -> Int in throw ExampleError.boom }
    do { _ = try await bad.value; check("failed fiber throws", false) } catch let e as TaskFailedError {
      check("failed fiber throws", e.rootCause as? ExampleError == .boom)
    }

    // 3. A fiber runs async code; its worker keeps running other fibers meanwhile.
    let viaFiber = try await spawn { try awaitAsync { () async -> Int in await Task.yield(); return 42 } }.value
    check("awaitAsync from a fiber", viaFiber == 42)

    // 4. One channel, an async producer and a fiber consumer, and the reverse.
    let numbers = Channel<Int>(capacity: 8)
    let summer = spawn { () throws -> Int in var s = 0; try numbers.drain { s += $0 }; return s }
    for i in 1...100 { try await numbers.put(i) }
    numbers.close()
    check("async producer, fiber consumer", try await summer.value == 5050)

    let words = Channel<String>(capacity: 0)
    spawn { for w in ["fibers", "and", "tasks"] { try words.put(w) }; words.close() }
    var seen: [String] = []
    for try await w in words { seen.append(w) }
    check("fiber producer, for try await", seen == ["fibers", "and", "tasks"])

    // 5. Swift tasks on Weft's workers.
    let onWeft = await Task(executorPreference: Scheduler.shared) { () async -> Int in
      await Task.yield()
      return Threads.threadid()
    }.value
    check("Task(executorPreference: Scheduler.shared)", onWeft > 0)

    // 6. Cancelling the awaiting task cancels the fiber.
    let never = Event()
    let stuck = spawn { () throws -> String in
      do { try never.wait() } catch is CancellationError { return "cancelled" }
      return "notified"
    }
    let awaiting = Task { try await stuck.value }
    awaiting.cancel()
    check("cancel the awaiting task", try await awaiting.value == "cancelled")

    if !ok { fatalError("weft-async-example: a check failed") }
    print("weft-async-example: all checks passed")
  }
}

enum ExampleError: Error { case boom }

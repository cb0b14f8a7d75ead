#if canImport(Glibc)
import Glibc
#endif

// Blocking Weft calls made from async Swift code (Docs/Semantics.md, "Using Weft from async
// Swift"). The rule:
//
// - D1: on a thread that is not a Weft worker — Swift's cooperative pool included — a
//   blocking call (`fetch()`, `take()`, `wait()`, `lock()`) works as on any thread: it parks
//   that OS thread on a futex until it is woken. In a Swift task that holds one of the few
//   cooperative threads for the whole wait, so the first time it happens in a process Weft
//   prints one warning naming the async alternative (`WEFT_ASYNC_BLOCKING_WARNING=0` turns it
//   off). It stays legal: it is how synchronous libraries are called from async code, and
//   the thread is parked, never spinning.
// - D2: on a Weft worker outside any fiber — a Swift job on Weft's `TaskExecutor` — there is
//   no fiber to park, and blocking the worker could deadlock the fibers it should run: that
//   is `Weft misuse:`, with a message naming the async forms.
//
// | field    | written by                 | read by             |
// |----------|----------------------------|---------------------|
// | words[0] | blocking threads (fetchAdd) | tests (counted D1 blocks) |
// | words[1] | the first to warn (exchange) | the same          |

enum BlockingFromAsync {
  // SAFETY: a process-wide block, never freed.
  private static let words = AtomicBlock(count: 2)  // 0: blocks counted in Swift tasks, 1: warned
  static let enabled: Bool = {
    guard let v = getenv("WEFT_ASYNC_BLOCKING_WARNING") else { return true }
    return String(cString: v) != "0"
  }()

  static let message = "Weft warning: a Swift task blocked its thread in a Weft wait (fetch/take/wait/lock); "
    + "this holds one of Swift's few cooperative threads until it is woken. From async code use the async forms: "
    + "`try await fiber.value`, `try await channel.take()` / `put(_:)`, or move the blocking code into a fiber "
    + "(`try await spawn { … }.value`). Printed once; WEFT_ASYNC_BLOCKING_WARNING=0 silences it.\n"

  /// D1: called by a thread fiber just before it sleeps (cold).
  @inline(never)
  static func threadWillBlock() {
    guard withUnsafeCurrentTask(body: { $0 != nil }) else { return }
    _ = words[0].fetchAddFull(1)
    // Full exchange: exactly one thread sees 0 and warns.
    if enabled, words[1].exchangeFull(1) == 0 {
      var text = message
      text.withUTF8 { buf in _ = write(2, buf.baseAddress, buf.count) }
    }
  }

  /// How many times a thread running a Swift task has blocked in a Weft wait (tests).
  static var blocksInTasks: Int { Int(words[0].loadAcquire()) }
}

extension AnyFiber {
  /// D2: a Weft call that needs the current fiber came from a worker between fibers.
  @inline(never)
  static func noFiberOnWorker() -> Never {
    if let w = Worker.current, w.scheduler.jobs.isRunningBatch(w) {
      preconditionFailure("Weft misuse: a Swift task running on Weft's TaskExecutor called a Weft operation that "
        + "needs a fiber (a blocking fetch/take/wait/lock, Fiber.current, task-local storage); its jobs run on a "
        + "worker outside any fiber. Use the async forms (`try await fiber.value`, `try await channel.take()` / "
        + "`put(_:)`), or run the blocking code in a fiber: `try await spawn { … }.value`")
    }
    preconditionFailure("BUG IN Weft: a worker's scheduler loop tried to block (no fiber is running on it)")
  }
}

import Weft

// The Swift-concurrency bridges (Interop/): each on Weft's TaskExecutor and, in the same run,
// on Swift's default executor (`executor=default`), one line each.

/// Runs async `body` from the benchmark's main thread (blocking it, not a worker).
func blockOn<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
  try awaitAsync(executor: globalConcurrentExecutor) { try await body() }
}

/// Runs `body` in a task on Weft's executor or on Swift's default one, and awaits it.
func inTask<T: Sendable>(_ s: Scheduler, _ executor: String, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
  if executor == "weft" { return try await Task(executorPreference: s) { try await body() }.value }
  return try await Task { try await body() }.value
}

let executorVariants: @Sendable (Params) -> [Params] = { p in
  p.string("executor").split(separator: ",").map { p.with("executor", String($0)) }
}

/// await_fiber: `n` × `try await fiber.value` from one Swift task: of one already-finished
/// fiber (`state=finished`), or of a fiber just spawned, which is still running or queued
/// when awaited (`state=running`, spawn included). ns_per_op is per await.
let awaitFiber = Workload(
  name: "await_fiber", defaults: [("n", "1000000"), ("state", "finished,running"), ("executor", "weft,default")],
  run: { s, p in
    let n = p.int("n"), running = p.string("state") == "running", executor = p.string("executor")
    let sum = try blockOn {
      try await inTask(s, executor) { () async throws -> Int in
        var sum = 0
        if running {
          for i in 0..<n { sum &+= try await s.spawn { i & 1 }.value }
        } else {
          let done = s.spawn { 1 }
          _ = try await done.value
          for _ in 0..<n { sum &+= try await done.value }
        }
        return sum
      }
    }
    return Outcome(operations: Double(n), ok: sum == (running ? n / 2 : n))
  },
  variants: { p in
    p.string("state").split(separator: ",").flatMap { st in executorVariants(p.with("state", String(st))) }
  })

/// fiber_await_async: one fiber calls `try awaitAsync { 1 }` `n` times (a trivial async
/// closure: a Swift task started, run and awaited per call, the fiber parked meanwhile).
/// `executor=` is where the task runs. ns_per_op is per call.
let fiberAwaitAsync = Workload(
  name: "fiber_await_async", defaults: [("n", "1000000"), ("executor", "weft,default")],
  run: { s, p in
    let n = p.int("n"), executor = p.string("executor")
    let sum = try onFiber(s) { () throws -> Int in
      var sum = 0
      let target: (any TaskExecutor)? = executor == "weft" ? nil : globalConcurrentExecutor
      for _ in 0..<n { sum &+= try awaitAsync(executor: target) { 1 } }
      return sum
    }
    return Outcome(operations: Double(n), ok: sum == n)
  },
  variants: executorVariants)

/// executor_hop: `tasks` Swift tasks each hop `n / tasks` times (`await Task.yield()`: the job
/// is enqueued on its executor and run again), on Weft's TaskExecutor or Swift's default
/// executor. ns_per_op is per hop.
let executorHop = Workload(
  name: "executor_hop", defaults: [("n", "1000000"), ("tasks", "1,8"), ("executor", "weft,default")],
  run: { s, p in
    let n = p.int("n"), tasks = max(1, p.int("tasks")), executor = p.string("executor")
    let per = n / tasks
    let hops = try blockOn { () async throws -> Int in
      try await withThrowingTaskGroup(of: Int.self) { group in
        for _ in 0..<tasks {
          group.addTask {
            try await inTask(s, executor) { () async -> Int in
              for _ in 0..<per { await Task.yield() }
              return per
            }
          }
        }
        return try await group.reduce(0, +)
      }
    }
    return Outcome(operations: Double(per * tasks), ok: hops == per * tasks)
  },
  variants: { p in
    p.string("tasks").split(separator: ",").flatMap { t in executorVariants(p.with("tasks", String(t))) }
  })

let interopWorkloads = [awaitFiber, fiberAwaitAsync, executorHop]

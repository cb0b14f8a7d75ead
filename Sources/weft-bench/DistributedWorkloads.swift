import Synchronization
import Weft
import WeftDistributed

// The distributed workloads of issue 13: WeftDistributed's remote calls, remote channels and
// pmap between this process and worker processes started from this same executable (main.swift
// calls registerBenchFunctions() and runWorkerIfLaunched() before reading its arguments, so a
// copy started by addProcs becomes a worker). Every message is a gRPC call over loopback.
// Each workload starts its own workers before its first pass and removes them after its last
// (`distributed(...)`), so no workload sees another's processes.

/// The functions the distributed workloads call, registered in the master and in every worker.
func registerBenchFunctions() {
  register("bench.echo") { (x: Int) in x }
  register("bench.produce") { (a: ProduceArguments) -> Int in
    for i in 0..<a.count { try a.channel.put(i) }
    return a.count
  }
  register("bench.spin") { (w: SpinWork) in w.result() }
}

/// `bench.produce`'s arguments: put 0, 1, … count-1 on `channel`, in order.
struct ProduceArguments: Codable, Sendable {
  var channel: RemoteChannel<Int>
  var count: Int
}

/// One CPU-bound `pmap` item: `iterations` rounds of the SplitMix64 finaliser, each fed the
/// last one's output, so the rounds form one dependency chain that no compiler can vectorise
/// or skip. Pure arithmetic on registers: two processes on two cores do not slow each other.
struct SpinWork: Codable, Sendable {
  var seed: UInt64
  var iterations: Int

  func result() -> Int {
    var z = seed
    for _ in 0..<iterations {
      z &+= 0x9E37_79B9_7F4A_7C15
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      z ^= z >> 31
    }
    return Int(z >> 11)  // 53 bits: exact in any JSON reader
  }
}

/// The worker ids of one distributed workload's session (set before its passes run).
private final class SessionWorkers: Sendable {
  private let ids = Mutex<[Int]>([])
  var current: [Int] { ids.withLock { $0 } }
  func set(_ new: [Int]) { ids.withLock { $0 = new } }
}

/// A workload that runs against `processes` worker processes of its own: started (addProcs)
/// before the warm-up pass, shared by both passes, removed (removeProcs) after the timed one.
/// Starting processes is not what these workloads measure, so no pass includes it.
private func distributed(
  _ name: String, processes: Int, defaults: [(String, String)],
  _ run: @escaping @Sendable (_ scheduler: Scheduler, _ params: Params, _ workers: [Int]) throws -> Outcome
) -> Workload {
  let workers = SessionWorkers()
  return Workload(
    name: name, defaults: defaults,
    run: { s, p in try run(s, p, workers.current) },
    session: { s, passes in
      let ids = try onFiber(s) { try addProcs(processes) }
      workers.set(ids)
      defer { workers.set([]) }
      do { try passes() } catch {
        try? onFiber(s) { try removeProcs(ids) }
        throw error
      }
      try onFiber(s) { try removeProcs(ids) }
    })
}

/// remotecall_fetch: `n` no-op round trips (`bench.echo`, which returns its argument) to one
/// worker, one at a time; p50/p99 of each call as the caller sees it. ns_per_op is the mean.
/// n=3000 keeps both passes under 10 s on a 2-core VM, where a round trip takes about 1 ms
/// (the gRPC call and its hops between fibers and Swift tasks, on both sides; no timer waits).
let remotecallFetchLatency = distributed("remotecall_fetch", processes: 1, defaults: [("n", "3000")]) { s, p, ids in
  let (n, worker) = (p.int("n"), ids[0])
  let (ok, latencies, seconds) = try onFiber(s) { () throws -> (Bool, [UInt64], Double) in
    var lat = [UInt64]()
    lat.reserveCapacity(n)
    var ok = true
    let t0 = monotonicSeconds()
    for i in 0..<n {
      let start = nowNs()
      let back = try remotecallFetch("bench.echo", on: worker, i, returning: Int.self)
      lat.append(nowNs() - start)
      if back != i { ok = false }
    }
    return (ok, lat, monotonicSeconds() - t0)
  }
  var lat = latencies  // sorted in place by percentileMicros
  return Outcome(operations: Double(n), ok: ok && lat.count == n,
                 extra: [("p50_us", percentileMicros(&lat, 0.5)), ("p99_us", percentileMicros(&lat, 0.99))],
                 seconds: seconds)
}

/// remote_channel: a `RemoteChannel<Int>` of `capacity` owned by worker A; `bench.produce` on
/// worker B puts 0..<n into it while this process takes them, so every item crosses two
/// processes (B → A → here). Each must arrive once, in order, and nothing after the last.
/// The takes are round trips one after another, so the rate is about one per remotecall_fetch.
let remoteChannelThroughput = distributed("remote_channel", processes: 2, defaults: [("n", "3000"), ("capacity", "64")]) { s, p, ids in
  let (n, capacity) = (p.int("n"), p.int("capacity"))
  let t0 = monotonicSeconds()
  let ok = try onFiber(s) { () throws -> Bool in
    let channel = try RemoteChannel<Int>(on: ids[0], capacity: capacity)
    let producer = try remotecall("bench.produce", on: ids[1], ProduceArguments(channel: channel, count: n), returning: Int.self)
    var inOrder = true
    for i in 0..<n {
      if try channel.take() != i { inOrder = false }
    }
    let produced = try producer.fetch()  // B has put its last item
    try channel.close()
    let leftOver = try channel.isReady  // closed: ready only if an item is still in it
    return inOrder && produced == n && !leftOver
  }
  let seconds = monotonicSeconds() - t0
  return Outcome(operations: Double(n), ok: ok, extra: [("items_per_s", String(format2: Double(n) / seconds))], seconds: seconds)
}

/// pmap_scaling: `pmap` of `items` CPU-bound items (`bench.spin`, `iters` rounds each: about
/// 15 ms on the 2-core EPYC VM, 5 ns a round) on one worker, then on two; speedup = the first time over the
/// second (2.0 is perfect on two idle cores). Results are checked against this process's own
/// computation, which is not timed. ns_per_op is per item with two workers.
let pmapScaling = distributed("pmap_scaling", processes: 2, defaults: [("items", "24"), ("iters", "3000000")]) { s, p, ids in
  let work = (0..<p.int("items")).map { SpinWork(seed: UInt64($0), iterations: p.int("iters")) }
  return try onFiber(s) { () throws -> Outcome in
    let t0 = monotonicSeconds()
    let one = try pmap("bench.spin", work, on: [ids[0]], returning: Int.self)
    let t1 = monotonicSeconds()
    let two = try pmap("bench.spin", work, on: ids, returning: Int.self)
    let t2 = monotonicSeconds()
    let expected = try work.map { w in spawn { w.result() } }.map { try $0.fetch() }  // after the timing
    let (oneWorker, twoWorkers) = (t1 - t0, t2 - t1)
    return Outcome(operations: Double(work.count), ok: one == expected && two == expected,
                   extra: [("ms_1w", String(format2: oneWorker * 1000)), ("ms_2w", String(format2: twoWorkers * 1000)),
                           ("speedup", String(format2: oneWorker / twoWorkers))],
                   seconds: twoWorkers)
  }
}

let distributedWorkloads: [Workload] = [remotecallFetchLatency, remoteChannelThroughput, pmapScaling]

// Time: `sleep` and `timedWait`, on the scheduler's deadline heap (Scheduler/Timers.swift).

/// Julia's `sleep(seconds)`: blocks the calling fiber (never its worker) for at least
/// `seconds`; the minimum is 1 ms, as in Julia. From a non-worker thread it blocks the thread.
/// - Throws: `ArgumentError` for a negative or non-finite duration; an interruption's error
///   (`schedule(_:error:)`) or `CancellationError`, which end the sleep early.
public func sleep(seconds: Double) throws {
  guard seconds.isFinite, seconds >= 0 else { throw ArgumentError("cannot sleep for \(seconds) seconds") }
  // Rounded up: 1.001 s is not exactly representable, and a sleep must never end early.
  try sleepNanoseconds(UInt64((max(seconds, 0.001) * 1e9).rounded(.up)))
}

/// `sleep(seconds:)` taking a `Duration`.
public func sleep(for duration: Duration) throws {
  let (s, atto) = duration.components
  guard s >= 0, atto >= 0 else { throw ArgumentError("cannot sleep for \(duration)") }
  let ns = UInt64(s) * 1_000_000_000 + UInt64(atto / 1_000_000_000)
  try sleepNanoseconds(max(ns, 1_000_000))
}

func sleepNanoseconds(_ ns: UInt64) throws {
  let me = AnyFiber.currentContext
  let due = monotonicNanoseconds() &+ ns
  // A claim-site wait (Interrupt.swift): the timer claims it at the deadline (`.timedOut`,
  // the normal end); an interrupter or canceller may claim it first.
  var record = WaitRecord(site: ClaimSite.sleep, what: "sleep")
  let interruption = withUnsafeMutablePointer(to: &record) { r -> WaitInterruption? in
    if case .interrupted(let i) = me.beginWait(r) { return i }
    me.parkWaiting(r, deadline: due)
    return me.endWait(r)
  }
  switch interruption {
  case nil, .timedOut?: return
  case let i?: throw i.error("sleep", timeout: nil)
  }
}

/// The outcome of `timedWait` (Julia's `:ok` / `:timed_out`).
public enum TimedWaitResult: Sendable, Equatable {
  /// The test returned true before the timeout.
  case ok
  /// The timeout passed with the test still false.
  case timedOut
}

/// Julia's `timedwait(testcb, timeout; pollint)`: calls `test` at once, then every
/// `pollInterval` seconds, until it returns true (`.ok`) or, after a poll that returned false,
/// more than `timeout` seconds have passed since the call began (`.timedOut`).
///
/// As in Julia's base/asyncevent.jl, the timeout is checked only after a poll that follows a
/// sleep, so a call that returns `.timedOut` has tested `test` at least twice and lasted at
/// least one `pollInterval`, even with a timeout of 0.
/// - Blocks: the calling fiber (never its worker) while it sleeps between polls; off the
///   workers, the calling thread.
/// - Throws: `ArgumentError` if `pollInterval` is below 1 ms or `timeout` is negative or not
///   finite; rethrows what `test` throws.
public func timedWait(timeout: Double, pollInterval: Double = 0.1, _ test: () throws -> Bool) throws -> TimedWaitResult {
  guard pollInterval.isFinite, pollInterval >= 0.001 else {
    throw ArgumentError("timedWait: pollInterval must be at least 0.001 s (got \(pollInterval))")
  }
  guard timeout.isFinite, timeout >= 0 else { throw ArgumentError("timedWait: invalid timeout \(timeout)") }
  let start = monotonicNanoseconds()
  let timeoutNs = timeout * 1e9
  if try test() { return .ok }
  // Julia's `Timer(pollint, interval=pollint)`: libuv re-arms a repeating timer one interval
  // after it fires, so each poll comes one interval after the previous wake.
  let interval = UInt64((pollInterval * 1e9).rounded(.up))
  while true {
    try sleepNanoseconds(interval)
    if try test() { return .ok }
    if Double(monotonicNanoseconds() &- start) > timeoutNs { return .timedOut }
  }
}

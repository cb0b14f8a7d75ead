// Test-only hooks of the diagnostics thread.
extension Diagnostics {
  /// SIGQUIT dumps the diagnostics thread has written to stderr.
  package static var signalDumpCount: Int { Int(counters[0].loadAcquire()) }
  /// Deadlock reports it has written.
  package static var deadlockReportCount: Int { Int(counters[1].loadAcquire()) }
  /// Long-running-fiber reports it has written.
  package static var longRunningReportCount: Int { Int(counters[2].loadAcquire()) }
  /// Long-running checks it has run (after printing what each found).
  package static var longRunningCheckCount: Int { Int(counters[3].loadAcquire()) }
  /// Deadlock checks it has run (whatever they found).
  package static var deadlockCheckCount: Int { Int(DeadlockDetector.checks[0].loadAcquire()) }
  /// Runs on the diagnostics thread after each deadlock report (an exit-test child exits there).
  nonisolated(unsafe) package static var deadlockReportHook: (@Sendable () -> Void)? = nil
}

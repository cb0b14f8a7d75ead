// Test-only hooks of the diagnostics thread.
extension Diagnostics {
  /// SIGQUIT dumps the diagnostics thread has written to stderr.
  package static var signalDumpCount: Int { Int(counters[0].loadAcquire()) }
  /// Deadlock reports it has written.
  package static var deadlockReportCount: Int { Int(counters[1].loadAcquire()) }
  /// Deadlock checks it has run (whatever they found).
  package static var deadlockCheckCount: Int { Int(DeadlockDetector.checks[0].loadAcquire()) }
  /// Runs on the diagnostics thread after each deadlock report (an exit-test child exits there).
  nonisolated(unsafe) package static var deadlockReportHook: (@Sendable () -> Void)? = nil
}
